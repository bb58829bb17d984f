"""Every statement a person signs can be signed from the command line: `client KIND --example` prints a
complete input, the input signs as printed (ids filled in), and the ledger accepts it where its state
allows — the whole (i)(2) lifecycle and its side statements on one SQLite ledger. A mistake in an input
is one line naming the file, the field or the value, exit 2, and nothing is signed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clifix import cli_env, ok, run

ORIGIN = "ledger.test.example/disclosures"
# Every statement a person signs, by its `client` subcommand (keys and policy statements: `keys …`).
KINDS = {"request", "review", "release", "court-order", "attestation", "safeguard-status", "withdrawal",
         "supporting-document", "receipt", "disposition", "use-freeze", "vacatur", "correction",
         "return-for-correction", "inspection", "erasure"}
SEEDED = {"correction": "correction", "inspection": "inspection"}  # the kinds that commit: their seed's type
PRINCIPALS = {
    "ice.dhs.gov/director": ("requester", ["agency=DHS/ICE", "category=agency_head"]),
    "irs.gov/matcher": ("matcher", ["agency=IRS"]),
    "irs.gov/disclosure/officer-0042": ("reviewer", ["agency=IRS"]),
    "irs.gov/disclosure/records-0051": ("reviewer", ["agency=IRS"]),  # records documents: not their approver
    "irs.gov/disclosure/releaser-7": ("releaser", ["agency=IRS"]),
    "ice.dhs.gov/agent-0": ("recipient", ["agency=DHS/ICE", "countersign=ice.dhs.gov/director"]),
    "tigta.gov/auditor-1": ("oversight", ["agency=TIGTA"]),
    "uscourts.gov/dcd/judge-1": ("court", ["court=D.D.C.", "countersign=uscourts.gov/dcd/clerk"]),
    f"{ORIGIN}/admin-2": ("administrator", []),
}


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return cli_env(tmp_path, monkeypatch)


def example(capsys, kind: str) -> object:
    """The JSON part of `client KIND --example` (its '#' lines are the commands around it)."""
    out = ok(capsys, "client", kind, "--example")
    if kind == "request":  # the steps, then the spec
        return json.loads(out.split("# spec.json (fictional):\n")[1])
    return json.loads("\n".join(x for x in out.splitlines() if not x.startswith("#")))


def fill(value: object, ids: dict[str, str]) -> object:
    text = json.dumps(value)
    for placeholder, real in ids.items():
        text = text.replace(placeholder, real)
    return json.loads(text)


def submit(capsys, env: Path, submission: str) -> dict:
    path = env / "submission.json"
    path.write_text(submission)
    return json.loads(ok(capsys, "submit", str(path)))


def seed(capsys, env: Path, key: str, type_: str) -> Path:
    (env / "seed-request.txt").write_text(ok(capsys, "client", "seed-request", "--key", key, "--type", type_,
                                             "--origin", ORIGIN))
    (env / "seed.json").write_text(ok(capsys, "salt-seed", str(env / "seed-request.txt")))
    return env / "seed.json"


def sign_kind(capsys, env: Path, kind: str, key: str, ids: dict[str, str], *extra: str) -> str:
    """`client KIND --input` on the example, ids filled in (and a seed for the kinds that take one)."""
    path = env / f"{kind}.json"
    path.write_text(json.dumps(fill(example(capsys, kind), ids)))
    argv = ["client", kind, "--key", key, "--input", str(path), *extra]
    if kind in SEEDED:
        argv += ["--seed", str(seed(capsys, env, key, SEEDED[kind]))]
    return ok(capsys, *argv)


def file_request(capsys, env: Path) -> tuple[str, dict]:
    """The request of `client request --example`, signed and submitted: its id and its submission."""
    out = ok(capsys, "client", "request", "--example")
    (env / "spec.json").write_text(out.split("# spec.json (fictional):\n")[1])
    seed_file = seed(capsys, env, "ice.dhs.gov/director", "request")
    sub = ok(capsys, "client", "request", "--key", "ice.dhs.gov/director", "--spec", str(env / "spec.json"),
             "--seed", str(seed_file))
    return submit(capsys, env, sub)["id"], json.loads(sub)


def match(env: Path, request_id: str) -> None:
    """The matcher's result for the example request: three lines matched on name and address, the
    placeholder line not usable (the matcher's own command is `disclosure-ledger matcher run`)."""
    from ledger.authoring.trust import signed
    from ledger.bootstrap import open_ledger
    from ledger.client.keyring import Keyring
    from ledger.config import Settings
    from ledger.core.commitments import commit

    matcher = Keyring(env / "var" / "keyring").get("irs.gov/matcher")
    lines = [{"line": k, "matched": True, "match_basis": ["address", "name", "tin"] if k < 3 else ["name", "tin"],
              "method": "TIN+NAME+ADDRESS" if k < 3 else "TIN+NAME",
              "address_class": "street" if k < 3 else "placeholder", "address_usable": k < 3,
              "irs_address_differs": False, "taxpayer": commit("tin", f"90070000{k + 1}").commitment}
             for k in range(4)]
    with open_ledger(Settings.from_env(None, env / "var")) as ledger:
        ledger.append(signed([matcher], "match_result", {"request": request_id, "matcher_version": "m-1",
                                                         "address_rules_version": "a-1", "lines": lines,
                                                         "red_flags": []}))


def test_every_statement_kind_has_an_example_that_signs_and_is_accepted(env, capsys):
    ok(capsys, "init", "--origin", ORIGIN, "--court-clerk", "uscourts.gov/dcd/clerk=D.D.C.")
    for name, (role, attrs) in PRINCIPALS.items():
        flags = [f for x in attrs for f in (("--countersign", x.split("=", 1)[1]) if x.startswith("countersign=")
                                            else ("--attr", x))]
        ok(capsys, "keys", "new", name, "--role", role, *flags)
    admin = f"{ORIGIN}/admin"
    accepted: set[str] = set()

    def accept(kind: str, submission: str) -> str:
        appended = submit(capsys, env, submission)
        assert not appended["duplicate"]
        accepted.add(kind)
        return str(appended["id"])

    request, request_sub = file_request(capsys, env)
    match(env, request)
    ids = {"REQUEST-ID": request}
    (env / "decisions.json").write_text(json.dumps(example(capsys, "review")))
    queue = [json.loads(x) for x in ok(capsys, "officer", "queue").splitlines()]
    assert queue[0]["waits_for"] == ["review"] and queue[0]["red_flags"] == ["unusable_address"]
    review = accept("review", ok(capsys, "client", "review", "--key", "irs.gov/disclosure/officer-0042",
                                 "--request", request, "--decisions", str(env / "decisions.json"),
                                 *[a for f in queue[0]["red_flags"] for a in ("--flag", f)]))
    ids["REVIEW-ID"] = review
    queue = [json.loads(x) for x in ok(capsys, "officer", "queue").splitlines()]
    assert queue[0]["waits_for"] == ["recipient_attestation:0", "safeguard_status:DHS/ICE", "release"]
    accept("attestation", sign_kind(capsys, env, "attestation", "ice.dhs.gov/agent-0", ids))
    accept("safeguard-status", sign_kind(capsys, env, "safeguard-status", "tigta.gov/auditor-1", ids))
    (env / "warrant.pdf").write_bytes(b"%PDF fictional")
    accept("supporting-document", sign_kind(capsys, env, "supporting-document", "irs.gov/disclosure/records-0051",
                                            ids))
    assert json.loads(ok(capsys, "officer", "queue"))["waits_for"] == ["release"]
    release_example = ok(capsys, "client", "release", "--example")
    assert "--lines 0,1,2" in release_example and "--file delivered.csv" in release_example
    (env / "delivered.csv").write_text("line,name,address\n0,Fictional One,1 Elm St\n")
    release = accept("release", ok(capsys, "client", "release", "--key", "irs.gov/disclosure/releaser-7",
                                   "--request", request, "--review", review, "--lines", "0,1,2",
                                   "--fields", "name,address", "--recipients", "0",
                                   "--file", str(env / "delivered.csv")))
    ids["RELEASE-ID"] = release
    assert ok(capsys, "officer", "queue") == ""  # released: nothing waits
    accept("receipt", sign_kind(capsys, env, "receipt", "ice.dhs.gov/agent-0", ids))
    accept("disposition", sign_kind(capsys, env, "disposition", "ice.dhs.gov/agent-0", ids))
    accept("correction", sign_kind(capsys, env, "correction", "irs.gov/disclosure/officer-0042", ids))
    accept("inspection", sign_kind(capsys, env, "inspection", "tigta.gov/auditor-1", ids))

    (env / "covers.json").write_text(json.dumps(example(capsys, "court-order")))
    order = accept("court-order", ok(capsys, "client", "court-order", "--key", "uscourts.gov/dcd/judge-1",
                                     "--kind", "injunction", "--court", "D.D.C.", "--docket", "1:26-cv-00042",
                                     "--covers", str(env / "covers.json"), "--forbids", "release,use",
                                     "--seed", str(seed(capsys, env, "uscourts.gov/dcd/judge-1", "court_order"))))
    ids["ORDER-ID"] = order
    accept("use-freeze", sign_kind(capsys, env, "use-freeze", "ice.dhs.gov/agent-0", ids))
    accept("vacatur", sign_kind(capsys, env, "vacatur", "uscourts.gov/dcd/judge-1", ids))
    from ledger.core.statement import parse_statement

    ids["a1b2c3d4" * 8] = parse_statement(request_sub["statement"]).body["purpose_text"]
    accept("erasure", sign_kind(capsys, env, "erasure", admin, ids, "--cosign", f"{ORIGIN}/admin-2"))

    returned, _ = file_request(capsys, env)
    accept("return-for-correction", sign_kind(capsys, env, "return-for-correction",
                                              "irs.gov/disclosure/officer-0042", {"REQUEST-ID": returned}))
    withdrawn, _ = file_request(capsys, env)
    accept("withdrawal", sign_kind(capsys, env, "withdrawal", "ice.dhs.gov/director", {"REQUEST-ID": withdrawn}))
    assert accepted == KINDS - {"request"}  # the request was filed (and accepted) three times above
    assert ok(capsys, "verify").startswith("ok: ")


def test_every_example_signs_as_printed_and_docs_client_shows_it(env, capsys):
    """Each `--example` input signs as it is printed (placeholder ids are valid ids), and docs/CLIENT.md
    shows the same input under the kind's heading."""
    import re

    from ledger.client.keyring import Keyring

    Keyring(env / "keyring").new("K")
    (env / "warrant.pdf").write_bytes(b"%PDF fictional")
    (env / "delivered.csv").write_text("line,name\n")
    docs = (Path(__file__).resolve().parents[2] / "docs" / "CLIENT.md").read_text(encoding="utf-8")
    sections = dict(re.findall(r"### `client ([a-z-]+)`\n(.*?)(?=\n### |\Z)", docs, re.S))
    assert set(sections) == KINDS
    for kind in sorted(KINDS - {"release"}):
        shown = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", sections[kind], re.S)]
        assert shown == [example(capsys, kind)], kind
    for kind in sorted(KINDS - {"request", "review", "release", "court-order"} - set(SEEDED)):
        (env / "input.json").write_text(json.dumps(example(capsys, kind)))
        out = ok(capsys, "--keyring", str(env / "keyring"), "client", kind, "--key", "K", "--input",
                 str(env / "input.json"))
        assert set(json.loads(out)) == {"statement", "openings"}


ERRORS = [
    # (kind, input, what the one line names)
    ("attestation", None, "no-such-input.json"),
    ("attestation", {"request": "r-1"}, "missing field 'recipient'"),
    ("attestation", {"request": "r-1", "recipient": "0"}, "field 'recipient': expected a non-negative integer"),
    ("attestation", {"request": "r-1", "recipient": 0, "recipent": 1}, "unknown field 'recipent'"),
    ("safeguard-status", {"agency": "DHS/ICE", "ssr_approved": "yes", "open_findings": 0,
                          "cap_implementation_date": None}, "field 'ssr_approved': expected true or false"),
    ("safeguard-status", {"agency": "DHS/ICE", "ssr_approved": True, "open_findings": 0,
                          "cap_implementation_date": "next week"}, "cap_implementation_date: expected YYYY-MM-DD"),
    ("disposition", {"release": "r-1", "disposition": "shredded", "count": 3},
     "disposition: expected returned, destroyed or retained"),
    ("supporting-document", {"request": "r-1", "kind": "felony_warrant", "file": "no-such-warrant.pdf"},
     "field 'file': cannot read the file 'no-such-warrant.pdf'"),
    ("withdrawal", [], "expected a JSON object"),
]


@pytest.mark.parametrize(("kind", "value", "named"), ERRORS)
def test_a_mistake_in_an_input_is_one_line_naming_it(env, capsys, kind, value, named):
    from ledger.client.keyring import Keyring

    Keyring(env / "keyring").new("x.example/someone")
    path = env / "input.json" if value is not None else env / "no-such-input.json"
    if value is not None:
        path.write_text(json.dumps(value))
    code, out, err = run(capsys, "--keyring", str(env / "keyring"), "client", kind, "--key", "x.example/someone",
                         "--input", str(path))
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert named in err and str(path) in err


@pytest.mark.parametrize("argv", [
    ["client", "review", "--key", "K", "--request", "r-1", "--decisions", "no-such-decisions.json"],
    ["client", "release", "--key", "K", "--request", "r-1", "--review", "v-1", "--lines", "0", "--fields", "name",
     "--file", "no-such-delivered.csv"],
    ["client", "release", "--key", "K", "--request", "r-1", "--review", "v-1", "--lines", "zero", "--fields",
     "name", "--file", "x"],
    ["client", "request", "--key", "K", "--spec", "no-such-spec.json", "--seed", "seed.json"],
    ["client", "attestation", "--key", "no.such/key", "--input", "x.json"],
    ["submit", "no-such-submission.json"],
])
def test_a_misspelt_path_or_value_is_one_line_exit_2(env, capsys, argv):
    from ledger.client.keyring import Keyring

    Keyring(env / "keyring").new("K")
    (env / "x.json").write_text("{}")
    code, _, err = run(capsys, "--keyring", str(env / "keyring"), *argv)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    named = next(a for a in argv if a.startswith(("no-such", "no.such", "zero")))
    assert named in err


def test_a_request_spec_with_a_wrong_type_names_the_file_and_field(env, capsys):
    ok(capsys, "init", "--origin", ORIGIN)
    ok(capsys, "keys", "new", "ice.dhs.gov/director", "--role", "requester", "--attr", "agency=DHS/ICE",
       "--attr", "category=agency_head")
    spec = json.loads(ok(capsys, "client", "request", "--example").split("# spec.json (fictional):\n")[1])
    spec["recipients"][0]["caseload"] = "3"
    (env / "spec.json").write_text(json.dumps(spec))
    seed_file = seed(capsys, env, "ice.dhs.gov/director", "request")
    code, out, err = run(capsys, "client", "request", "--key", "ice.dhs.gov/director", "--spec",
                         str(env / "spec.json"), "--seed", str(seed_file))
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert str(env / "spec.json") in err and "recipients[0].caseload" in err
