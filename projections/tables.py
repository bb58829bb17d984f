"""The views' tables (prefix ``pj_``) and the ledger tables they read.

Every table belongs to exactly one projection (``OWNERS``), which alone writes it and
rebuilds it. No table holds a TIN, name, address or free text: only pseudonyms (HMAC of the
matched TIN, from ``dl_pseudonyms``), commitments, codes, indices, times and counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

_ID = sa.String(128)
_CODE = sa.String(80)
_HEX = sa.String(64)
_TIME = sa.String(27)  # the ledger's recorded_at, YYYY-MM-DDTHH:MM:SS.ffffffZ: sorts as it reads


@dataclass(frozen=True)
class ViewTables:
    """The ``pj_`` tables in one MetaData (schema given for PostgreSQL)."""

    metadata: sa.MetaData
    tracking: sa.Table
    statement: sa.Table
    request: sa.Table
    request_recipient: sa.Table
    line: sa.Table
    release: sa.Table
    release_recipient: sa.Table
    release_line: sa.Table
    red_flag: sa.Table
    blocked: sa.Table
    safeguard: sa.Table
    inspection: sa.Table
    checkpoint: sa.Table


def view_tables(schema: str | None = None) -> ViewTables:
    m = sa.MetaData(schema=schema)
    c = sa.Column
    tracking = sa.Table(
        "pj_tracking", m,
        c("name", sa.String(40), primary_key=True),
        c("position", sa.BigInteger, nullable=False),  # entries applied = the next index to apply
        c("updated_at", _TIME, nullable=False),
    )
    statement = sa.Table(  # lookup: a domain statement's type, index and the request it is about
        "pj_statement", m,
        c("statement_id", _ID, primary_key=True),
        c("stype", sa.String(64), nullable=False),
        c("idx", sa.BigInteger, nullable=False),
        c("request_id", _ID),
        c("chunk_count", sa.Integer),  # manifests only (bulk form)
    )
    request = sa.Table(
        "pj_request", m,
        c("request_id", _ID, primary_key=True),
        c("idx", sa.BigInteger, nullable=False),
        c("recorded_at", _TIME, nullable=False),
        c("filed_idx", sa.BigInteger),  # inline: idx; bulk: the last chunk's index (FORMAT § 17.7)
        c("filed_at", _TIME),
        c("signer", sa.String(200), nullable=False),
        c("agency", _CODE, nullable=False),
        c("exception", _CODE, nullable=False),
        c("purpose", _CODE, nullable=False),
        c("statute", _CODE),
        c("fields", sa.Text, nullable=False),  # comma-separated codes
        c("court_order", _ID),
        c("resubmits", _ID),
        c("line_count", sa.Integer, nullable=False),
        c("bulk", sa.Boolean, nullable=False),
        c("withdrawn_idx", sa.BigInteger),
        c("imported", sa.Boolean, nullable=False, default=False),  # a legacy_release: accounting from before
        sa.Index("pj_request_agency_at", "agency", "recorded_at"),
        sa.Index("pj_request_resubmits", "resubmits"),
    )
    request_recipient = sa.Table(
        "pj_request_recipient", m,
        c("request_id", _ID, primary_key=True),
        c("position", sa.Integer, primary_key=True),
        c("agency", _CODE, nullable=False),
        c("name_commitment", _HEX, nullable=False),
        c("caseload", sa.Integer, nullable=False),
        c("principal", sa.String(200)),  # the key name who receives the data; None in a version-1 request
    )
    line = sa.Table(  # one row per request line: what was asked, matched and decided
        "pj_line", m,
        c("request_id", _ID, primary_key=True),
        c("line", sa.Integer, primary_key=True),
        c("request_idx", sa.BigInteger, nullable=False),
        c("has_tin", sa.Boolean, nullable=False),
        c("has_name", sa.Boolean, nullable=False),
        c("has_address", sa.Boolean, nullable=False),  # did the requester supply an address at all
        c("match_idx", sa.BigInteger),
        c("matched", sa.Boolean),
        c("match_basis", sa.String(40)),  # comma-separated, sorted
        c("method", _CODE),
        c("address_class", _CODE),
        c("address_usable", sa.Boolean),
        c("irs_address_differs", sa.Boolean),
        c("pseudonym", _HEX),
        c("review_idx", sa.BigInteger),
        c("decision", sa.String(10)),
        c("decision_reason", _CODE),
        sa.Index("pj_line_pseudonym", "pseudonym", "request_idx", "line"),
    )
    release = sa.Table(
        "pj_release", m,
        c("release_id", _ID, primary_key=True),
        c("idx", sa.BigInteger, nullable=False),
        c("recorded_at", _TIME, nullable=False),
        c("request_id", _ID, nullable=False),
        c("review_id", _ID, nullable=False),
        c("signer", sa.String(200), nullable=False),
        c("fields", sa.Text, nullable=False),
        c("channel", _CODE, nullable=False),
        c("file_sha256", _HEX),  # None: an imported record (no delivered file in the log)
        c("bulk", sa.Boolean, nullable=False),
        c("disclosed_at", _TIME, nullable=False),  # the release's signed issued_at; an import: its date
        c("imported", sa.Boolean, nullable=False, default=False),
        sa.Index("pj_release_request", "request_id"),
    )
    release_recipient = sa.Table(
        "pj_release_recipient", m,
        c("release_id", _ID, primary_key=True),
        c("position", sa.Integer, primary_key=True),
        c("agency", _CODE),  # None: the position names no recipient of the request
        c("name_commitment", _HEX),
        c("principal", sa.String(200)),  # None: no recipient, or a version-1 request (no principal named)
    )
    release_line = sa.Table(  # one row per taxpayer line released: the per-taxpayer accounting rows
        "pj_release_line", m,
        c("release_id", _ID, primary_key=True),
        c("line", sa.Integer, primary_key=True),
        c("idx", sa.BigInteger, nullable=False),  # the entry that released it (inline release or chunk)
        c("recorded_at", _TIME, nullable=False),
        c("request_id", _ID, nullable=False),
        c("pseudonym", _HEX),
        c("agency", _CODE),
        c("exception", _CODE),
        c("fields", sa.Text, nullable=False),
        c("bulk", sa.Boolean, nullable=False),
        c("disclosed_at", _TIME, nullable=False),  # when it was disclosed (what the dates filter on)
        c("imported", sa.Boolean, nullable=False, default=False),
        sa.Index("pj_release_line_pseudonym", "pseudonym", "idx", "line"),
        sa.Index("pj_release_line_disclosed", "disclosed_at"),
        sa.Index("pj_release_line_agency_at", "agency", "recorded_at"),
        sa.Index("pj_release_line_exception_at", "exception", "recorded_at"),
    )
    red_flag = sa.Table(
        "pj_red_flag", m,
        c("idx", sa.BigInteger, primary_key=True),
        c("flag", _CODE, primary_key=True),
        c("request_id", _ID, nullable=False),
        c("source", sa.String(20), nullable=False),  # match_result | review
        c("recorded_at", _TIME, nullable=False),
        sa.Index("pj_red_flag_request", "request_id"),
    )
    blocked = sa.Table(
        "pj_blocked", m,
        c("idx", sa.BigInteger, primary_key=True),
        c("recorded_at", _TIME, nullable=False),
        c("statement_id", _ID, nullable=False),
        c("statement_type", sa.String(64), nullable=False),
        c("signers", sa.Text, nullable=False),
        c("rules", sa.Text, nullable=False),
        c("refers_to", _ID, nullable=True),  # the request the refused statement was about (FORMAT § 7.8)
        sa.Index("pj_blocked_refers_to", "refers_to"),
    )
    safeguard = sa.Table(
        "pj_safeguard", m,
        c("idx", sa.BigInteger, primary_key=True),
        c("recorded_at", _TIME, nullable=False),
        c("agency", _CODE, nullable=False),
        c("ssr_approved", sa.Boolean, nullable=False),
        c("open_findings", sa.Integer, nullable=False),
        c("cap_implementation_date", sa.String(10)),
        c("signer", sa.String(200), nullable=False),
        sa.Index("pj_safeguard_agency", "agency", "idx"),
    )
    inspection = sa.Table(
        "pj_inspection", m,
        c("idx", sa.BigInteger, primary_key=True),
        c("recorded_at", _TIME, nullable=False),
        c("signer", sa.String(200), nullable=False),
        c("reader", _CODE),  # the principal the read was made for (inspections that name one)
        c("view", _CODE, nullable=False),
        c("role", _CODE, nullable=False),
        c("subject_commitment", _HEX, nullable=False),
        c("pseudonym", _HEX),  # from dl_pseudonyms (idx, 0) when the service stores it there
        sa.Index("pj_inspection_pseudonym", "pseudonym", "idx"),
    )
    checkpoint = sa.Table(
        "pj_checkpoint", m,
        c("size", sa.BigInteger, primary_key=True),
        c("root", _HEX, nullable=False),
        c("signed_at", _TIME, nullable=False),
    )
    return ViewTables(m, tracking, statement, request, request_recipient, line, release, release_recipient,
                      release_line, red_flag, blocked, safeguard, inspection, checkpoint)
