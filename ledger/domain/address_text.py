"""Tokenising an address and screening it for placeholders and junk.

The screens look only at content: they run before any structure is parsed, so a
form such as "Failed to Provide" or "123-45-6789" is named for what it is rather
than as a failed parse. Reasons are fixed strings that never quote the input, so
a verdict can be logged without putting return information in the log.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from ledger.domain.address_data import (
    KEYBOARD_RUNS,
    PLACEHOLDER_ANYWHERE,
    PLACEHOLDER_FILLERS,
    PLACEHOLDER_PHRASES,
    PLACEHOLDER_WORDS,
    PLACEHOLDER_ZIPS,
    STATE_CODES,
    STATE_NAMES,
    STRONG_PLACEHOLDER_WORDS,
    VOWELLESS_OK,
)

Segments = list[list[str]]

_APOSTROPHES = re.compile("['\u2018\u2019\u201b`\u00b4]")
_NOT_APPLICABLE = re.compile(r"\bN\s*[/\\]\s*A\b")
_INITIAL_DOT = re.compile(r"(?<=\b[A-Z])\.(?=[A-Z]\b)")
_LOOSE_PERIOD = re.compile(r"(?<!\d)\.|\.(?!\d)")
_SPACED_DASH = re.compile(r"(?:^|\s)-+(?:\s|$)")
_OTHER_CHARS = re.compile(r"[^A-Z0-9#/\-.,;|\n\r\s]")
_SEPARATORS = re.compile(r"[,;|\n\r]")

_ZIP_LABELS = frozenset({"ZIP", "ZIPCODE", "CODE"})
ZIP_TOKEN = re.compile(r"\d{5}(?:-\d{4})?|\d{9}")
_X_FILL = re.compile(r"X{3,}")
_PLACEHOLDER_ZIP_TOKEN = re.compile(r"(?:0{5}|9{5})(?:-?(?:0{4}|9{4}))?|0+")


def fold(text: str) -> str:
    """Upper case without accents (Bayamón -> BAYAMON, Señorial -> SENORIAL)."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.upper()


def tokenise(text: str) -> Segments:
    """Split an address into parts (at commas, semicolons, line breaks, spaced
    dashes) and each part into tokens of letters, digits, ``#``, ``-``, ``/``."""
    t = fold(text)
    t = _APOSTROPHES.sub("", t)
    t = _NOT_APPLICABLE.sub(" NA ", t)
    t = _INITIAL_DOT.sub("", t)  # P.O. -> PO, N.W. -> NW, D.C. -> DC
    t = _LOOSE_PERIOD.sub(" ", t)  # St.Louis -> ST LOUIS; 15.5 stays
    t = t.replace("#", " # ")
    t = _SPACED_DASH.sub(" , ", t)
    t = _OTHER_CHARS.sub(" ", t)
    segments: Segments = []
    for part in _SEPARATORS.split(t):
        tokens = [tok.strip("-/.") for tok in part.split()]
        tokens = [tok for tok in tokens if tok]
        if tokens:
            segments.append(tokens)
    return segments


_PHRASES = re.compile(
    r"(?:^| )(?:" + "|".join(re.escape(" ".join(p)) for p in PLACEHOLDER_PHRASES) + r")(?= |$)"
)


def is_placeholder_token(token: str) -> bool:
    """A token that stands for "no value": UNKNOWN, NA, XXXXX, 00000 ..."""
    return (
        token in PLACEHOLDER_WORDS
        or bool(_X_FILL.fullmatch(token))
        or bool(_PLACEHOLDER_ZIP_TOKEN.fullmatch(token))
    )


def is_strong_placeholder_token(token: str) -> bool:
    """A placeholder token that never names a real street or place (UNKNOWN, NULL)."""
    return is_placeholder_token(token) and (
        token in STRONG_PLACEHOLDER_WORDS or token not in PLACEHOLDER_WORDS
    )


def all_placeholder(tokens: Sequence[str], *, strong: bool = False) -> bool:
    """True when there are tokens and every one of them is a placeholder."""
    test = is_strong_placeholder_token if strong else is_placeholder_token
    return bool(tokens) and all(test(t) for t in tokens)


def placeholder_reason(segments: Segments) -> str | None:
    """Why the text is a placeholder, or None."""
    flat = [t for seg in segments for t in seg]
    if _PHRASES.search(" ".join(flat)):
        return "a placeholder phrase instead of an address"
    if any(t in PLACEHOLDER_ANYWHERE or _X_FILL.fullmatch(t) for t in flat) or flat[:1] == ["SEE"]:
        return "a placeholder word instead of an address"
    for seg in segments:
        labels = _ZIP_LABELS if any(_is_real_zip(t) for t in seg) else frozenset()
        core = [
            t for t in seg
            if t not in STATE_CODES and t not in labels and t != "#" and not _is_real_zip(t)
        ]
        if all_placeholder(core):
            return "a placeholder word instead of an address"
        marked = [t for t in core if is_strong_placeholder_token(t)]
        others = [t for t in core if not is_placeholder_token(t)]
        if marked and all(t in PLACEHOLDER_FILLERS or t.isdigit() for t in others):
            return "a placeholder word instead of an address"
    return None


def _is_real_zip(token: str) -> bool:
    return bool(ZIP_TOKEN.fullmatch(token)) and token[:5] not in PLACEHOLDER_ZIPS


_EMAIL = re.compile(r"[A-Z0-9._%+-]+@[A-Z0-9-]+(?:\.[A-Z0-9-]+)+")
_URL = re.compile(
    r"\b(?:HTTPS?|FTP)://|\bWWW\.|\bMAILTO:|\b[A-Z0-9-]{2,}\.(?:COM|NET|ORG|GOV|EDU|IO|INFO|BIZ)\b"
)
_MARKUP = re.compile(r"<\s*/?\s*[A-Z!?][^>]*>|&(?:LT|GT|AMP|QUOT|NBSP|#\d+);")
_SQL = re.compile(
    r"\bSELECT\b.*\bFROM\b|\bUNION\s+(?:ALL\s+)?SELECT\b|\bINSERT\s+INTO\b|\bDELETE\s+FROM\b"
    r"|\b(?:DROP|ALTER|TRUNCATE)\s+(?:TABLE|DATABASE)\b|\bEXEC(?:UTE)?\s*\(|\bSLEEP\s*\("
    r"|\bWAITFOR\s+DELAY\b|['\"]\s*(?:OR|AND)\b.*=|\bOR\s+\d+\s*=\s*\d+|;\s*--|['\"]\s*--|/\*|\*/"
)
_CODE = re.compile(r"\$\{|\{\{|\}\}|\{%|%\}|<%|%>")
_SPREADSHEET_ERROR = re.compile(r"#(?:VALUE!|REF!|NAME\?|DIV/0!|NULL!|NUM!|SPILL!|CALC!|N/A)")
_ODD_CHARS = re.compile(r"[<>{}=\\^~$*@]")
_PHONE = re.compile(
    r"(?<![\d-])(?:\+?1[\s.-]?)?\(\d{3}\)\s*\d{3}[\s.-]?\d{4}(?![\d-])"
    r"|(?<![\d-])(?:\+?1[\s.-])?\d{3}[.-]\d{3}[.-]\d{4}(?![\d-])"
    r"|\+\d{1,3}[\s.-]?\d{2,4}[\s.-]?\d{3,4}[\s.-]?\d{3,4}(?![\d-])"
    r"|(?<![\d-])1?\d{10}(?![\d-])"
)
_TIN_DASHED = re.compile(r"(?<![\d-])(?:\d{3}-\d{2}-\d{4}|\d{2}-\d{7})(?![\d-])")
_TIN_ALONE = re.compile(r"\s*\d{3}[\s.]\d{2}[\s.]\d{4}\s*")
_REPEATED_LETTER = re.compile(r"([A-Z])\1{3,}")
_REPEATED_DIGIT = re.compile(r"(\d)\1{5,}")
_FILLER = frozenset({"LOREM", "IPSUM", "ASDF", "QWERTY", "FOOBAR", "FOO", "BAZ", "BLAH"})


def junk_reason(text: str, segments: Segments) -> str | None:
    """Why the text is junk (data that is not an address at all), or None."""
    raw = unicodedata.normalize("NFKC", text).upper()
    checks: tuple[tuple[re.Pattern[str], str], ...] = (
        (_EMAIL, "an email address"),
        (_URL, "a web address"),
        (_MARKUP, "markup instead of an address"),
        (_SQL, "a database command instead of an address"),
        (_CODE, "program code instead of an address"),
        (_SPREADSHEET_ERROR, "a spreadsheet error instead of an address"),
        (_ODD_CHARS, "characters that do not occur in addresses"),
        (_TIN_DASHED, "a taxpayer identification number in the address field"),
        (_PHONE, "a phone number in the address field"),
    )
    for pattern, reason in checks:
        if pattern.search(raw):
            return reason
    if _TIN_ALONE.fullmatch(raw):
        return "a taxpayer identification number in the address field"
    flat = [t for seg in segments for t in seg]
    for i, tok in enumerate(flat):
        if len(tok) == 9 and tok.isdigit() and not _follows_state(flat, i):
            return "a taxpayer identification number in the address field"
    if any(t in _FILLER for t in flat):
        return "filler text instead of an address"
    if any(_keyboard_run(t) or _REPEATED_LETTER.search(t) for t in flat):
        return "random characters"
    if any(_REPEATED_DIGIT.search(t) for t in flat):
        return "random characters"
    return None


def _follows_state(flat: Sequence[str], i: int) -> bool:
    for n in range(1, 5):
        if i - n >= 0 and " ".join(flat[i - n : i]) in STATE_NAMES:
            return True
    return i > 0 and flat[i - 1] in STATE_CODES


def _keyboard_run(token: str) -> bool:
    return token.isalpha() and any(token.startswith(run) for run in KEYBOARD_RUNS)


def is_gibberish(token: str) -> bool:
    """A word with no vowel and no meaning in addresses (XKCDQ), or a keyboard run."""
    if _keyboard_run(token) or _REPEATED_LETTER.search(token):
        return True
    return (
        token.isalpha()
        and len(token) >= 4
        and not set(token) & set("AEIOUY")
        and token not in VOWELLESS_OK
    )
