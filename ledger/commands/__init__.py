"""The `disclosure-ledger` command's groups, one module each (ledger/cli.py wires them into one
parser): creating a ledger (init), keys, seeds, the officer's desk, releases, the matcher, the
accounting of past disclosures, key escrow, publication and witnesses, and what each command
needs of the database (db_check)."""
