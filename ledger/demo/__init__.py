"""The demo: the 2025 story at small scale, on fictional people (`make run`)."""
