"""Plain words for a verification's result: what a court's expert can repeat to a judge.

Every check of the verifier fails with a technical reason ("export line index out of
sequence (expected 19, found 20)"), which stays in the report as the detail. This module
says the same thing plainly ("entry 19 is missing: the export goes from entry 18 to entry
20"), using the facts that ledger.core.diagnosis gathers from the files when a check fails.
The verifier's wording is here and in ledger.core.plain_files (the kinds of file it
recognises, and what it says of a file given as the wrong kind): the messages of
failures, what each result means, and what a run leaves unchecked.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Facts:
    """What the files say about a failure beyond its technical reason (None: not known)."""

    # An entry out of sequence: where its expected index appears, what the line at the found
    # index's position holds, where the found index first appears, and whether every index
    # from the expected one up to the found one is absent.
    expected_at: int | None = None
    found_position_holds: int | None = None
    found_first_at: int | None = None
    gap_absent: bool = False
    # A signature that does not verify: could no Ed25519 key have made it; do the other
    # signatures on the same text verify (None: there are none, or their keys are unknown);
    # does the next entry link to this entry as it is (None: there is no next entry).
    impossible_signature: bool = False
    others_verify: bool | None = None
    next_links: bool | None = None


# ---- failures -------------------------------------------------------------------------
CRLF = "the file has Windows line endings (CRLF): it was re-saved by an editor"
BOM = "the file starts with a byte order mark (BOM): it was re-saved by an editor"


def explain(index: int | None, reason: str, facts: Facts | None = None) -> str:
    """The plain message for a failure: entry ``index`` (or none) failed with ``reason``."""
    facts = facts or Facts()
    for pattern, say in _RULES:
        match = pattern.search(reason)
        if match is not None:
            text = say(index, match, facts)
            if text is not None:
                return text
    if index is not None:
        return f"entry {index} fails a check: {reason}"
    return reason


def _ordinal_line(position: int) -> str:
    return f"line {position + 1} of the export"


def _names(text: str) -> list[str]:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


_JSON_KINDS = {"str": "text", "int": "a number", "list": "a list", "bool": "true or false"}


def _listing(items: list[str]) -> str:
    return ", ".join(items) if items else "none"


def _sequence(i: int | None, m: re.Match[str], f: Facts) -> str | None:
    expected, found = int(m["expected"]), int(m["found"])
    before = f"the export goes from entry {expected - 1} to entry {found}" if expected else (
        f"the export starts with entry {found}")
    if found > expected and f.expected_at is None:
        if f.gap_absent and found - expected == 2:
            return f"entries {expected} and {found - 1} are missing: {before}"
        if f.gap_absent and found - expected > 2:
            return f"entries {expected} to {found - 1} are missing: {before}"
        return f"entry {expected} is missing: {before}"
    if found < expected and f.found_first_at is not None and f.found_first_at < expected:
        return (f"entry {found} appears twice in the export: on lines {f.found_first_at + 1} and {expected + 1}, the "
                f"second where entry {expected} belongs")
    if f.expected_at is not None and f.expected_at == found and f.found_position_holds == expected:
        return (f"entries {expected} and {found} are swapped: the export holds entry {found} where entry {expected} "
                f"belongs, and entry {expected} where entry {found} belongs")
    if f.expected_at is not None:
        return (f"entry {expected} is out of place: the export holds entry {found} where entry {expected} belongs, "
                f"and entry {expected} on {_ordinal_line(f.expected_at)}")
    return f"the export holds entry {found} where entry {expected} belongs"


def _signature(i: int | None, m: re.Match[str], f: Facts) -> str:
    name = m["name"]
    if i is None:  # a checkpoint
        what = m.string.split(":", 1)[0] if m.string.startswith("previous checkpoint") else "checkpoint"
        if f.impossible_signature:
            return f"the {what}'s signature was altered: it is not a signature any Ed25519 key could produce"
        return (f"the {what} is not what the key {name} signed: its text (origin, size or root) was changed after "
                "it was signed, or its signature was altered")
    if f.impossible_signature:
        return (f"the signature by {name} on entry {i} was altered: it is not a signature any Ed25519 key could "
                "produce")
    if f.others_verify:
        return (f"the signature by {name} on entry {i} is wrong: the other signers' signatures on the same content "
                "verify, so the content is what they signed")
    if f.next_links is False:
        return (f"the content of entry {i} differs from what its signer signed: the entry was changed after it was "
                f"recorded (entry {i + 1} links to a different entry {i}), and the signature by {name} does not "
                "match it")
    return (f"entry {i} does not carry a valid signature by {name}: its content was changed after {name} signed it, "
            "or the signature itself was altered (nothing in the files tells which)")


def _signers_mismatch(i: int | None, m: re.Match[str], f: Facts) -> str | None:
    if i is None:
        return None
    lines, listed = _names(m["lines"]), _names(m["listed"])
    for name in sorted(set(lines)):
        if lines.count(name) > 1 and name in listed:
            return f"entry {i} carries {lines.count(name)} signatures by {name}, who may sign it only once"
    extra = [n for n in lines if n not in listed]
    if extra:
        return (f"entry {i} carries a signature by {_listing(extra)}, who is not listed among its signers "
                f"({_listing(listed)})")
    missing = [n for n in listed if n not in lines]
    if missing:
        return f"entry {i} has no signature by {_listing(missing)}, who is listed as its signer"
    return None


def _missing_tail(i: int | None, m: re.Match[str], f: Facts) -> str:
    have, want = int(m["have"]), int(m["want"])
    after = f"the export ends after entry {have - 1}" if have else "the export holds no entry"
    tail = f"{after}, but the checkpoint commits to {want} entries"
    if want - have == 1:
        return f"entry {have} is missing: {tail}"
    if want - have == 2:
        return f"entries {have} and {have + 1} are missing: {tail}"
    return f"entries {have} to {want - 1} are missing: {tail}"


def _base64(i: int | None, m: re.Match[str], f: Facts) -> str | None:
    if i is None:
        return None
    detail = m["detail"]
    if "padding bits" in detail:
        how = "its padding bits were altered (it decodes to the same bytes, but is not the ledger's encoding)"
    elif "\\n" in detail or "\n" in detail:
        how = "a line break was put inside it"
    else:
        how = "it holds characters that are not base64"
    return f"the base64 encoding of entry {i} was edited: {how}"


def _prev_broken(i: int) -> str:
    return (f"the chain of entries is broken at entry {i}: it does not link to entry {i - 1} as given "
            f"(entry {i - 1} was changed, or entries were removed, inserted or re-linked)")


def _role(i: int | None, m: re.Match[str], f: Facts) -> str | None:
    if i is None:
        return None
    roles = _listing(_names(m["roles"]))
    return (f"entry {i} is a {m['type']} statement signed by {m['name']}, whose roles ({roles}) the log's policy "
            f"does not allow to sign it (it needs: {_listing(_names(m['needs']))})")


def _literal(text: str) -> Callable[[int | None, re.Match[str], Facts], str | None]:
    """A fixed sentence; one about an entry says nothing when the failure names none."""
    about_entry = any(f"{{{name}}}" in text for name in ("i", "lineno", "line"))

    def say(i: int | None, m: re.Match[str], f: Facts) -> str | None:
        if about_entry and i is None:
            return None
        return text.format(i=i, lineno=(i or 0) + 1, line=_ordinal_line(i or 0), **m.groupdict())

    return say


_RULES: list[tuple[re.Pattern[str], Callable[[int | None, re.Match[str], Facts], str | None]]] = [
    (re.compile(r"^export line index out of sequence \(expected (?P<expected>\d+), found (?P<found>\d+)\)"),
     _sequence),
    (re.compile(r"^entry index out of sequence \(expected (?P<expected>\d+), found (?P<found>\d+)\)"),
     _literal("entry {expected} is numbered {found} inside its own bytes: the entry and its line in the export "
              "disagree about its position (it was renumbered)")),
    (re.compile(r"^export line ends with CR LF"), _literal(CRLF)),
    (re.compile(r"^export line starts with a byte order mark"), _literal(BOM)),
    (re.compile(r"^blank line in the export"), _literal("{line}, where entry {i} belongs, is empty")),
    (re.compile(r"^export line does not end with LF"),
     _literal("the export is cut off in the middle of its line {lineno}, where entry {i} begins: the file is "
              "incomplete")),
    (re.compile(r"^export line is longer than"),
     _literal("{line} is longer than any entry's line can be: it is not an entry")),
    (re.compile(r"^export line is not canonical JSON: not JSON"),
     _literal("{line}, where entry {i} belongs, is not an entry: it is not JSON")),
    (re.compile(r"^export line is not canonical JSON"),
     _literal("{line} (entry {i}) is not written exactly as the ledger writes it (RFC 8785 canonical JSON): it was "
              "re-formatted or edited")),
    (re.compile(r"^export line (must be|index must be|entry_b64 must be)"),
     _literal("{line} is not an export line of the ledger's form, where entry {i} belongs")),
    (re.compile(r"entry_b64 is not strict base64: (?P<detail>.*)", re.DOTALL), _base64),
    (re.compile(r"^malformed entry: entry is (?P<size>\d+) bytes, at most (?P<limit>\d+)"),
     _literal("entry {i} is {size} bytes, larger than any entry can be (at most {limit})")),
    (re.compile(r"^malformed entry: not canonical"),
     _literal("entry {i} is not written exactly as the ledger writes entries (RFC 8785 canonical JSON): it was "
              "re-encoded or edited after it was recorded")),
    (re.compile(r"^malformed entry: expected YYYY-MM-DDTHH:MM:SS\.ffffffZ, found (?P<found>.*)"),
     _literal("entry {i}'s recording time {found} is not written in the ledger's time format "
              "(YYYY-MM-DDTHH:MM:SS.ffffffZ)")),
    (re.compile(r"^malformed (entry|statement): .*not NFC-normalised"),
     _literal("entry {i} holds text that is not in Unicode normal form (NFC), which the ledger never writes: it "
              "was re-encoded or edited")),
    (re.compile(r"^malformed entry: (?P<detail>.*)"), _literal("entry {i} is not a well-formed entry: {detail}")),
    (re.compile(r"^malformed statement: note has no (blank line before its )?signatures"),
     _literal("entry {i}'s statement carries no signature")),
    (re.compile(r"^malformed statement: signature lines (?P<lines>\[.*\]) do not match the listed signers "
                r"(?P<listed>\[.*\])"), _signers_mismatch),
    (re.compile(r"^malformed statement: signature line \d+: expected 68 bytes .*found (?P<found>\d+)"),
     _literal("a signature on entry {i} is cut short or damaged ({found} bytes where a signature line holds 68)")),
    (re.compile(r"^malformed statement: statement is (?P<size>\d+) bytes, at most (?P<limit>\d+)"),
     _literal("entry {i}'s statement is {size} bytes, larger than any statement can be (at most {limit})")),
    (re.compile(r"^malformed statement: floats are not allowed, found (?P<value>.*)"),
     _literal("entry {i}'s statement holds a number with a fraction ({value}), which the ledger's format forbids")),
    (re.compile(r"^malformed statement: duplicate object key (?P<key>.*)"),
     _literal("entry {i}'s statement gives the field {key} twice, which the ledger's format forbids (readers could "
              "see different values)")),
    (re.compile(r"^malformed statement: (?P<detail>.*)"),
     _literal("entry {i}'s statement is not in the ledger's format: {detail}")),
    (re.compile(r"^(previous checkpoint: |checkpoint: )?signature by (?P<name>\S+) \([0-9a-f]{8}\) does not verify"),
     _signature),
    (re.compile(r"^checkpoint: no signature by (?P<name>\S+) \((?P<id>[0-9a-f]{8})\)"),
     _literal("the checkpoint carries no signature by the trust root (the key {id} of {name})")),
    (re.compile(r"^no signature by (?P<name>\S+) \((?P<id>[0-9a-f]{8})\)"),
     _literal("entry {i} is signed under the name {name}, but not with {name}'s registered key ({id})")),
    (re.compile(r"^more than one signature by (?P<name>\S+) "),
     _literal("entry {i} carries more than one signature by {name}")),
    (re.compile(r"^checkpoint: expected exactly 3 lines \(origin, size, root\), found (?P<found>\d+)"),
     _literal("the checkpoint's signed text has {found} lines where the ledger writes 3 (origin, size, root)")),
    (re.compile(r"^checkpoint: note has no (blank line before its )?signatures"),
     _literal("the checkpoint carries no signature")),
    (re.compile(r"^checkpoint: checkpoint origin (?P<origin>.*) differs from the trust root's name (?P<name>.*)"),
     _literal("the checkpoint is for the log {origin}, but the trust root is a key of {name}: they belong to "
              "different logs")),
    (re.compile(r"^previous checkpoint: checkpoint verifies with none of the keys"),
     _literal("the previous checkpoint is signed by none of the log's checkpoint keys")),
    (re.compile(r"^prev does not link to the previous entry"), lambda i, m, f: None if i is None else _prev_broken(i)),
    (re.compile(r"^recorded_at decreases \(expected '>= (?P<before>[^']*)', found '(?P<at>[^']*)'\)"),
     lambda i, m, f: None if i is None else (f"entry {i} is recorded at {m['at']}, earlier than entry {i - 1} "
                                             f"({m['before']}): recording times never go back")),
    (re.compile(r"^the export ends after (?P<have>\d+) entries but the checkpoint commits to (?P<want>\d+)"),
     _missing_tail),
    (re.compile(r"^trust\.unknown_key: no key is registered for (?P<name>\S+) at entry"),
     _literal("entry {i} is signed by {name}, who has no registered key at that point in the log")),
    (re.compile(r"^trust\.revoked_key: the key of (?P<name>\S+) was revoked"),
     _literal("entry {i} is signed by {name}, whose key had been revoked before it")),
    (re.compile(r"^trust\.role: (?P<name>\S+) has roles (?P<roles>\[.*\]); (?P<type>\S+) needs one of "
                r"(?P<needs>\[.*\])"), _role),
    (re.compile(r"^trust\.role: the ledger role cannot be registered"),
     _literal("entry {i} registers a key with the ledger's own role, which no principal may hold")),
    (re.compile(r"^trust\.role: ledger_key_rotation needs an administrator's signature"),
     _literal("entry {i} replaces the ledger's keys without an administrator's signature")),
    (re.compile(r"^trust\.role: blocked entries are signed by the ledger alone"),
     _literal("entry {i} is a 'blocked' entry that is not signed by the ledger alone")),
    (re.compile(r"^trust\.role: (?P<type>\S+) needs an administrator's signature too"),
     _literal("entry {i} ({type}) has no administrator's signature")),
    (re.compile(r"^trust\.proof_of_possession:"),
     _literal("entry {i} registers a key without a signature by that key: nothing shows that its holder has it "
              "(no proof of possession)")),
    (re.compile(r"^trust\.genesis: entry 0 must be genesis, found (?P<type>\S+)"),
     _literal("the log does not begin with its genesis entry: entry 0 is a {type} statement")),
    (re.compile(r"^trust\.genesis: genesis is only allowed at entry 0"),
     _literal("entry {i} is a second genesis entry: only entry 0 may be one")),
    (re.compile(r"^trust\.type: statement type (?P<type>.*) is not in the policy"),
     _literal("entry {i} is a {type} statement, a type the log's policy does not allow")),
    (re.compile(r"^trust\.expired: statement expired: not_after (?P<until>\S+) is before (?P<at>\S+)"),
     _literal("entry {i}'s statement had expired when it was recorded: valid until {until}, recorded at {at}")),
    (re.compile(r"^trust\.future: statement issued in the future: (?P<issued>\S+) vs (?P<at>\S+)"),
     _literal("entry {i} was recorded at {at}, before its statement was issued ({issued}; more than the 5 minutes "
              "of clock difference allowed)")),
    (re.compile(r"^trust\.key_reuse:"),
     _literal("entry {i} registers a public key that is already registered")),
    (re.compile(r"^trust\.name_taken: (?P<name>\S+) already has a valid key"),
     _literal("entry {i} registers a second key for {name}, who already has a valid one")),
    (re.compile(r"^(?P<rule>trust\.[a-z_]+): (?P<detail>.*)"),
     _literal("entry {i} breaks a rule of the log's trust model ({rule}): {detail}")),
    (re.compile(r"^the RFC 6962 root of the first (?P<size>\d+) entries is (?P<root>[0-9a-f]+), the checkpoint's "
                r"root is (?P<want>[0-9a-f]+)"),
     _literal("the export is not the log the checkpoint commits to: the hash of its first {size} entries differs "
              "from the checkpoint's root (entries were changed, removed, inserted or reordered and the chain "
              "rebuilt, or the checkpoint is of another log)")),
    (re.compile(r"^the log's origin \(genesis\) is (?P<log>.*), the checkpoint's is (?P<cp>.*)"),
     _literal("the export is the log {log}, but the checkpoint is for the log {cp}")),
    (re.compile(r"^the trust root .* is not one of the log's checkpoint keys"),
     _literal("the trust root is not a checkpoint key that the log itself names (in its genesis entry or a "
              "ledger key rotation): the checkpoint was signed by a key the log never declared")),
    (re.compile(r"^previous checkpoint: the export's root at size (?P<size>\d+) .*rewritten or forked"),
     _literal("the export does not extend the previous checkpoint: its first {size} entries differ from those the "
              "previous checkpoint commits to, so the log was rewritten or forked after it was signed")),
    (re.compile(r"^previous checkpoint: size (?P<old>\d+) is larger than the checkpoint's (?P<new>\d+)"),
     _literal("the previous checkpoint ({old} entries) is larger than the checkpoint ({new} entries): they were "
              "given in the wrong order, or the log was rolled back")),
    (re.compile(r"^previous checkpoint: origin (?P<old>.*) differs from (?P<new>.*)"),
     _literal("the previous checkpoint is for the log {old}, the checkpoint for {new}")),
    (re.compile(r"^consistency proof (?P<which>old_root|new_root) differs"),
     _literal("the consistency proof is not about these checkpoints: its {which} is not their root")),
    (re.compile(r"^consistency proof: (?P<which>old|new) root mismatch"),
     lambda i, m, f: ("the consistency proof does not show that the checkpoint extends the previous one: its path "
                      f"does not lead to the {'previous ' if m['which'] == 'old' else ''}checkpoint's root")),
    (re.compile(r"^consistency proof: (?P<detail>.*)"),
     _literal("the consistency proof does not show that the checkpoint extends the previous one: {detail}")),
    (re.compile(r"^inclusion proof: root mismatch"),
     _literal("the inclusion proof does not show that entry {i} is in the log the checkpoint commits to: its path "
              "does not lead to the checkpoint's root")),
    (re.compile(r"^inclusion proof: (?P<detail>.*)"),
     _literal("the inclusion proof does not show that entry {i} is in the log the checkpoint commits to: {detail}")),
    (re.compile(r"^the entry is entry (?P<entry>\d+), the proof is for entry (?P<proof>\d+)"),
     _literal("the entry given is entry {entry}, but the inclusion proof is for entry {proof}")),
    (re.compile(r"^inclusion proof leaf_hash is not the hash of the entry"),
     _literal("the inclusion proof is for other bytes than the entry given (its leaf hash differs)")),
    (re.compile(r"^(?P<what>checkpoint|previous checkpoint): (?P<detail>.*)"),
     _literal("the {what} is not a well-formed signed checkpoint: {detail}")),
    (re.compile(r"^(?P<where>key_registration|genesis administrator): attributes must be an object, found "
                r"(?P<found>\S+)"),
     lambda i, m, f: None if i is None else (f"entry {i} gives the key's attributes as "
                                             f"{_JSON_KINDS.get(m['found'], m['found'])}, where the format requires "
                                             "an object")),
    (re.compile(r"^genesis body\.(?P<field>court_clerks|agency_officials)(?P<detail>.*)"),
     lambda i, m, f: (f"the genesis entry names the log's {m['field'].replace('_', ' ')} in a form the format does not "
                      f"allow ({m['field']}{m['detail']})")),
    (re.compile(r"^unexpected error"),
     _literal("the verifier could not check entry {i} (an unexpected error, please report it): the log is not "
              "shown valid")),
]


# ---- what was not checked ------------------------------------------------------------------
def not_checked(what: str, *, previous: bool, openings: bool, witnesses: bool = False) -> list[str]:
    """What a run of ``what`` ("export", "bundle", "proofs") leaves unchecked (docs/VERIFYING.md § 3);
    ``witnesses``: a witness policy was given (--policy), so the cosignatures are checked."""
    out = []
    if what == "proofs":
        out.append("the entries themselves: no export was given, so only the checkpoint and the proofs given were "
                   "checked")
    if what == "bundle":
        out.append("that no entry was left out of the bundle: only the full export shows that every entry up to "
                   "the checkpoint's size was checked")
    if not previous and what == "export":
        out.append("consistency with an older checkpoint held by another party (--previous-checkpoint): one "
                   "checkpoint alone cannot rule out a split view, two logs shown to two parties")
    if not witnesses:
        out.append("witness cosignatures on the checkpoint")
    out += [
        "that statement ids are unique (the service refuses duplicates when appending)",
        "the bodies of § 6103 statements and whether a disclosure was lawful (the rules engine's and the audit "
        "projections' job)",
    ]
    if not openings:
        out.append("the openings of the salted commitments (names, TINs, addresses): they are in the sealed store, "
                   "not in the files checked")
    out.append("the retirement of old checkpoint keys: a checkpoint key the log once named stays acceptable as trust "
               "root")
    return out


# ---- what a result means ----------------------------------------------------------------
def meaning(exit_status: int, index: int | None, what: str = "export", committed: int | None = None,
            uncommitted: int | None = None) -> str:
    """What a result means, in the words of docs/VERIFYING.md, "What to say in court".

    ``what`` is what was verified: "export", "bundle", or "proofs" (a checkpoint and proofs alone).
    """
    if exit_status == 0:
        if what == "proofs":
            return ("Every check that was run holds: the checkpoint is signed by the trust root, and each proof given "
                    "verifies against it. No entry was checked but the one an inclusion proof names.")
        if what == "bundle":
            return (f"Every check holds: each entry of the bundle is in the log of {committed} entries that the "
                    "checkpoint commits to, unchanged, and was signed by the people it names with keys the log gave "
                    "them at that point. A bundle cannot show that no entry was left out of it; the full export can.")
        text = (f"Every check holds: the export is exactly the log of {committed} entries that the checkpoint commits "
                "to. Nothing in it was changed, removed, inserted or reordered, and every statement in it was signed "
                "by the people it names, with keys the log gave them at that point.")
        if uncommitted:
            text += (f" The last {uncommitted} entries are verified the same way but not yet committed to by the "
                     "checkpoint; a later checkpoint must cover them.")
        return text
    if exit_status == 1 and index is not None:
        return (f"The files are not an intact copy of the log the checkpoint commits to. The verification stopped at "
                f"the first entry that fails, entry {index}, for the reason given; the entries before it passed the "
                "checks made entry by entry.")
    if exit_status == 1:
        return ("The files do not hold together: the checkpoint, the export and the proofs given are not shown to be "
                "the same log, for the reason given.")
    return ("The verification could not be run: an argument is wrong, or a file is missing, unreadable or of the "
            "wrong kind. Nothing is said about the log.")
