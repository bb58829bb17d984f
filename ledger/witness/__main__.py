"""``python -m ledger.witness …``: the witness's command without the rest of the ledger's."""

import sys

from ledger.witness.cli import main

sys.exit(main())
