"""A hypothesis state machine submits validly signed statements with mutated fields and sequences
over HTTP, and checks that the log only ever changes as docs/FORMAT.md § 7.8 allows."""

from __future__ import annotations

import uuid

import pytest
from apifix import open_api
from domainfix import AGENCY, CIVIL, CRIMINAL
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule
from storefix import drop_schema, make_settings, postgres_base_url

from ledger.authoring import disclosure as dc
from ledger.authoring.trust import signed
from ledger.core.entry import parse_entry
from ledger.core.keys import SignerKey
from ledger.core.statement import parse_statement

EXCEPTIONS = ["6103(i)(2)", "6103(i)(1)", "6103(h)(2)", "6103(c)", "6103(zz)"]
STATUTES = [CRIMINAL, CIVIL, None, "26 USC 7201", "not a statute"]
PURPOSES = ["criminal_investigation", "civil_enforcement", "tax_administration"]
FIELDS = [["name", "address"], ["address"], ["tin"], ["return"], ["bogus field"]]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shared(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stateful")
    if request.param == "sqlite":
        a, close = open_api(make_settings(f"sqlite:///{tmp}/ledger.sqlite3", tmp))
        yield a
        close()
        return
    base = postgres_base_url()
    schema = "t_" + uuid.uuid4().hex[:16]
    a, close = open_api(make_settings(f"{base}?schema={schema}", tmp))
    yield a
    close()
    drop_schema(base, schema)


def _body(exception: str, statute: str | None, purpose: str, fields: list[str], tin: str, address: str | None) -> dict:
    return {"exception": exception, "statute": statute, "purpose": purpose, "fields": fields, "tin": tin,
            "address": address}


def test_log_changes_only_as_contract_point_11_allows(shared):
    """Accepted: one entry; rule refusal: one blocked entry; other refusals: nothing; resubmission: same index."""
    api = shared
    stranger = SignerKey.generate("stranger.example.gov/nobody")
    seen: list[int] = []

    class Ledger(RuleBasedStateMachine):
        sent = Bundle("sent")

        def __init__(self) -> None:
            super().__init__()
            self.size = api.ledger.size()
            self.root_size, self.root = self.size, api.ledger.root_at(self.size)
            self.refused = api.row_counts()["dl_refused"]
            self.outcomes: dict[str, int | None] = {}  # statement id -> index stored, or None

        def _post(self, payload: dict, statement_id: str | None) -> None:
            r = api.client.post("/v1/statements", json=payload)
            assert r.status_code < 500, r.text
            seen.append(r.status_code)
            size, refused = api.ledger.size(), api.row_counts()["dl_refused"]
            body = r.json()
            if r.status_code == 201:
                assert size == self.size + 1 and refused == self.refused and body["index"] == self.size
                stored = parse_entry(api.ledger.entry(body["index"])).statement
                assert stored == payload["statement"]
                self.outcomes[body["statement_id"]] = body["index"]
            elif r.status_code == 200:
                assert (size, refused) == (self.size, self.refused)
                assert body["duplicate"] and self.outcomes.get(body["statement_id"]) == body["index"]
            elif r.status_code == 422 and "rules" in body:
                assert size == self.size + 1 and refused == self.refused + 1 and body["blocked_index"] == self.size
                blocked = parse_statement(parse_entry(api.ledger.entry(self.size)).statement)
                assert blocked.type == "blocked" and blocked.body["statement_id"] == body["statement_id"]
                self.outcomes[body["statement_id"]] = None
            else:
                assert 400 <= r.status_code < 500 and r.headers["content-type"] == "application/problem+json"
                assert (size, refused) == (self.size, self.refused), (r.status_code, body)
            self.size, self.refused = size, refused

        @rule(target=sent, exception=st.sampled_from(EXCEPTIONS), statute=st.sampled_from(STATUTES),
              purpose=st.sampled_from(PURPOSES), fields=st.sampled_from(FIELDS),
              tin=st.from_regex(r"9[0-9]{2}-7[0-9]-[0-9]{4}", fullmatch=True),
              address=st.sampled_from(["1 Elm St, Boston, MA 02110", "Failed to Provide", "NA NA", None]))
        def submit_request(self, exception, statute, purpose, fields, tin, address):
            sub = dc.request(api.requester, exception=exception, agency=AGENCY, statute=statute, purpose=purpose,
                             purpose_text="fictional", fields=fields,
                             recipients=[dc.Recipient("Agent A", AGENCY, True, True, 2)],
                             lines=[dc.Line(tin, "Fictional Person", address, ("2024",), "reason")],
                             case_ids=["FICT-1"], court_order=None, seed=api.seed(api.requester))
            payload = api.submission(sub)
            self._post(payload, sub.statement_id)
            return payload

        @rule(target=sent, tin=st.from_regex(r"9[0-9]{2}-7[0-9]-[0-9]{4}", fullmatch=True))
        def submit_valid_request(self, tin):
            payload = api.submission(api.request(tin=tin))
            self._post(payload, None)
            return payload

        @rule(payload=sent)
        def resubmit(self, payload):
            self._post(payload, None)

        @rule(payload=sent, at=st.integers(min_value=0, max_value=10_000), char=st.sampled_from("0aZ}\"\\ "))
        def tamper_with_signed_text(self, payload, at, char):
            note = payload["statement"]
            i = at % len(note)
            self._post({**payload, "statement": note[:i] + char + note[i + 1:]}, None)

        @rule(payload=sent, drop=st.integers(min_value=0, max_value=20))
        def drop_an_opening(self, payload, drop):
            openings = list(payload["openings"])
            if openings:
                openings.pop(drop % len(openings))
            self._post({**payload, "openings": openings}, None)

        @rule(payload=sent)
        def reuse_the_id_for_another_statement(self, payload):
            sid = parse_statement(payload["statement"]).id
            self._post({"statement": signed([api.requester], "withdrawal", {"request": sid}, statement_id=sid)}, sid)

        @rule(kind=st.sampled_from(["withdrawal", "review", "court_order", "no_such_type"]),
              body=st.dictionaries(st.sampled_from(["request", "lines", "kind", "x"]),
                                   st.one_of(st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=8),
                                             st.integers(-3, 3), st.none()), max_size=3))
        def signed_odd_statement(self, kind, body):
            # (No control characters: a note containing one cannot be signed at all — C2SP signed-note
            # text has none but newlines, and JCS leaves U+007F and C1 controls unescaped.)
            self._post({"statement": signed([api.requester], kind, body, statement_id=str(uuid.uuid4()))}, None)

        @rule()
        def stranger_signs(self):
            self._post({"statement": signed([stranger], "withdrawal", {"request": "r"})}, None)

        @invariant()
        def history_never_changes(self):
            assert api.ledger.root_at(self.root_size) == self.root  # what was stored stays as it was
            self.root_size, self.root = self.size, api.ledger.root_at(self.size)

    Ledger.TestCase.settings = settings(max_examples=15, stateful_step_count=12, deadline=None, derandomize=True,
                                        suppress_health_check=list(HealthCheck))
    Ledger.TestCase().runTest()
    assert {201, 200, 422, 400, 403, 409} <= set(seen), sorted(set(seen))  # every kind of outcome was exercised
