"""The integrity core: what bytes are signed and how anyone checks them.

Canonical JSON (RFC 8785), Ed25519 keys and C2SP signed notes, entries and statements, the
RFC 6962 tree and its proofs, checkpoints and cosignatures, witness policies, the trust state
read from the log, commitments to personal data, the export and bundle formats, and the words
the verifier uses to explain a failure. These modules import only the standard library, PyNaCl
and each other; the court's one-file verifier (scripts/verify_ledger.py) is built from exactly
this folder by scripts/build_verifier.py, so what the service checks and what a court checks
are the same code. Nothing here reads a database, a file or the network (the clock only where a
caller asks for "now").
"""
