"""The ledger's side of c2sp.org/tlog-witness: send a checkpoint with its consistency proof to a
witness and take back its cosignature (``disclosure-ledger witness-request``).

The client starts from the size it believes the witness holds (0 when it does not know, as the spec
allows); a 409 answer names the witness's size, and the request is sent once more with the proof
from that size. A witness that holds a larger tree than the checkpoint sent has cosigned something
this ledger's tree does not extend to: that is refused loudly, never papered over. Every line of a
200 answer that claims the witness's name and key ID must be a valid cosignature of the checkpoint
sent, with a non-zero timestamp; lines of other keys are ignored.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ledger.core.cosignature import CosignerKey
from ledger.core.errors import LedgerError, SignatureError
from ledger.core.note import MAX_NOTE_BYTES, NoteSignature, parse_note
from ledger.core.witness_protocol import (
    ADD_CHECKPOINT,
    SIZE_CONTENT_TYPE,
    AddCheckpoint,
    monitoring_path,
    parse_cosignature_answer,
    parse_size_answer,
)

Prove = Callable[[int, int], Sequence[bytes]]  # (old size, new size) -> consistency proof


class WitnessUnreachable(LedgerError):
    """The witness did not answer (network, timeout): not a verdict."""


class WitnessRefused(LedgerError):
    """The witness answered with a refusal (or with an answer that is not a valid cosignature)."""

    def __init__(self, status: int, message: str, held: int | None = None) -> None:
        self.status = status
        self.held = held  # the size the witness said it holds (a 409), when it said one
        super().__init__(f"HTTP {status}: {message}" if status else message)


@dataclass(frozen=True)
class Cosignature:
    """The witness's valid cosignature line over a checkpoint, its time, and the old size that worked."""

    line: NoteSignature
    timestamp: int
    old_size: int


def _post(url: str, body: bytes, timeout: float) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, data=body, method="POST",  # noqa: S310 - the operator names the witness
                                     headers={"Content-Type": "text/plain; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), str(response.headers.get("Content-Type", "")), bytes(response.read())
    except urllib.error.HTTPError as e:
        return int(e.code), str(e.headers.get("Content-Type", "")), bytes(e.read())
    except (urllib.error.URLError, OSError) as e:
        raise WitnessUnreachable(f"{url}: {getattr(e, 'reason', e)}") from None


def request_cosignature(prefix: str, checkpoint: str, witness: CosignerKey, prove: Prove, *,
                        old_size: int = 0, timeout: float = 10.0) -> Cosignature:
    """Get ``witness``'s cosignature of ``checkpoint`` (this ledger's signed note) from the witness at ``prefix``."""
    note = parse_note(checkpoint)
    lines = note.text.split("\n")
    size = int(lines[1]) if len(lines) > 2 and lines[1].isdigit() else -1
    if size < 0:
        raise LedgerError("not a checkpoint: its second line is not a tree size")
    url = prefix.rstrip("/") + "/" + ADD_CHECKPOINT
    for _attempt in range(2):
        if old_size > size:
            raise WitnessRefused(409, f"the witness holds a tree of size {old_size}, larger than this checkpoint's "
                                      f"{size}: it cosigned a tree this log does not extend (a fork, or a lost tail)",
                                 held=old_size)
        proof = list(prove(old_size, size)) if 0 < old_size < size else []
        status, content_type, body = _post(url, AddCheckpoint(old_size, tuple(proof), checkpoint).encode(), timeout)
        if status == 200:
            return _cosignature(note.text, body, witness, old_size)
        if status == 409 and content_type.split(";")[0].strip() == SIZE_CONTENT_TYPE:
            old_size = parse_size_answer(body)
            continue
        raise WitnessRefused(status, body.decode("utf-8", "replace").strip()[:500],
                             held=old_size if status == 422 else None)
    raise WitnessRefused(409, f"the witness answered 409 twice; it now holds size {old_size}", held=old_size)


def _cosignature(text: str, body: bytes, witness: CosignerKey, old_size: int) -> Cosignature:
    try:
        lines = parse_cosignature_answer(body)
    except LedgerError as e:
        raise WitnessRefused(200, f"the answer is not signature lines: {e}") from None
    mine = [line for line in lines if witness.owns(line)]
    if not mine:
        raise WitnessRefused(200, f"the answer holds no cosignature by {witness}")
    if len(mine) > 1:
        raise WitnessRefused(200, f"the answer holds {len(mine)} cosignatures by {witness.name}")
    try:
        timestamp = witness.verify(text, mine[0])
    except SignatureError as e:
        raise WitnessRefused(200, f"the witness's answer is not a valid cosignature: {e}") from None
    if timestamp == 0:
        raise WitnessRefused(200, "the cosignature's timestamp is 0, which tlog-witness forbids")
    return Cosignature(mine[0], timestamp, old_size)


def fetch_latest(prefix: str, origin: str, timeout: float = 10.0) -> str | None:
    """The latest checkpoint of ``origin`` the witness at ``prefix`` cosigned (its monitoring endpoint,
    on the same prefix as add-checkpoint), as text; None when it has cosigned none (404).

    Unverified: the caller checks the log's signature and the witness's cosignature."""
    url = prefix.rstrip("/") + "/" + monitoring_path(origin)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - the policy names it
            return bytes(response.read(MAX_NOTE_BYTES + 1)).decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise WitnessRefused(int(e.code), f"the monitoring endpoint {url} answered {e.code}") from None
    except (urllib.error.URLError, OSError) as e:
        raise WitnessUnreachable(f"{url}: {getattr(e, 'reason', e)}") from None
