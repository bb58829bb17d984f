"""Taxpayer lookup: the TIN only in a POST body, the read recorded as an ``inspection`` first, the
history in pages that later POST forms reach by a handle sealed to the session, never by the TIN or
the raw pseudonym; the page names the taxpayer by the reader's own re-keyed pseudonym."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Annotated

import nacl.exceptions
import nacl.secret
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.routes.views import to_csv
from api.web.pages import Page, Refused, csv_file, page, web_router
from api.web.params import PAGE_SIZE, form
from api.web.session import Session, same, same_origin
from ledger.core.errors import LedgerError
from ledger.sealed import SealedKeys
from projections.errors import BadQuery, ProjectionError
from projections.query_args import dates
from usecases.oversight_read import BadPurpose, TaxpayerHistory, ViewsBehind

MAX_TRAIL = 200  # pages of a taxpayer's history one can step back through
_TRAIL = re.compile(r"(?:-|[0-9]{1,18}\.[0-9]\.[0-9]{1,10})\Z")

router = web_router()
TaxpayerPage = Annotated[Page, page("/taxpayer")]


@dataclass(frozen=True)
class _History:
    subject: str  # the taxpayer's pseudonym
    purpose: str
    since: str | None
    until: str | None
    after: str | None  # this page's cursor (None: the first page)
    trail: list[str]  # the cursors of the pages before it ("-": the first page)


@router.get("/taxpayer")
def taxpayer_form(p: TaxpayerPage) -> Response:
    return p.render("taxpayer.html", title="Taxpayer lookup", history=None)


@router.post("/taxpayer")
async def taxpayer_lookup(p: TaxpayerPage) -> Response:
    """A lookup by TIN, or another page of a history already looked up (by its handle). Either
    way the read is recorded as an inspection first, and nothing personal goes in a URL."""
    view = await _history_asked(p)
    return await run_in_threadpool(_lookup, p, view)


@router.post("/taxpayer.csv")
async def taxpayer_csv(p: TaxpayerPage) -> Response:
    """The whole history over the form's dates as CSV — the JSON API's rows and columns (each
    inspection with who read and why) — by the handle of a history shown in this session; the
    download is a read like any other, recorded as an inspection first."""
    view = await _history_asked(p, csv_download=True)
    return await run_in_threadpool(_download, p, view)


async def _history_asked(p: Page, csv_download: bool = False) -> _History:
    """The history the form asks for, after the checks every read passes (CSRF, the fields, the
    token's lookup allowance); a 400 form naming the field in error otherwise."""
    data = await form(p.request)
    if not same_origin(p.request) or not same(data.get("csrf"), p.session.csrf):
        raise p.refuse(403, "Form refused", "The form was not this session's (CSRF check failed); nothing was read.")
    tin, purpose = data.get("tin", "").strip(), data.get("purpose", "").strip()
    since, until = data.get("since") or None, data.get("until") or None
    handle = data.get("handle", "")
    kept = {"purpose": purpose[:2000], "since": since, "until": until}
    errors: dict[str, str] = {}
    if csv_download and not handle:
        errors["tin"] = "Look the taxpayer up first; the download is offered under their history."
    elif not tin and not handle:
        errors["tin"] = "Give the taxpayer's TIN (9 digits)."
    elif len(tin) > 32:
        errors["tin"] = "A TIN is 9 digits, with optional spaces or hyphens."
    if not purpose:
        errors["purpose"] = "Give the purpose of this read; it is recorded with the inspection."
    elif len(purpose) > 2000:
        errors["purpose"] = "The purpose is at most 2000 characters."
    try:
        dates(since, until)
    except BadQuery as e:
        errors["until" if "until" in str(e) else "since"] = f"Dates: {e}."
    subject = None
    if handle:
        subject = _unhandle(p.state.sealed_keys, p.session, handle)
        if subject is None:
            errors["tin"] = "That history belongs to another session; look the taxpayer up again."
    elif tin and "tin" not in errors:
        try:
            subject = p.state.sealed_keys.pseudonym(tin)
        except LedgerError:  # the message is not shown: it never repeats the TIN, but says nothing useful either
            errors["tin"] = "That is not a TIN: 9 digits, with optional spaces or hyphens."
    trail = [t for t in data.get("trail", "").split() if t]
    after = data.get("after") or None
    if len(trail) > MAX_TRAIL or not all(_TRAIL.match(t) for t in [*trail, after or "-"]):
        errors["tin"] = "That page of the history is out of range; look the taxpayer up again."
    if errors or subject is None:
        raise _again(p, errors or {"tin": "Give the taxpayer's TIN (9 digits)."}, kept)
    if not handle:
        after, trail = None, []
    view = _History(subject, purpose, since, until, None if after == "-" else after, trail)
    retry = await run_in_threadpool(p.state.lookup_allowed, p.session.principal.token_id, "web")
    if retry is not None:  # every page of a history is a lookup (and an inspection): the same allowance
        raise p.refuse(429, "Too many lookups",
                       f"This sign-in's token may look up {p.state.settings.taxpayer_lookups} taxpayer histories "
                       f"per {p.state.settings.taxpayer_window:g} seconds. Try again in {retry:.0f} seconds; "
                       "nothing was read or recorded.")
    return view


def _handle(keys: SealedKeys, session: Session, subject: str) -> str:
    """The pseudonym sealed under a key of this session (XSalsa20-Poly1305): the page carries no raw
    pseudonym, and a paging form cannot name another taxpayer or work in another session."""
    box = nacl.secret.SecretBox(keys.handle_key("history:" + session.sid))
    return base64.urlsafe_b64encode(box.encrypt(subject.encode("ascii"))).decode("ascii")


def _unhandle(keys: SealedKeys, session: Session, handle: str) -> str | None:
    if len(handle) > 256:  # a sealed 64-character pseudonym is 140 characters
        return None
    box = nacl.secret.SecretBox(keys.handle_key("history:" + session.sid))
    try:
        subject = box.decrypt(base64.urlsafe_b64decode(handle.encode("ascii"))).decode("ascii")
    except (ValueError, UnicodeError, nacl.exceptions.CryptoError):
        return None
    return subject if len(subject) == 64 else None


FIELD_NAMES = {"tin": "TIN", "purpose": "Purpose", "since": "Since", "until": "Until"}


def _again(p: Page, errors: dict[str, str], kept: dict[str, str | None]) -> Refused:
    """The lookup form again (400): each field in error named, with what was wrong, beside it; the
    other inputs kept (the purpose and the dates — never the TIN, which is typed again)."""
    summary = "; ".join(f"{FIELD_NAMES[k]}: {v}" for k, v in errors.items())
    return Refused(p.render("taxpayer.html", 400, title="Taxpayer lookup", history=None, error=summary,
                            errors=errors, **kept))


def _read(p: Page, view: _History, limit: int | None, totals: bool = False) -> TaxpayerHistory:
    """The oversight read (``usecases.oversight_read``, as the JSON API's): the inspection recorded
    first, the views caught up to it within the bound, then the history; each failure a page."""
    try:
        return p.state.reads.taxpayer_history(p.session.principal, view.subject, view.purpose, since=view.since,
                                              until=view.until, limit=limit, after=view.after, totals=totals)
    except BadPurpose:
        raise _again(p, {"purpose": "The purpose cannot be recorded; use plain text."},
                     {"purpose": view.purpose, "since": view.since, "until": view.until}) from None
    except ViewsBehind as e:
        raise p.refuse(503, "Recorded, not yet readable",
                       f"This read was recorded in the ledger as entry {e.inspection}, but the views had not "
                       f"caught up with it after {e.timeout:g} seconds, so nothing was read. Try again in a "
                       "moment (that records another read); the views' lag is on the status page of the API "
                       "(/v1/oversight/status).") from None
    except BadQuery as e:
        raise p.bad(str(e)) from None
    except ProjectionError:
        raise p.refuse(503, "Views unavailable", "The projections could not be read; try again.") from None
    except LedgerError:
        raise p.refuse(503, "Not recorded, not read",
                       "The inspection could not be recorded in the ledger, so the history was not read.") from None


def _lookup(p: Page, view: _History) -> Response:
    state, principal = p.state, p.session.principal
    got = _read(p, view, PAGE_SIZE, totals=True)
    events, counts = got.items, got.counts or {}
    total = counts["request"] + counts["release"] + counts["inspection"]
    number = len(view.trail) + 1
    start = (number - 1) * PAGE_SIZE + 1 if events else 0
    here = view.after or "-"
    return p.render("taxpayer.html", title="Taxpayer history", history=events,
                    inspection=got.inspection.index, counts=counts, blocked=got.blocked,
                    subject=state.sealed_keys.reader_pseudonym(principal.name, view.subject)[:12],
                    since=view.since, until=view.until, purpose=view.purpose,
                    handle=_handle(state.sealed_keys, p.session, view.subject),
                    paging={"number": number, "pages": max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1), "total": total,
                            "start": start, "end": start + len(events) - 1 if events else 0,
                            "next": got.next_after if number * PAGE_SIZE < total else None,
                            "next_trail": " ".join([*view.trail, here]),
                            "prev": view.trail[-1] if view.trail else None, "prev_trail": " ".join(view.trail[:-1])})


def _download(p: Page, view: _History) -> Response:
    """The whole history over the form's dates, from its first event (at most
    ``usecases.oversight_read.MAX_WHOLE`` events)."""
    return csv_file(to_csv(_read(p, view, None).items), "taxpayer-history")
