"""Building the trust-model statements on the principal's side (docs/FORMAT.md § 7.3)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ledger.core.canonical import canonical_bytes
from ledger.core.keys import SignerKey, VerifierKey
from ledger.core.note import add_signatures, parse_note, sign_note
from ledger.core.statement import make_envelope, parse_statement, sign_statement


def _id() -> str:
    return str(uuid.uuid4())


def registration_proof(new_key: SignerKey, admin_name: str, roles: Sequence[str],
                       attributes: dict[str, Any] | None = None) -> str:
    """The new key's holder signs its own registration; an administrator adds a signature."""
    body = {"name": new_key.name, "vkey": str(new_key.verifier), "roles": list(roles),
            "attributes": attributes or {}}
    envelope = make_envelope("key_registration", _id(), [admin_name, new_key.name], body)
    return sign_note(canonical_bytes(envelope).decode() + "\n", [new_key]).encode()


def countersign(proof: str, admin: SignerKey) -> str:
    """Add the administrator's signature to a holder-signed statement and check the result."""
    note = add_signatures(parse_note(proof), [admin]).encode()
    parse_statement(note)
    return note


def key_registration(admin: SignerKey, new_key: SignerKey, roles: Sequence[str],
                     attributes: dict[str, Any] | None = None, countersigners: Sequence[SignerKey] = ()) -> str:
    """A registration signed by the new key and the administrator, and by ``countersigners``: a key of
    the court a court key belongs to, of the agency a recipient belongs to, or a second administrator
    for an administrator key (docs/RULES.md § 14)."""
    if not countersigners:
        return countersign(registration_proof(new_key, admin.name, roles, attributes), admin)
    body = {"name": new_key.name, "vkey": str(new_key.verifier), "roles": list(roles),
            "attributes": attributes or {}}
    signers = [admin, new_key, *countersigners]
    return sign_statement(make_envelope("key_registration", _id(), [k.name for k in signers], body), signers)


def key_revocation(admin: SignerKey, name: str, key: VerifierKey, reason: str = "revoked") -> str:
    body = {"name": name, "key_id": f"{key.key_id:08x}", "reason": reason}
    return sign_statement(make_envelope("key_revocation", _id(), [admin.name], body), [admin])


def key_rotation(admin: SignerKey, old: VerifierKey, new_key: SignerKey,
                 countersigners: Sequence[SignerKey] = ()) -> str:
    """A rotation signed by the administrator and the new key, and by ``countersigners`` (a key of the
    court or agency the rotated key belongs to, a second administrator: docs/RULES.md § 14)."""
    body = {"name": new_key.name, "vkey": str(new_key.verifier), "retires": f"{old.key_id:08x}"}
    signers = [admin, new_key, *countersigners]
    envelope = make_envelope("key_rotation", _id(), [k.name for k in signers], body)
    return sign_statement(envelope, signers)


def ledger_key_rotation_proof(new_statement_key: SignerKey, new_checkpoint_key: VerifierKey,
                              admin_name: str) -> str:
    """The ledger's new statement key signs the rotation; an administrator countersigns."""
    body = {"checkpoint_vkey": str(new_checkpoint_key), "statement_vkey": str(new_statement_key.verifier)}
    signers = [new_statement_key.name, admin_name]
    envelope = make_envelope("ledger_key_rotation", _id(), signers, body)
    return sign_note(canonical_bytes(envelope).decode() + "\n", [new_statement_key]).encode()


def signed(signers: Sequence[SignerKey], type_: str, body: dict[str, Any], statement_id: str | None = None,
           issued_at: datetime | None = None) -> str:
    """Any statement signed by the given keys."""
    envelope = make_envelope(type_, statement_id or _id(), [k.name for k in signers], body, issued_at=issued_at)
    return sign_statement(envelope, list(signers))
