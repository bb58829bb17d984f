"""ledger.core.tlog_policy: c2sp.org/tlog-policy files parsed exactly, quorums evaluated."""

from __future__ import annotations

import pytest

from ledger.core.cosignature import CosignerSigner
from ledger.core.errors import PolicyError
from ledger.core.keys import SignerKey
from ledger.core.tlog_policy import MAX_DEFINITIONS, parse_policy

LOG = SignerKey("log.example/disclosures", bytes([7]) * 32).verifier
W = [CosignerSigner(f"w{i}.example/w", bytes([i + 10]) * 32).verifier for i in range(6)]


def policy(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def test_flat_two_of_three() -> None:
    """A k-of-n group as quorum: two of three cosignatures meet it, one does not."""
    p = parse_policy(policy(f"log {LOG}", *(f"witness W{i} {W[i]}" for i in range(3)), "group g 2 W0 W1 W2",
                            "quorum g"))
    assert p.log_keys == [LOG]
    assert p.satisfied({"W0", "W2"}) and not p.satisfied({"W1"})
    assert p.max_faulty_witnesses_tolerated() == 0
    assert p.describe() == "g = 2 of 3 (W0, W1, W2)"


def test_quorum_none_needs_nothing_and_logs_may_be_absent() -> None:
    """'quorum none' is met by no cosignature; a policy may list no log."""
    p = parse_policy("quorum none\n")
    assert p.satisfied(set()) and p.logs == ()


def test_single_witness_quorum_and_any_all() -> None:
    """A witness as quorum; 'any' is 1 and 'all' is n."""
    p = parse_policy(policy(f"witness a {W[0]}", f"witness b {W[1]}", "group any-of any a b", "group all-of all a b",
                            "quorum a"))
    assert p.satisfied({"a"}) and not p.satisfied({"b"})
    assert p.satisfied({"b"}, "any-of") and not p.satisfied({"b"}, "all-of")


def test_whitespace_comments_urls_and_no_final_newline() -> None:
    """Tabs and spaces separate items; comments and blank lines are skipped; URLs are kept."""
    p = parse_policy(f"  # comment\n\t\nlog\t{LOG}  https://log.example\nwitness  a {W[0]} https://w.example\t\n"
                     "quorum a")
    assert p.logs[0].url == "https://log.example" and p.witnesses[0].url == "https://w.example"


def test_names_are_opaque_octets() -> None:
    """'K' and the Kelvin sign are two names; non-ASCII names work."""
    p = parse_policy(policy(f"witness K {W[0]}", f"witness \u212a {W[1]}", "group g all K \u212a", "quorum g"))
    assert [w.name for w in p.witnesses] == ["K", "\u212a"]


@pytest.mark.parametrize(("text", "match"), [
    ("", "no quorum line"),
    ("quorum a\n", "not a witness or group defined"),
    ("quorum none\nquorum none\n", "exactly one quorum"),
    (f"witness none {W[0]}\nquorum none\n", "predefined"),
    (f"witness a {W[0]}\nwitness a {W[1]}\nquorum a\n", "already defined"),
    (f"witness a {W[0]}\nwitness b {W[0]}\nquorum a\n", "same public key"),
    (f"log {LOG}\nlog {LOG}\nquorum none\n", "same public key"),
    (f"witness a {W[0]}\ngroup g 2 a\nquorum g\n", "more than its 1 members"),
    (f"witness a {W[0]}\ngroup g 0 a\nquorum g\n", "threshold"),
    (f"witness a {W[0]}\ngroup g 01 a\nquorum g\n", "threshold"),
    (f"witness a {W[0]}\ngroup g any\nquorum g\n", "at least one member"),
    (f"witness a {W[0]}\ngroup g any a a\nquorum g\n", "listed twice"),
    (f"witness a {W[0]}\ngroup g any a none\nquorum g\n", "'none' cannot be a member"),
    (f"group g any a\nwitness a {W[0]}\nquorum g\n", "not defined on an earlier line"),
    (f"witness a {W[0]}\ngroup a any a\nquorum a\n", "already defined"),
    (f"witnesses a {W[0]}\nquorum none\n", "unknown keyword"),
    (f"witness a {LOG}\nquorum none\n", "cosignature/v1"),
    (f"log {W[0]}\nquorum none\n", "type 0x04 is not supported"),
    (f"witness a {W[0]} url extra\nquorum none\n", "expected 'witness"),
    ("quorum none\r\n", "0x0d"),
    ("quorum\x00 none\n", "0x00"),
], ids=lambda x: x[:30] if isinstance(x, str) else None)
def test_malformed_policies_are_refused_naming_the_line(text: str, match: str) -> None:
    """Each rule of the spec is enforced with a PolicyError that names the line and the fault."""
    with pytest.raises(PolicyError, match=match):
        parse_policy(text)


def test_policy_error_names_the_line_number() -> None:
    """The error names the line where the fault is."""
    with pytest.raises(PolicyError, match="policy line 3"):
        parse_policy(f"# a\nwitness a {W[0]}\ngroup g 5 a\nquorum g\n")


def test_limits() -> None:
    """At least 32 witnesses and groups (the spec's recommendation) parse; past our cap is refused."""
    keys = [CosignerSigner(f"w{i}.example/w", i.to_bytes(2, "big") * 16).verifier for i in range(40)]
    lines = [f"witness w{i} {k}" for i, k in enumerate(keys)] + [f"group g{i} any w{i}" for i in range(40)]
    p = parse_policy("\n".join([*lines, "group all all " + " ".join(f"g{i}" for i in range(40)), "quorum all"]))
    assert len(p.witnesses) == 40 and len(p.groups) == 41
    with pytest.raises(PolicyError, match=str(MAX_DEFINITIONS)):
        parse_policy("\n".join(f"group g{i} any w0" for i in range(MAX_DEFINITIONS + 1)).replace(
            "group g0", f"witness w0 {keys[0]}\ngroup g0") + "\nquorum none\n")


def test_witnesses_not_in_compares_public_keys() -> None:
    """A shipped policy's witness under another name but the same key is known; another key is not."""
    pinned = parse_policy(policy(f"witness tigta {W[0]}", f"witness gao {W[1]}", "quorum none"))
    shipped = parse_policy(policy(f"witness TIGTA-1 {W[0]}", f"witness irs-own {W[5]}", "quorum none"))
    assert [w.name for w in shipped.witnesses_not_in(pinned)] == ["irs-own"]
