"""Spreadsheet formula injection (OWASP "CSV Injection"): the one guard every CSV the service
writes applies to every cell — the API's table downloads and the dashboard's."""

from __future__ import annotations

# A spreadsheet reads a cell starting with one of these as a formula (or strips the tab / CR
# and then does): OWASP's list.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(text: str) -> str:
    """``text`` as a spreadsheet shows it but never evaluates it: a leading apostrophe when it
    starts like a formula (the CSV writer then quotes the cell as needed), else unchanged."""
    return "'" + text if text.startswith(FORMULA_START) else text
