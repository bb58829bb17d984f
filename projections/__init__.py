"""Read models for oversight, built only from the ledger's entries (issue 6).

Not built yet; see README.md."""
