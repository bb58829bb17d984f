"""The dashboard's pages, one module per question; ``router`` holds them all and the static files.

Each page names the roles that may see it (``api.web.pages.PAGES``); links to the others are not
shown and the pages themselves answer 403. Reads come from the projections; the one write, the
``inspection`` recorded before a taxpayer's history is shown, goes through the disclosure service.

TINs travel only in POST bodies (never a URL); every POST form carries the session's CSRF token;
every page is ``Cache-Control: no-store`` under a strict Content-Security-Policy. Every table has a CSV
download in the session (``downloads.py``; a taxpayer's history: ``taxpayer.py``).
"""

from __future__ import annotations

from fastapi import APIRouter

from api.web.routes import downloads, entries, overview, reports, requests, signin, taxpayer

router = APIRouter(include_in_schema=False)
for _module in (signin, overview, taxpayer, requests, reports, entries, downloads):
    router.include_router(_module.router)
