"""Witness policies, c2sp.org/tlog-policy: the logs accepted, the witnesses known, and the quorum.

A policy is lines of octets (tab, LF, 0x20-0x7E and 0x80-0xFF only), items separated by spaces and
tabs; blank lines and lines whose first item starts with ``#`` are comments:

    log <vkey> [<url>]
    witness <name> <vkey> [<url>]
    group <name> all|any|<k> <name>...
    quorum <name>|none

Names are opaque octet strings (kept here as str decoded with surrogateescape, so two names are equal
exactly when their bytes are), share one namespace with ``none`` reserved, and a group or the quorum
refers only to names defined on earlier lines, each member at most once. A group is satisfied when at
least k of its n members are (``any`` is 1, ``all`` is n). Two logs, or two witnesses, with the same
public key are refused. Log keys are Ed25519 signed-note keys (type 0x01), witness keys Ed25519
cosignature/v1 keys (type 0x04); other types cannot be checked here and make the policy unusable.

The policy that decides is the one the verifier pinned; a policy shipped by the audited party is at
most compared with it (``WitnessPolicy.witnesses_not_in``).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from ledger.core.cosignature import CosignerKey, parse_cosigner_vkey
from ledger.core.errors import LedgerError, PolicyError
from ledger.core.keys import ALG_ED25519, VerifierKey, parse_vkey, split_vkey

NONE = "none"
MAX_POLICY_BYTES = 65_536
MAX_DEFINITIONS = 256  # each of logs, witnesses and groups; tlog-policy asks for at least 32
_SEPARATOR_RE = re.compile(rb"[ \t]+")
_FORBIDDEN_RE = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")
_THRESHOLD_RE = re.compile(rb"[1-9][0-9]{0,8}\Z")


@dataclass(frozen=True)
class PolicyLog:
    key: VerifierKey
    url: str | None = None


@dataclass(frozen=True)
class PolicyWitness:
    name: str
    key: CosignerKey
    url: str | None = None


@dataclass(frozen=True)
class PolicyGroup:
    name: str
    threshold: int
    members: tuple[str, ...]


@dataclass(frozen=True)
class WitnessPolicy:
    """A parsed policy; ``quorum`` is a witness's or group's name, or ``none``."""

    logs: tuple[PolicyLog, ...]
    witnesses: tuple[PolicyWitness, ...]
    groups: tuple[PolicyGroup, ...]
    quorum: str

    def witness(self, name: str) -> PolicyWitness | None:
        return next((w for w in self.witnesses if w.name == name), None)

    def group(self, name: str) -> PolicyGroup | None:
        return next((g for g in self.groups if g.name == name), None)

    @property
    def log_keys(self) -> list[VerifierKey]:
        return [log.key for log in self.logs]

    def satisfied(self, cosigned: Collection[str], name: str | None = None) -> bool:
        """Whether the witnesses named in ``cosigned`` meet the quorum (or satisfy ``name``)."""
        name = self.quorum if name is None else name
        if name == NONE:
            return True
        group = self.group(name)
        if group is None:
            return name in cosigned
        return sum(self.satisfied(cosigned, member) for member in group.members) >= group.threshold

    def describe(self, name: str | None = None) -> str:
        """The quorum rule in words, e.g. ``X-and-Y = all of 2 (X = 2 of 3 (X1, X2, X3), Y1)``."""
        name = self.quorum if name is None else name
        if name == NONE:
            return "none (no cosignature required)"
        group = self.group(name)
        if group is None:
            return name
        inner = ", ".join(self.describe(member) for member in group.members)
        return f"{name} = {group.threshold} of {len(group.members)} ({inner})"

    def witnesses_not_in(self, other: WitnessPolicy) -> list[PolicyWitness]:
        """This policy's witnesses whose public key ``other`` does not list (under any name)."""
        known = {w.key.public_key for w in other.witnesses}
        return [w for w in self.witnesses if w.key.public_key not in known]

    def max_faulty_witnesses_tolerated(self) -> int | None:
        """For a flat k-of-n quorum group: 2k - n - 1, the most witnesses that may misbehave while two
        inconsistent checkpoints still cannot both reach the quorum (None for other shapes)."""
        group = self.group(self.quorum)
        if group is None or any(self.group(m) for m in group.members):
            return None
        return 2 * group.threshold - len(group.members) - 1


def _text(item: bytes) -> str:
    return item.decode("utf-8", "surrogateescape")


def _vkey_type(text: str) -> int:
    return split_vkey(text)[2][0]


def parse_policy(data: str | bytes) -> WitnessPolicy:
    """Parse a tlog-policy file; PolicyError names the line and what is wrong with it."""
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_POLICY_BYTES:
        raise PolicyError(f"policy is {len(raw)} bytes, at most {MAX_POLICY_BYTES} are allowed")
    logs: list[PolicyLog] = []
    witnesses: list[PolicyWitness] = []
    groups: list[PolicyGroup] = []
    names: set[str] = set()
    quorum: str | None = None
    for number, line in enumerate(raw.split(b"\n"), 1):
        bad = _FORBIDDEN_RE.search(line)
        if bad:
            raise PolicyError(f"policy line {number}: byte 0x{bad.group()[0]:02x} is not allowed")
        items = [i for i in _SEPARATOR_RE.split(line) if i]
        if not items or items[0].startswith(b"#"):
            continue
        keyword, args = items[0], [_text(i) for i in items[1:]]
        try:
            if keyword == b"log":
                logs.append(_log(args, logs))
            elif keyword == b"witness":
                witnesses.append(_witness(args, names, witnesses))
                names.add(witnesses[-1].name)
            elif keyword == b"group":
                groups.append(_group(args, names))
                names.add(groups[-1].name)
            elif keyword == b"quorum":
                if quorum is not None:
                    raise PolicyError("a policy has exactly one quorum line; this is the second")
                if len(args) != 1:
                    raise PolicyError("expected 'quorum <name>'")
                if args[0] != NONE and args[0] not in names:
                    raise PolicyError(f"quorum {args[0]!r} is not a witness or group defined on an earlier line")
                quorum = args[0]
            else:
                raise PolicyError(f"unknown keyword {_text(keyword)[:40]!r} (log, witness, group or quorum)")
            if max(len(logs), len(witnesses), len(groups)) > MAX_DEFINITIONS:
                raise PolicyError(f"more than {MAX_DEFINITIONS} logs, witnesses or groups")
        except PolicyError as e:
            raise PolicyError(f"policy line {number}: {e}") from None
        except LedgerError as e:  # a malformed or unsupported vkey
            raise PolicyError(f"policy line {number}: {e}") from None
    if quorum is None:
        raise PolicyError("policy has no quorum line ('quorum none' requires no cosignature)")
    return WitnessPolicy(tuple(logs), tuple(witnesses), tuple(groups), quorum)


def _log(args: list[str], logs: list[PolicyLog]) -> PolicyLog:
    if len(args) not in (1, 2):
        raise PolicyError("expected 'log <vkey> [<url>]'")
    if _vkey_type(args[0]) != ALG_ED25519:
        raise PolicyError(f"log key type 0x{_vkey_type(args[0]):02x} is not supported: an Ed25519 "
                          "signed-note key (type 0x01) is")
    key = parse_vkey(args[0])
    if any(log.key.public_key == key.public_key for log in logs):
        raise PolicyError(f"log {key.name}: a log with the same public key is already listed")
    return PolicyLog(key, args[1] if len(args) == 2 else None)


def _witness(args: list[str], names: set[str], witnesses: list[PolicyWitness]) -> PolicyWitness:
    if len(args) not in (2, 3):
        raise PolicyError("expected 'witness <name> <vkey> [<url>]'")
    name = args[0]
    _new_name(name, names)
    key = parse_cosigner_vkey(args[1])
    if any(w.key.public_key == key.public_key for w in witnesses):
        raise PolicyError(f"witness {name!r}: a witness with the same public key is already listed")
    return PolicyWitness(name, key, args[2] if len(args) == 3 else None)


def _group(args: list[str], names: set[str]) -> PolicyGroup:
    if len(args) < 3:
        raise PolicyError("expected 'group <name> all|any|<k> <name>...' with at least one member")
    name, threshold_text, members = args[0], args[1], args[2:]
    _new_name(name, names)
    for member in members:
        if member == NONE:
            raise PolicyError(f"group {name!r}: 'none' cannot be a member")
        if member not in names:
            raise PolicyError(f"group {name!r}: member {member!r} is not defined on an earlier line")
    if len(set(members)) != len(members):
        raise PolicyError(f"group {name!r}: a member is listed twice")
    if threshold_text == "all":
        threshold = len(members)
    elif threshold_text == "any":
        threshold = 1
    elif _THRESHOLD_RE.match(threshold_text.encode("utf-8", "surrogateescape")):
        threshold = int(threshold_text)
        if threshold > len(members):
            raise PolicyError(f"group {name!r}: threshold {threshold} is more than its {len(members)} members")
    else:
        raise PolicyError(f"group {name!r}: expected all, any or a decimal threshold k >= 1, found "
                          f"{threshold_text[:20]!r}")
    return PolicyGroup(name, threshold, tuple(members))


def _new_name(name: str, names: set[str]) -> None:
    if name == NONE:
        raise PolicyError("'none' is predefined and cannot name a witness or group")
    if name in names:
        raise PolicyError(f"the name {name!r} is already defined")
