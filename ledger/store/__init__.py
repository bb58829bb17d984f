"""The write side's storage: the ledger's tables and transactions, the chain writer, the tree table, checkpoints."""
