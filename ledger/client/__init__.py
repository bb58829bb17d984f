"""The principal's side: their private keys in a local keyring (``keyring``) and the
``disclosure-ledger client …`` commands (``cli``, ``statements_cli``), which build and sign statements
with ``ledger.authoring``. The service's code (api, projections, ledger.domain, ledger.store) never
imports it: the service holds no principal's private key."""
