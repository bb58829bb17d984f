"""Request and response bodies (separate from the ledger's own types)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_NOTE_CHARS = 65_536  # the note itself is refused past 60,000 bytes by the ledger
CURSOR_CHARS = 64  # a page cursor (``next_after``): dot-separated integers
TAXPAYER_CURSOR = r"^(0|[1-9][0-9]{0,17})\.(0|[1-9][0-9]{0,9})\.(0|[1-9][0-9]{0,9})$"  # as projections.queries


class OpeningIn(BaseModel):
    """The opening of one commitment (FORMAT § 13): field, base64 salt (16 bytes), value."""

    model_config = ConfigDict(extra="forbid")
    field: str = Field(max_length=128)
    salt: str = Field(max_length=64)
    value: Any


class SubmissionIn(BaseModel):
    """A signed statement (C2SP signed note) and the openings of its commitments."""

    model_config = ConfigDict(extra="forbid")
    statement: str = Field(max_length=MAX_NOTE_CHARS)
    openings: list[OpeningIn] = Field(default_factory=list, max_length=5000)


class SeedRequestIn(BaseModel):
    """A principal's signed seed request (FORMAT § 13.1): a C2SP signed note, never appended to the log."""

    model_config = ConfigDict(extra="forbid")
    request: str = Field(max_length=4096)


class SeedOut(BaseModel):
    """The seed for one statement, sealed to the key that signed the request (FORMAT § 13.1)."""

    statement_id: str
    statement_type: str
    principal: str
    expires_at: str = Field(description="submit the statement (a bulk statement: every chunk) before this time")
    sealed_seed: str = Field(description="base64 sealed box (X25519 form of the principal's Ed25519 key) of the "
                                         "32-byte seed")


class BatchIn(BaseModel):
    """Statements appended in one transaction, all or none (e.g. the chunks of a bulk statement)."""

    model_config = ConfigDict(extra="forbid")
    statements: list[SubmissionIn] = Field(min_length=1, max_length=256)


class AppendedOut(BaseModel):
    index: int
    leaf_hash: str = Field(description="lowercase hex SHA-256 leaf hash (RFC 6962) of the entry")
    statement_id: str
    recorded_at: str
    duplicate: bool = Field(description="true: an exact resubmission; index is the original entry's")
    checkpoint: str | None = Field(None, description="with ?wait=checkpoint: the first checkpoint note covering it")


class BatchOut(BaseModel):
    appended: list[AppendedOut]
    checkpoint: str | None = None


class CheckpointOut(BaseModel):
    size: int
    root: str = Field(description="lowercase hex root")
    note: str = Field(description="the signed checkpoint note, exactly as signed")


class CheckpointsOut(BaseModel):
    checkpoints: list[CheckpointOut]


class ConsistencyOut(BaseModel):
    old_size: int
    new_size: int
    old_root: str
    new_root: str
    path: list[str]


class InclusionOut(BaseModel):
    index: int
    tree_size: int
    leaf_hash: str
    root: str
    path: list[str]


class EntryOut(BaseModel):
    index: int
    entry_b64: str = Field(description="strict base64 of the entry's stored bytes")
    leaf_hash: str


class EntriesOut(BaseModel):
    entries: list[EntryOut]
    next_start: int | None = Field(description="where the next page starts; null at the end of the log")


class TaxpayerQueryIn(BaseModel):
    """An oversight read of one taxpayer's history; the read itself is recorded in the ledger."""

    model_config = ConfigDict(extra="forbid")
    tin: str = Field(min_length=1, max_length=32)
    purpose: str = Field(min_length=1, max_length=2000, description="why this history is read (committed to)")
    since: date | None = Field(None, description="events recorded on or after this day (UTC)")
    until: date | None = Field(None, description="events recorded before this day (UTC)")
    limit: int = Field(100, ge=1, le=1000, description="most events in this page")
    after: str | None = Field(None, max_length=CURSOR_CHARS, pattern=TAXPAYER_CURSOR,
                              description="the previous page's next_after")

    @model_validator(mode="after")
    def _dates_in_order(self) -> TaxpayerQueryIn:
        if self.since is not None and self.until is not None and self.until < self.since:
            raise ValueError("until is before since")
        return self


class ViewStatusOut(BaseModel):
    name: str
    position: int = Field(description="entries applied (checkpoints: the largest size copied)")
    head: int = Field(description="the log's size (checkpoints: the largest size signed)")
    lag: int


class ViewsStatusOut(BaseModel):
    log_size: int
    views: list[ViewStatusOut]


class HealthOut(BaseModel):
    status: Literal["ok"]


class ReadyOut(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, str]
    witnesses: str = Field(default="unwitnessed", description="'unwitnessed' (no witness policy configured: "
                           "checkpoints carry the log's signature alone), else how publication under the policy stands")


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "instance": {"type": "string"}, "rule": {"type": "string"},
        "rules": {"type": "array", "items": {"type": "string"}},
        "blocked_index": {"type": ["integer", "null"]}, "statement_id": {"type": ["string", "null"]},
    },
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for problem-detail statuses."""
    return {s: {"description": "problem details (RFC 9457)",
                "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}}} for s in statuses}
