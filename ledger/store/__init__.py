"""The write side's storage: eventsourcing 9.5 wiring, the chained recorder, the tree table, checkpoints."""
