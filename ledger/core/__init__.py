"""The integrity core: what bytes are signed and how anyone checks them.

Canonical JSON (RFC 8785), Ed25519 keys and C2SP signed notes, entries and statements, the
RFC 6962 tree and its proofs, checkpoints and cosignatures, witness policies, the trust state
read from the log, commitments to personal data, the export and bundle formats, the words
the verifier uses to explain a failure, and the verification pipeline as a library
(``verify_log`` in export_verify.py: an export and a checkpoint in, a report out). These modules
import only the standard library, PyNaCl and each other; the court's one-file verifier
(scripts/verify_ledger.py) is built from exactly this folder by scripts/build_verifier.py, so
what the service checks and what a court checks are the same code. Nothing here touches a
database, a secret or the network; the pipeline alone opens a file (the export it is given) and
starts worker processes to check it.
"""
