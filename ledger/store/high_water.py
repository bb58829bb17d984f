"""The high-water mark held outside the operator's reach: what the policy's witnesses cosigned.

The outside checkpoint copy (ledger.store.checkpoints) is on the operator's own storage: deleted or
rolled back with the database, it no longer catches a restored older backup. A witness's latest
cosigned checkpoint of this log (its monitoring endpoint, c2sp.org/tlog-witness) is not: a log
shorter than it, or with another root at its size, lost entries or changed its history. Each witness's
checkpoint counts only when it verifies under a checkpoint key of this log and carries that witness's
own valid cosignature (anybody can answer HTTP; only the log and the witness can sign).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ledger.core.checkpoint import open_with_any
from ledger.core.errors import LedgerError
from ledger.core.keys import VerifierKey
from ledger.core.tlog_policy import PolicyWitness, WitnessPolicy
from ledger.core.witnessed import verify_cosignatures
from ledger.witness_client import fetch_latest


@dataclass(frozen=True)
class WitnessMark:
    """What one witness holds of this log: ``size`` (None: unknown), and what is wrong, if anything."""

    witness: str
    size: int | None
    problem: str | None = None  # "behind" or "diverged": the log lost entries or changed them
    detail: str = ""


@dataclass(frozen=True)
class HighWater:
    log_size: int
    marks: tuple[WitnessMark, ...]

    @property
    def highest(self) -> WitnessMark | None:
        known = [m for m in self.marks if m.size is not None]
        return max(known, key=lambda m: m.size or 0) if known else None

    @property
    def problems(self) -> list[WitnessMark]:
        return [m for m in self.marks if m.problem is not None]

    @property
    def ok(self) -> bool:
        return not self.problems

    def describe(self) -> str:
        """One line: the first problem with both sizes, else the highest cosigned size."""
        if self.problems:
            groups: dict[tuple[str, int | None], list[str]] = {}
            for m in self.problems:
                groups.setdefault((m.problem or "", m.size), []).append(m.witness)
            said = []
            for (problem, size), names in groups.items():
                who = ("witness " if len(names) == 1 else "witnesses ") + ", ".join(names)
                if problem == "behind" and size is not None:
                    said.append(f"the log holds {self.log_size} entries but {who} cosigned size {size}: "
                                f"{size - self.log_size} entries are missing (a restored older database?)")
                else:
                    said.append(f"the log's root at size {size} (of {self.log_size} entries) differs from the one "
                                f"{who} cosigned: the history was changed")
            return "; ".join(said)
        top = self.highest
        if top is None:
            return "no witness answered with a cosigned checkpoint of this log"
        return (f"the log ({self.log_size} entries) extends the largest checkpoint a witness cosigned "
                f"(size {top.size}, {top.witness})")


def _fetch(witness: PolicyWitness, origin: str, timeout: float) -> str | WitnessMark | None:
    if witness.url is None:
        return WitnessMark(witness.name, None, None, f"{witness.name}: no URL in the policy")
    try:
        return fetch_latest(witness.url, origin, timeout)
    except LedgerError as e:
        return WitnessMark(witness.name, None, None, f"{witness.name}: not read ({e})")


def _mark(witness: PolicyWitness, text: str | WitnessMark | None, log_keys: Sequence[VerifierKey], log_size: int,
          root_at: Callable[[int], bytes]) -> WitnessMark:
    if isinstance(text, WitnessMark):
        return text
    if text is None:
        return WitnessMark(witness.name, 0, None, f"{witness.name}: has cosigned no checkpoint of this log")
    try:
        signed = open_with_any(text, log_keys)
        only = WitnessPolicy((), (witness,), (), witness.name)
        cosigned, _rest = verify_cosignatures(signed.note, only)
    except LedgerError as e:
        return WitnessMark(witness.name, None, None, f"{witness.name}: its checkpoint does not verify ({e})")
    if not cosigned:
        return WitnessMark(witness.name, None, None, f"{witness.name}: its checkpoint lacks its own cosignature")
    cp = signed.checkpoint
    if cp.size > log_size:
        return WitnessMark(witness.name, cp.size, "behind",
                           f"the log holds {log_size} entries but witness {witness.name} cosigned size {cp.size}: "
                           f"{cp.size - log_size} entries are missing (a restored older database?)")
    if root_at(cp.size) != cp.root:
        return WitnessMark(witness.name, cp.size, "diverged",
                           f"the log's root at size {cp.size} (of {log_size} entries) differs from the one witness "
                           f"{witness.name} cosigned: the history was changed")
    return WitnessMark(witness.name, cp.size, None, f"{witness.name}: size {cp.size}, extended by the log")


def witness_high_water(policy: WitnessPolicy, origin: str, log_keys: Sequence[VerifierKey], log_size: int,
                       root_at: Callable[[int], bytes], timeout: float = 5.0) -> HighWater:
    """Ask every witness of ``policy`` (in parallel) for its latest cosigned checkpoint of ``origin``
    and compare it with the log (``log_size`` entries, roots by ``root_at``)."""
    if not policy.witnesses:
        return HighWater(log_size, ())
    with ThreadPoolExecutor(max_workers=len(policy.witnesses)) as pool:
        texts = list(pool.map(lambda w: _fetch(w, origin, timeout), policy.witnesses))
    # compared here, in the caller's thread: root_at reads the caller's database
    return HighWater(log_size, tuple(_mark(w, t, log_keys, log_size, root_at)
                                     for w, t in zip(policy.witnesses, texts, strict=True)))
