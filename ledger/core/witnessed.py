"""A checkpoint checked against a witness policy: the log's signature, each known witness's
cosignature, and the quorum (c2sp.org/tlog-cosignature, c2sp.org/tlog-policy).

Lines by keys neither the log nor the policy knows are ignored, as signed-note says; a line that
claims a policy witness's name and key ID must be a valid cosignature, or the whole checkpoint is
refused. Which witnesses signed, and when, is what a verifier reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ledger.core.checkpoint import SignedCheckpoint, open_with_any
from ledger.core.errors import PolicyError, QuorumError, SignatureError
from ledger.core.keys import VerifierKey
from ledger.core.note import Note, NoteSignature
from ledger.core.tlog_policy import PolicyWitness, WitnessPolicy


@dataclass(frozen=True)
class Cosigned:
    """A valid cosignature by a witness of the policy."""

    witness: PolicyWitness
    timestamp: int

    def when(self) -> str:
        """The cosignature's time in UTC (``YYYY-MM-DDTHH:MM:SSZ``), or the raw POSIX time past year 9999."""
        try:
            return datetime.fromtimestamp(self.timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        except (OverflowError, ValueError, OSError):
            return f"POSIX time {self.timestamp}"

    def describe(self) -> str:
        return f"{self.witness.name} ({self.witness.key.name}) at {self.when()}"


@dataclass(frozen=True)
class WitnessedCheckpoint:
    """A checkpoint signed by the log, with the cosignatures the policy knows and the lines it does not."""

    signed: SignedCheckpoint
    policy: WitnessPolicy
    cosigned: tuple[Cosigned, ...]
    unknown: tuple[NoteSignature, ...]

    @property
    def quorum_met(self) -> bool:
        return self.policy.satisfied({c.witness.name for c in self.cosigned})

    def summary(self) -> str:
        cp = self.signed.checkpoint
        who = "; ".join(c.describe() for c in self.cosigned) or "no witness of the policy"
        text = f"size {cp.size} cosigned by {len(self.cosigned)} of the policy's {len(self.policy.witnesses)} " \
               f"witnesses: {who}; quorum {self.policy.describe()}"
        if self.unknown:
            text += "; ignored lines by keys the policy does not name: " + _line_names(self.unknown)
        return text


def _line_names(lines: Sequence[NoteSignature]) -> str:
    return ", ".join(f"{s.name} ({s.key_id:08x})" for s in lines)


def verify_cosignatures(note: Note, policy: WitnessPolicy) -> tuple[list[Cosigned], list[NoteSignature]]:
    """The valid cosignatures of the policy's witnesses, and the lines no witness of it owns.

    Raises SignatureError when a line with a witness's name and key ID does not verify, or a
    witness has more than one line.
    """
    cosigned = []
    owned: set[int] = set()
    for witness in policy.witnesses:
        lines = [(i, s) for i, s in enumerate(note.signatures) if witness.key.owns(s)]
        if len(lines) > 1:
            raise SignatureError(f"more than one cosignature by witness {witness.name} ({witness.key.name})")
        if lines:
            index, line = lines[0]
            cosigned.append(Cosigned(witness, witness.key.verify(note.text, line)))
            owned.add(index)
    rest = [s for i, s in enumerate(note.signatures) if i not in owned]
    return cosigned, rest


def check_log_in_policy(trust_root: VerifierKey, policy: WitnessPolicy) -> None:
    """A policy that lists logs must list the trust root among them (an empty list accepts any)."""
    if policy.logs and trust_root not in policy.log_keys:
        raise PolicyError(
            f"the policy's logs ({', '.join(str(k) for k in policy.log_keys)}) do not include the trust root "
            f"{trust_root}"
        )


def open_witnessed(data: str | bytes, log_keys: Sequence[VerifierKey], policy: WitnessPolicy) -> WitnessedCheckpoint:
    """Open a checkpoint signed by one of the log keys and check every cosignature the policy knows.

    Does not require the quorum: ``require_quorum`` does, so that a caller can report first.
    """
    signed = open_with_any(data, log_keys)
    cosigned, rest = verify_cosignatures(signed.note, policy)
    log_ids = {(k.name, k.key_id) for k in log_keys}
    unknown = tuple(s for s in rest if (s.name, s.key_id) not in log_ids)
    return WitnessedCheckpoint(signed, policy, tuple(cosigned), unknown)


def require_quorum(witnessed: WitnessedCheckpoint) -> None:
    """Raise QuorumError, saying who did cosign and which lines were ignored, unless the quorum is met."""
    if witnessed.quorum_met:
        return
    cp = witnessed.signed.checkpoint
    who = "; ".join(c.describe() for c in witnessed.cosigned) or "no witness of the policy"
    message = (f"checkpoint size {cp.size} does not meet the policy's quorum {witnessed.policy.describe()}: "
               f"cosigned by {who}")
    if witnessed.unknown:
        only = " only" if not witnessed.cosigned else ""
        message += f"; cosigned{only} by keys the policy does not name (ignored): {_line_names(witnessed.unknown)}"
    raise QuorumError(message)


def compare_shipped_policy(pinned: WitnessPolicy, shipped: WitnessPolicy) -> None:
    """Refuse a policy shipped with the evidence that names witnesses the pinned policy does not."""
    extra = shipped.witnesses_not_in(pinned)
    if extra:
        names = ", ".join(f"{w.name} ({w.key})" for w in extra)
        raise PolicyError(
            f"the policy shipped with the checkpoint names witnesses the pinned policy does not: {names}; "
            "the pinned policy decides, and this one relies on witnesses it does not trust"
        )


def check_witness_policy(checkpoint: str | bytes, trust_root: VerifierKey, pinned: WitnessPolicy,
                 shipped: WitnessPolicy | None = None) -> WitnessedCheckpoint:
    """What ``verify_ledger.py --policy`` requires of a checkpoint, in order: the pinned policy accepts
    the trust root's log; a policy shipped with the evidence names no witness the pinned one does not;
    the log signed the checkpoint; every cosignature by a pinned witness verifies; the quorum is met."""
    check_log_in_policy(trust_root, pinned)
    if shipped is not None:
        compare_shipped_policy(pinned, shipped)
    witnessed = open_witnessed(checkpoint, [trust_root], pinned)
    require_quorum(witnessed)
    return witnessed
