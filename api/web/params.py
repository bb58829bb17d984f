"""What a page reads from its request: a POST form, whole numbers, the filters, and which page of a
long table to show (with the pager that links to the others)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import Request

from api.web.pages import Page
from projections import paging
from projections.queries import Queries

MAX_FORM = 16 * 1024
PAGE_SIZE = 50  # rows per page of a long table unless ?size= says otherwise
MAX_PAGE_SIZE = 200


async def form(request: Request) -> dict[str, str]:
    """The first value of each field of a urlencoded POST body; {} when it is too long or malformed."""
    body = await request.body()
    if len(body) > MAX_FORM:
        return {}
    try:
        parsed = parse_qs(body.decode("utf-8"), max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {k: v[0] for k, v in parsed.items() if v}


def to_int(value: str | None, lo: int, hi: int) -> int | None:
    """``value`` as a whole number in lo..hi, or None."""
    # isascii: str.isdigit() admits digits int() refuses ("²"), which would be a 500
    if value is None or not (value.isascii() and value.isdigit()) or len(value) > 16:
        return None
    n = int(value)
    return n if lo <= n <= hi else None


def filters(request: Request) -> dict[str, str | None]:
    """The table filters of ?agency=&exception=&since=&until= (None where not given)."""
    q = request.query_params
    return {k: (q.get(k) or None) for k in ("agency", "exception", "since", "until")}


def page_args(page: Page) -> tuple[int, int]:
    """(page, size) from ?page=&size= (1-based page; size 1..MAX_PAGE_SIZE); a 400 page if malformed."""
    q = page.request.query_params
    number = to_int(q.get("page") or "1", 1, 10**6)
    size = to_int(q.get("size") or str(PAGE_SIZE), 1, MAX_PAGE_SIZE)
    if number is None or size is None:
        raise page.bad(f"page, size: expected a page number and a size of 1-{MAX_PAGE_SIZE}")
    return number, size


def slot(q: Queries, name: str, page: int, size: int, filters: dict[str, Any]) -> tuple[paging.Slot, int]:
    """The cursor and total for ``page`` of list ``name``; a page past the end becomes the last one."""
    got = paging.slot(q.views, name, (page - 1) * size, **filters)
    last = max((got.total + size - 1) // size, 1)
    if page > last:
        page = last
        got = paging.slot(q.views, name, (page - 1) * size, **filters)
    return got, page


def pager(path: str, params: dict[str, Any], page: int, size: int, total: int, shown: int) -> dict[str, Any]:
    """What the pager shows: rows start..end of total, and the links to the other pages (GET)."""
    pages = max((total + size - 1) // size, 1)
    keep = {k: v for k, v in params.items() if v not in (None, "")}

    def href(n: int) -> str:
        query = {**keep, **({"size": size} if size != PAGE_SIZE else {}), **({"page": n} if n > 1 else {})}
        return path + ("?" + urlencode(query) if query else "")

    start = (page - 1) * size + 1 if shown else 0
    return {"page": page, "pages": pages, "size": size, "total": total, "start": start,
            "end": start + shown - 1 if shown else 0,
            "first": href(1) if page > 2 else None, "prev": href(page - 1) if page > 1 else None,
            "next": href(page + 1) if page < pages else None, "last": href(pages) if page < pages - 1 else None}
