"""The trust state read from the log itself (docs/FORMAT.md § 7).

Genesis, policy, key registrations, revocations and rotations (principal keys and
the ledger's own) are applied in index order; ``authorize`` says whether a statement
may land at a given index and which signatures must verify. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from ledger.core.errors import SignatureError, StatementError, TrustError
from ledger.core.keys import VerifierKey, parse_vkey
from ledger.core.note import verify_exactly
from ledger.core.statement import Statement
from ledger.core.times import parse_time

LEDGER_ROLE = "ledger"
ADMIN_ROLE = "administrator"
COURT_ROLE = "court"
# The role of an agency's official named at genesis: it signs nothing under the default policy, and
# countersigns the registration of its agency's keys.
AGENCY_OFFICIAL_ROLE = "agency_official"
CLOCK_SKEW = timedelta(minutes=5)
SELF_SIGNED_TYPES = frozenset({"key_registration", "key_rotation"})
# Besides the new key and a signer the policy allows, these may carry countersignatures by any valid
# key (a court's, an agency's): what a countersignature must be is a rule (ledger.rules.authority).
# A legacy_release (a past disclosure imported as accounting) is countersigned by an oversight key.
COUNTERSIGNED_TYPES = frozenset({"key_registration", "key_rotation", "legacy_release"})
TRUST_TYPES = frozenset(
    {"genesis", "policy", "key_registration", "key_revocation", "key_rotation",
     "ledger_key_rotation", "blocked"}
)
_ROLE_RE = re.compile(r"[a-z][a-z0-9_]{0,63}\Z")
_DATE_RE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])\Z")


class TrustInput(Protocol):
    """What the trust checks read of a statement: a Statement, or a lighter record of it.

    The envelope holds at least body, issued_at and not_after; the body matters only for
    the TRUST_TYPES (the checks read no other type's body).
    """

    @property
    def type(self) -> str: ...

    @property
    def signers(self) -> list[str]: ...

    @property
    def envelope(self) -> dict[str, Any]: ...

    @property
    def issued_at(self) -> datetime: ...

    @property
    def not_after(self) -> datetime: ...


@dataclass
class KeyRecord:
    """One key of one principal and the span of indices it may sign."""

    key: VerifierKey
    roles: tuple[str, ...]
    attributes: dict[str, Any]
    registered_at: int
    revoked_at: int | None = None

    def valid_at(self, index: int) -> bool:
        return self.registered_at < index and (self.revoked_at is None or index <= self.revoked_at)


def _check_roles(roles: Any, where: str) -> tuple[str, ...]:
    if not isinstance(roles, list) or not roles:
        raise StatementError(f"{where}: expected a non-empty list of roles")
    for role in roles:
        if not isinstance(role, str) or not _ROLE_RE.match(role):
            raise StatementError(f"{where}: bad role {role!r}")
    return tuple(roles)


def _check_attributes(attributes: Any, where: str) -> None:
    # Absent (or null) means none; anything else must be an object (it is applied as a dict).
    if attributes is not None and not isinstance(attributes, dict):
        raise StatementError(f"{where}: attributes must be an object, found {type(attributes).__name__}")


def check_policy(policy: Any) -> dict[str, tuple[str, ...]]:
    """A policy maps statement types to the roles allowed to sign them."""
    if not isinstance(policy, dict) or not policy:
        raise StatementError("policy must be a non-empty object of type -> roles")
    return {t: _check_roles(r, f"policy[{t}]") for t, r in policy.items()}


def check_cutover(value: Any, where: str) -> str | None:
    """A policy's ``legacy_cutover`` (optional): the date (YYYY-MM-DD, UTC) from which the ledger itself
    records disclosures; imported accounting (``legacy_release``) is dated strictly before it. It lives in
    genesis and in each ``policy`` statement, so that it changes only as the policy does."""
    if value is None:
        return None
    if not isinstance(value, str) or not _DATE_RE.match(value):
        raise StatementError(f"{where}.legacy_cutover: expected a date YYYY-MM-DD, found {str(value)[:40]!r}")
    return value


def _genesis_keys(body: dict[str, Any], member: str, attribute: str) -> list[tuple[VerifierKey, str]]:
    """Genesis keys named with what they anchor (optional): ``member`` is [{"vkey", ``attribute``}].

    ``court_clerks`` ({"vkey", "court"}): each a key of the court it names, registered at entry 0 with
    the court role; a registration granting the court role is countersigned by a key of that court, so
    no administrator makes a court. ``agency_officials`` ({"vkey", "agency"}): each a key of the agency
    it names, registered at entry 0 with the agency_official role; in a log whose genesis carries the
    member, a key registered or rotated with an ``agency`` attribute is countersigned by a key of that
    agency, so no administrator makes an agency's keys alone."""
    value = body.get(member)
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > 100:
        raise StatementError(f"genesis body.{member} must be a list of at most 100 objects")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or set(item) != {"vkey", attribute}:
            raise StatementError(f"genesis body.{member}[{i}] must be an object of vkey and {attribute}")
        named = item[attribute]
        if not isinstance(named, str) or not named or len(named) > 128:
            raise StatementError(f"genesis body.{member}[{i}].{attribute} must be a non-empty string")
        out.append((parse_vkey(_body_str(item, "vkey")), named))
    return out


def _body_str(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise StatementError(f"body.{key}: expected a string, found {type(value).__name__}")
    return value


@dataclass
class TrustState:
    """Keys, roles and policy as of ``size`` applied entries."""

    size: int = 0
    origin: str | None = None
    policy: dict[str, tuple[str, ...]] = field(default_factory=dict)
    keys: dict[str, list[KeyRecord]] = field(default_factory=dict)
    checkpoint_keys: list[VerifierKey] = field(default_factory=list)
    statement_key_name: str | None = None
    legacy_cutover: str | None = None  # the policy's cutover date (YYYY-MM-DD): none, no import lands
    # The genesis carries ``agency_officials``: every agency key is countersigned by a key of its agency.
    agency_anchored: bool = False

    # ---- queries -------------------------------------------------------------
    def active(self, name: str, index: int) -> KeyRecord | None:
        for record in reversed(self.keys.get(name, [])):
            if record.valid_at(index):
                return record
        return None

    def current(self, name: str) -> KeyRecord | None:
        """The key a name may sign the next entry with."""
        return self.active(name, self.size)

    def _signer_key(self, stmt: TrustInput, name: str, index: int) -> tuple[VerifierKey, KeyRecord | None]:
        body = stmt.envelope["body"]
        if stmt.type in SELF_SIGNED_TYPES and name == body.get("name"):
            key = parse_vkey(_body_str(body, "vkey"))
            if key.name != name:
                raise TrustError(f"vkey is named {key.name!r}, not {name!r}", "trust.key_name")
            return key, None
        if stmt.type == "ledger_key_rotation" and name == self.statement_key_name and body.get("statement_vkey"):
            return parse_vkey(_body_str(body, "statement_vkey")), None
        record = self.active(name, index)
        if record is None:
            known = self.keys.get(name)
            if known and any(r.revoked_at is not None and r.revoked_at < index for r in known):
                raise TrustError(f"the key of {name} was revoked before entry {index}", "trust.revoked_key")
            raise TrustError(f"no key is registered for {name} at entry {index}", "trust.unknown_key")
        return record.key, record

    # ---- the check -----------------------------------------------------------
    def authorize(self, stmt: TrustInput, index: int, recorded_at: str) -> list[VerifierKey]:
        """Raise unless stmt may be entry ``index``; return the keys whose signatures must verify.

        Signatures themselves are checked by ``check_signatures`` so that a verifier can
        run them in parallel.
        """
        if index != self.size:
            raise TrustError(f"trust state holds {self.size} entries, asked about entry {index}", "trust.order")
        recorded = parse_time(recorded_at)
        if index == 0:
            if stmt.type != "genesis":
                raise TrustError(f"entry 0 must be genesis, found {stmt.type}", "trust.genesis")
            return self._authorize_genesis(stmt)
        if stmt.type == "genesis":
            raise TrustError("genesis is only allowed at entry 0", "trust.genesis")
        if recorded > stmt.not_after:
            raise TrustError(
                f"statement expired: not_after {stmt.envelope['not_after']} is before {recorded_at}",
                "trust.expired",
            )
        if stmt.issued_at > recorded + CLOCK_SKEW:
            raise TrustError(
                f"statement issued in the future: {stmt.envelope['issued_at']} vs {recorded_at}",
                "trust.future",
            )
        allowed = self.policy.get(stmt.type)
        if allowed is None:
            raise TrustError(f"statement type {stmt.type!r} is not in the policy", "trust.type")
        keys = []
        entitled, outside = 0, []
        for name in stmt.signers:
            key, record = self._signer_key(stmt, name, index)
            keys.append(key)
            if record is None or set(record.roles) & set(allowed):
                entitled += record is not None
            else:
                outside.append((name, record))
        # A countersigner (a court's or an agency's key) signs beside a signer the policy allows, never instead.
        if outside and (stmt.type not in COUNTERSIGNED_TYPES or not entitled):
            name, record = outside[0]
            raise TrustError(
                f"{name} has roles {list(record.roles)}; {stmt.type} needs one of {list(allowed)}",
                "trust.role",
            )
        self._check_type_rules(stmt, index)
        return keys

    def _authorize_genesis(self, stmt: TrustInput) -> list[VerifierKey]:
        body = stmt.envelope["body"]
        for key in ("origin", "checkpoint_vkey", "statement_vkey", "administrator", "policy"):
            if key not in body:
                raise StatementError(f"genesis body.{key} is missing")
        checkpoint_key = parse_vkey(_body_str(body, "checkpoint_vkey"))
        statement_key = parse_vkey(_body_str(body, "statement_vkey"))
        if checkpoint_key.name != body["origin"]:
            raise StatementError("genesis checkpoint_vkey must be named after the origin")
        if statement_key.name == checkpoint_key.name:
            raise StatementError("genesis statement key must have its own name")
        admin = body["administrator"]
        if not isinstance(admin, dict):
            raise StatementError("genesis body.administrator must be an object")
        parse_vkey(_body_str(admin, "vkey"))
        _check_roles(admin.get("roles"), "genesis administrator roles")
        _check_attributes(admin.get("attributes"), "genesis administrator")
        clerks = _genesis_keys(body, "court_clerks", "court")
        officials = _genesis_keys(body, "agency_officials", "agency")
        names = [statement_key.name, parse_vkey(admin["vkey"]).name, *(k.name for k, _ in clerks),
                 *(k.name for k, _ in officials)]
        if len(set(names)) != len(names):
            raise StatementError("genesis keys (ledger, administrator, court clerks, agency officials) need "
                                 "distinct names")
        policy = check_policy(body["policy"])
        check_cutover(body.get("legacy_cutover"), "genesis body")
        if LEDGER_ROLE not in policy.get("blocked", ()):
            raise StatementError("genesis policy must let the ledger sign 'blocked'")
        if stmt.signers != [statement_key.name]:
            raise TrustError("genesis must be signed by the ledger's statement key alone", "trust.genesis")
        return [statement_key]

    def _check_type_rules(self, stmt: TrustInput, index: int) -> None:
        body = stmt.envelope["body"]
        others = [n for n in stmt.signers if not (stmt.type in SELF_SIGNED_TYPES and n == body.get("name"))]
        if stmt.type in SELF_SIGNED_TYPES:
            name = _body_str(body, "name")
            if name not in stmt.signers:
                raise TrustError(f"{stmt.type} must be signed by the new key itself", "trust.proof_of_possession")
            if not others:
                raise TrustError(f"{stmt.type} needs an administrator's signature too", "trust.role")
            new_key = parse_vkey(_body_str(body, "vkey"))
            for records in self.keys.values():
                if any(r.key.public_key == new_key.public_key for r in records):
                    raise TrustError("this public key is already registered", "trust.key_reuse")
            current = self.active(name, index)
            if stmt.type == "key_registration":
                if current is not None:
                    raise TrustError(f"{name} already has a valid key; rotate it instead", "trust.name_taken")
                _check_roles(body.get("roles"), "key_registration roles")
                _check_attributes(body.get("attributes"), "key_registration")
                if LEDGER_ROLE in body["roles"]:
                    raise TrustError("the ledger role cannot be registered", "trust.role")
            else:
                if current is None:
                    raise TrustError(f"{name} has no valid key to rotate", "trust.unknown_key")
                if _body_str(body, "retires") != f"{current.key.key_id:08x}":
                    raise TrustError("rotation must name the key it retires", "trust.rotation")
        elif stmt.type == "key_revocation":
            name = _body_str(body, "name")
            key_id = _body_str(body, "key_id")
            if not any(f"{r.key.key_id:08x}" == key_id and r.valid_at(index) for r in self.keys.get(name, [])):
                raise TrustError(f"{name} has no valid key {key_id} to revoke", "trust.unknown_key")
            if name == self.statement_key_name:
                raise TrustError("the ledger's key is replaced by ledger_key_rotation", "trust.rotation")
        elif stmt.type == "ledger_key_rotation":
            if self.statement_key_name not in stmt.signers:
                raise TrustError("ledger_key_rotation must be signed by the ledger's key", "trust.rotation")
            # A new statement key signs for the ledger's name itself (proof of possession), and a
            # new checkpoint key changes the trust root: either way an administrator must authorise
            # it, so neither a fresh key nor the ledger's own key alone can rotate the ledger's keys.
            if len(stmt.signers) < 2:
                raise TrustError(
                    "ledger_key_rotation needs an administrator's signature beside the ledger's key",
                    "trust.role",
                )
            if body.get("checkpoint_vkey"):
                key = parse_vkey(_body_str(body, "checkpoint_vkey"))
                if key.name != self.origin:
                    raise StatementError("a new checkpoint key must be named after the origin")
            if body.get("statement_vkey"):
                key = parse_vkey(_body_str(body, "statement_vkey"))
                if key.name != self.statement_key_name:
                    raise StatementError("a new statement key keeps the statement key's name")
        elif stmt.type == "policy":
            check_policy(body.get("policy"))
            check_cutover(body.get("legacy_cutover"), "policy body")
        elif stmt.type == "blocked" and stmt.signers != [self.statement_key_name]:
            raise TrustError("blocked entries are signed by the ledger alone", "trust.role")

    @staticmethod
    def check_signatures(stmt: Statement, keys: Sequence[VerifierKey]) -> None:
        """Every listed signer signed exactly once with its key; no other signature line."""
        verify_exactly(stmt.note, keys)

    # ---- state changes -------------------------------------------------------
    def apply(self, stmt: TrustInput, index: int) -> None:
        """Apply an authorised statement at ``index`` (the next one)."""
        if index != self.size:
            raise TrustError(f"applying entry {index} to a state of {self.size} entries", "trust.order")
        body = stmt.envelope["body"]
        if stmt.type == "genesis":
            self.origin = body["origin"]
            self.policy = check_policy(body["policy"])
            self.legacy_cutover = check_cutover(body.get("legacy_cutover"), "genesis body")
            self.checkpoint_keys = [parse_vkey(body["checkpoint_vkey"])]
            statement_key = parse_vkey(body["statement_vkey"])
            self.statement_key_name = statement_key.name
            self._add(statement_key, (LEDGER_ROLE,), {}, index)
            admin = body["administrator"]
            self._add(parse_vkey(admin["vkey"]), tuple(admin["roles"]), dict(admin.get("attributes") or {}), index)
            for key, court in _genesis_keys(body, "court_clerks", "court"):
                self._add(key, (COURT_ROLE,), {"court": court, "clerk": True}, index)
            if body.get("agency_officials") is not None:
                self.agency_anchored = True
                for key, agency in _genesis_keys(body, "agency_officials", "agency"):
                    self._add(key, (AGENCY_OFFICIAL_ROLE,), {"agency": agency, "official": True}, index)
        elif stmt.type == "policy":
            self.policy = check_policy(body["policy"])
            self.legacy_cutover = check_cutover(body.get("legacy_cutover"), "policy body")
        elif stmt.type == "key_registration":
            self._add(parse_vkey(body["vkey"]), tuple(body["roles"]), dict(body.get("attributes") or {}), index)
        elif stmt.type == "key_rotation":
            old = self.active(body["name"], index)
            assert old is not None
            old.revoked_at = index
            self._add(parse_vkey(body["vkey"]), old.roles, old.attributes, index)
        elif stmt.type == "key_revocation":
            for record in self.keys.get(body["name"], []):
                if f"{record.key.key_id:08x}" == body["key_id"] and record.revoked_at is None:
                    record.revoked_at = index
        elif stmt.type == "ledger_key_rotation":
            if body.get("checkpoint_vkey"):
                self.checkpoint_keys.append(parse_vkey(body["checkpoint_vkey"]))
            if body.get("statement_vkey"):
                assert self.statement_key_name is not None
                old = self.active(self.statement_key_name, index)
                assert old is not None
                old.revoked_at = index
                self._add(parse_vkey(body["statement_vkey"]), (LEDGER_ROLE,), {}, index)
        self.size = index + 1

    def _add(self, key: VerifierKey, roles: tuple[str, ...], attributes: dict[str, Any], index: int) -> None:
        self.keys.setdefault(key.name, []).append(KeyRecord(key, roles, attributes, index))

    def admit(self, stmt: Statement, index: int, recorded_at: str) -> None:
        """authorize + check_signatures + apply, in that order."""
        keys = self.authorize(stmt, index, recorded_at)
        try:
            self.check_signatures(stmt, keys)
        except SignatureError:
            raise
        self.apply(stmt, index)
