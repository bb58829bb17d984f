"""The default genesis policy: for each statement type, the roles allowed to sign it.

A verifier reads the policy from the log (genesis, then `policy` statements); this is
only what `disclosure-ledger init` writes. Domain types are listed so the § 6103
lifecycle can be recorded from the first day; their body rules live in ledger/domain.
"""

from __future__ import annotations

ROLES = (
    "administrator",  # registers, rotates and revokes keys; changes the policy
    "requester",      # an official who may file a written request under an exception
    "reviewer",       # IRS disclosure officer
    "releaser",       # IRS releasing official
    "matcher",        # the server-side matcher principal
    "court",          # records orders, injunctions, holds
    "recipient",      # a named recipient's officials: receipts, dispositions, safeguards
    "oversight",      # inspectors general, JCT, GAO, committees: inspections
    "operator",       # runs the service; corrections of operational facts
    "importer",       # records past disclosures (legacy_release), countersigned by oversight
)

DEFAULT_POLICY: dict[str, list[str]] = {
    # trust model (contract points 9-11)
    "genesis": ["ledger"],
    "blocked": ["ledger"],
    "policy": ["administrator"],
    "key_registration": ["administrator"],
    "key_revocation": ["administrator"],
    "key_rotation": ["administrator"],
    "ledger_key_rotation": ["ledger", "administrator"],
    # the § 6103 lifecycle
    "request": ["requester"],
    "chunk": ["requester", "matcher", "reviewer", "releaser"],  # a bulk statement's chunks (same signers)
    "withdrawal": ["requester"],
    "match_result": ["matcher"],
    "review": ["reviewer"],
    "return_for_correction": ["reviewer"],
    "release": ["releaser"],
    "receipt": ["recipient"],
    "recipient_attestation": ["recipient"],
    "disposition": ["recipient"],
    "use_freeze": ["recipient"],
    "safeguard_status": ["oversight", "reviewer"],
    "supporting_document": ["reviewer"],
    "court_order": ["court"],
    "vacatur": ["court"],
    "inspection": ["oversight", "court", "operator", "ledger"],
    "correction": ["reviewer", "releaser", "operator"],
    "erasure": ["administrator"],
    # the accounting from before the ledger: past disclosures, countersigned by an oversight key
    # (ledger.rules.engine: legacy.*) and dated before the policy's legacy_cutover
    "legacy_release": ["importer"],
}
