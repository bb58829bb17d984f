"""The FastAPI service (issue 7): a thin translation of HTTP into ledger commands and projection queries.

Not built yet; see README.md."""
