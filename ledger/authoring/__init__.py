"""Statement authoring, shared by every signer: § 6103 statements and their openings
(``disclosure``), trust statements (``trust``), statements signed on several machines (``batch``).

A principal's ``disclosure-ledger client …`` commands use it with keys from their own keyring
(``ledger.client``); the service uses it too, for what its own principals sign server-side (the
matcher's answers, the officer's reviews, the imported accounting). Nothing here reads a keyring or
talks to the ledger."""
