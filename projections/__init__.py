"""Read models for oversight, built only from the ledger's entries.

Not built yet; see README.md."""
