"""Response bodies of the oversight reads: one typed model per view's row (docs/PROJECTIONS.md § 3),
so the OpenAPI schema describes every column and the API tests check responses against it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

IMPORTED = ("true: a disclosure made before the ledger, imported from the agency's accounting "
            "(legacy_release, FORMAT § 17.10)")
DISCLOSED_AT = "when it was disclosed: the release's signed issued_at, or an imported record's date; dates filter on it"

class InspectionOut(BaseModel):
    index: int
    leaf_hash: str
    statement_id: str


# ---- the views' rows (docs/PROJECTIONS.md § 3), one model each --------------------------------
# A column the query API adds must be added here too (extra="forbid": the API tests fail otherwise).
class Row(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReleaseRecipientOut(Row):
    position: int = Field(description="the recipient's position in the request")
    agency: str | None = Field(description="null: the position names no recipient of the request")
    name_commitment: str | None
    principal: str | None = Field(description="the key name of the person who receives the data; null for a "
                                               "request of body version 1, which names none")


class RequestEventOut(Row):
    """A request line naming the taxpayer, with its match and decision."""

    kind: Literal["request"]
    index: int = Field(description="the request's entry index")
    recorded_at: str
    request_id: str
    line: int
    agency: str
    exception: str
    purpose: str
    statute: str | None
    fields: list[str]
    withdrawn_idx: int | None
    imported: bool = Field(description=IMPORTED)
    has_address: bool = Field(description="the requester supplied an address")
    match_idx: int | None
    matched: bool | None
    match_basis: list[str]
    method: str | None
    address_class: str | None
    address_usable: bool | None
    review_idx: int | None
    decision: str | None
    decision_reason: str | None


class ReleaseEventOut(Row):
    """A release of the taxpayer's line."""

    kind: Literal["release"]
    index: int = Field(description="the entry that released it (inline release or chunk)")
    recorded_at: str
    disclosed_at: str = Field(description=DISCLOSED_AT)
    release_id: str
    request_id: str
    line: int
    agency: str | None
    exception: str | None
    fields: list[str]
    bulk: bool
    imported: bool = Field(description=IMPORTED)
    recipients: list[ReleaseRecipientOut]


class InspectionEventOut(Row):
    """A recorded read of the taxpayer's history (this read's own included)."""

    kind: Literal["inspection"]
    index: int
    recorded_at: str
    signer: str
    reader: str | None
    view: str
    role: str
    inspector: str = Field(description="who read: the principal the read was made for (reader), else the signer")
    purpose: str | None = Field(description="the purpose the reader gave, opened from the sealed store; "
                                            "null when its opening is not there (erased)")


HistoryEventOut = Annotated[RequestEventOut | ReleaseEventOut | InspectionEventOut, Field(discriminator="kind")]


class TaxpayerHistoryOut(BaseModel):
    inspection: InspectionOut = Field(description="the inspection this read recorded, before reading")
    caught_up: bool = Field(description="always true: the views include the inspection (the history shows this "
                                        "read); a read they do not reach in time is a 503 views-behind problem")
    items: list[HistoryEventOut] = Field(description="events oldest first: kind request, release or inspection")
    next_after: str | None = Field(description="pass as after for the next page; null: no more")


class DisclosureTotalOut(Row):
    """One group: exactly one of agency, exception, recipient_agency is present (the ``by`` asked)."""

    agency: str | None = None
    exception: str | None = None
    recipient_agency: str | None = None
    releases: int
    instances: int = Field(description="lines released")
    taxpayers: int = Field(description="distinct pseudonyms")
    imported: int = Field(description="of the instances, those imported from accounting before the ledger")


class DisclosureOut(Row):
    release_id: str
    index: int
    disclosed_at: str = Field(description=DISCLOSED_AT)
    recorded_at: str
    request_id: str
    agency: str
    exception: str
    fields: list[str]
    channel: str
    bulk: bool
    imported: bool = Field(description=IMPORTED)
    signer: str
    instances: int
    taxpayers: int
    recipients: list[ReleaseRecipientOut]


class RefusalReasonOut(Row):
    reason: str | None
    lines: int


class RequestFlagOut(Row):
    flag: str
    source: str = Field(description="match_result or review")
    index: int


class RequestReleaseOut(Row):
    release_id: str
    index: int
    disclosed_at: str = Field(description=DISCLOSED_AT)
    recorded_at: str
    imported: bool


class ResubmissionOut(Row):
    request_id: str
    index: int


class RequestBlockedOut(Row):
    index: int
    statement_type: str
    statement_id: str
    rules: list[str]


class RequestStatusOut(Row):
    request_id: str
    index: int
    recorded_at: str
    filed_index: int | None = Field(description="inline: index; bulk: the last chunk's index")
    agency: str
    exception: str
    purpose: str
    statute: str | None
    fields: list[str]
    bulk: bool
    imported: bool = Field(description=IMPORTED)
    filed_at: str | None = Field(description="when it was filed (a bulk request: its last chunk; an imported "
                                             "record: its date)")
    withdrawn_index: int | None
    requested: int
    lines_recorded: int
    matched: int
    approved: int
    refused: int
    released: int
    refusal_reasons: list[RefusalReasonOut]
    red_flags: list[RequestFlagOut]
    releases: list[RequestReleaseOut]
    resubmits: str | None
    resubmitted_by: list[ResubmissionOut]
    blocked: list[RequestBlockedOut] = Field(description="rule-refused statements about this request")


class BlockedOut(Row):
    recorded_at: str
    statement_id: str
    statement_type: str
    signers: list[str]
    rules: list[str]
    refers_to: str | None = Field(description="the request the refused statement was about")
    index: int


class AnnualReportRowOut(Row):
    agency: str
    exception: str
    requests: int
    instances: int
    taxpayers: int
    bulk: int
    other: int
    total: int
    instances_without_pseudonym: int
    imported: int = Field(description="of the instances, those imported from accounting before the ledger")
    purposes: list[str]


class JctRowOut(Row):
    disclosure_to_for: str
    subsection: str
    bulk_master_file_data: int
    other_disclosures: int
    total_number_of_disclosures: int
    taxpayers: int
    imported: int = Field(description="of the disclosures, those imported from accounting before the ledger")


class AuditLineOut(Row):
    index: int
    disclosed_at: str = Field(description=DISCLOSED_AT)
    recorded_at: str
    imported: bool = Field(description=IMPORTED)
    release_id: str
    request_id: str
    line: int
    taxpayer_ref: str | None = Field(description="the taxpayer, re-keyed for the reader (docs/API.md, "
                                     "Pseudonyms): equal across this reader's downloads, unrelated to "
                                     "another reader's; null when the line was not matched")
    has_address: bool
    address_class: str | None
    address_usable: bool | None
    match_basis: list[str]
    method: str | None
    no_usable_address: bool
    potentially_incomplete: bool


class RedFlagOut(Row):
    index: int
    recorded_at: str
    flag: str
    source: str
    request_id: str
    agency: str
    exception: str


class RedFlagCountOut(Row):
    flag: str
    requests: int


class SafeguardOut(Row):
    recorded_at: str
    agency: str
    ssr_approved: bool
    open_findings: int
    cap_implementation_date: str | None
    signer: str
    index: int


class CheckpointRowOut(Row):
    size: int
    root: str = Field(description="lowercase hex root")
    signed_at: str


class _Paged(BaseModel):
    """One page of a view's rows (``?format=csv``: the rows as CSV, the cursor in ``X-Next-After``)."""

    next_after: str | None = Field(description="pass as after for the next page; null: no more")


class DisclosuresOut(_Paged):
    items: list[DisclosureOut]


class RequestsOut(_Paged):
    items: list[RequestStatusOut]


class BlockedPageOut(_Paged):
    items: list[BlockedOut]


class RedFlagsOut(_Paged):
    items: list[RedFlagOut]


class CheckpointHistoryOut(_Paged):
    items: list[CheckpointRowOut]


class DisclosureTotalsOut(BaseModel):
    items: list[DisclosureTotalOut]


class AnnualReportOut(BaseModel):
    items: list[AnnualReportRowOut]


class JctOut(BaseModel):
    items: list[JctRowOut]


class RedFlagCountsOut(BaseModel):
    items: list[RedFlagCountOut]


class SafeguardsOut(BaseModel):
    items: list[SafeguardOut]


class ReleaseAuditOut(BaseModel):
    """The unlawful-release audit: both measures over the selected released lines, and a page of the lines."""

    lines_released: int
    no_usable_address: int = Field(description="the court's measure: no usable requester-supplied address")
    potentially_incomplete: int = Field(description="an address supplied, classed as a fragment of one")
    tin_only: int = Field(description="lines matched on the TIN alone")
    imported: int = Field(description="lines imported from accounting before the ledger (legacy_release)")
    items: list[AuditLineOut] = Field(description="the released lines, each with both flags")
    next_after: str | None
