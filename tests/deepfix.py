"""A small ledger written through the disclosure service, with every kind of row `verify --deep` checks:
openings sealed one by one and in bulk chunks' groups, pseudonyms of a plain and of a bulk match result
and of an inspection, the openings of a statement a rule refused, an erasure (of a bulk line, so that a
group is sealed again), checkpoints; and, in the same database, the projections' tables and the API's
(tokens, sessions, rate counts), so that a test can account for every table there is."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from domainfix import CIVIL, CRIMINAL, Domain, one_line_request, open_domain

from demo import bulk_story
from ledger.authoring import disclosure as dc
from ledger.config import Settings
from ledger.core.statement import parse_statement
from ledger.domain.bulk import read_chunks
from ledger.domain.masterfile import MasterFile
from ledger.domain.matching import MatcherPrincipal
from ledger.domain.refusals import RuleRefusal
from ledger.domain.service import DisclosureService
from ledger.sealed import SealedKeys, SealedStore

BULK_LINES = 300  # three chunks of 128 lines (the last one short)
AGENCY = "DHS/ICE"


@dataclass
class DeepLedger:
    """The built ledger, its service and keys, and what the environment of the CLI must say."""

    domain: Domain
    service: DisclosureService
    keys: SealedKeys
    settings: Settings
    env: dict[str, str]  # LEDGER_VAR, LEDGER_DB_URL, LEDGER_SEALED_KEY_DIR for `disclosure-ledger`
    inspection_index: int
    match_index: int  # a plain (not bulk) match result

    def close(self) -> None:
        self.service.sealed.close()
        self.domain.ledger.close()


def settings_for(url: str, var: Path) -> Settings:
    """The settings `disclosure-ledger` reads with LEDGER_VAR=var and LEDGER_DB_URL=url."""
    return Settings(url, var / "service-keys", var / "service-keys" / "last-checkpoint.txt")


def build_deep_ledger(url: str, var: Path, extras: bool = True) -> DeepLedger:
    """Build the ledger at ``url`` (keys under ``var``); ``extras``: also the projections' and API's tables."""
    settings = settings_for(url, var)
    d = open_domain(settings)
    keys = SealedKeys.generate(var / "sealed-keys")
    service = DisclosureService(d.ledger, SealedStore(url, keys), keys)
    people = bulk_story.register(service, d.admin)
    master = MasterFile.generate(300, 11)
    story = bulk_story.run(service, people, master, BULK_LINES, var, seed=7)

    # A plain request and its match result: pseudonyms of single (not grouped) openings.
    ice = people["ice.dhs.gov/acting-director"]
    records = list(master.records)[:3]
    req = dc.request(ice, exception="6103(i)(2)", agency=AGENCY, statute=CRIMINAL, purpose="criminal_investigation",
                     purpose_text="fictional purpose", fields=["name", "address"],
                     recipients=[dc.Recipient("Agent A", AGENCY, True, True, 2, principal="ice.dhs.gov/ero-agent-0")],
                     lines=[dc.Line(r.tin, r.name, r.address, ("2024",), "open case") for r in records],
                     case_ids=["FICT-9"], seed=service.issue_seed(ice.name, "request"))
    service.submit(req.note, req.openings)
    matcher = MatcherPrincipal(people["irs.gov/matcher"], master)
    match = matcher.match_request(parse_statement(req.note), {o.commitment: o for o in req.openings},
                                  seed=service.issue_seed(matcher.key.name, "match_result"))
    match_index = service.submit(match.note, match.openings).index

    # A request a rule refuses: its openings stay sealed (for audit), its statement is not in the log.
    try:
        refused = one_line_request(ice, statute=CIVIL, seed=service.issue_seed(ice.name, "request"))
        service.submit(refused.note, refused.openings)
        raise AssertionError("the civil-statute request was not refused")
    except RuleRefusal:
        pass

    # An inspection: the subject's pseudonym is stored as line 0.
    auditor = people["tigta.gov/auditor-02"]
    read = dc.inspection(auditor, view="taxpayer_history", subject_pseudonym=keys.pseudonym(records[0].tin),
                         role="oversight", purpose="review (fictional)",
                         seed=service.issue_seed(auditor.name, "inspection"))
    inspection_index = service.submit(read.note, read.openings).index

    # An erasure of one bulk line's openings: its chunk's group is sealed again without them.
    chunk = next(c for _, c in read_chunks(d.ledger, d.engine.state.parts[story.request_id]))
    line = chunk.envelope["body"]["lines"][1]
    gone = [line[f] for f in ("tin", "name", "address", "reason") if isinstance(line.get(f), str)]
    admins = [d.admin, d.principal("ledger.test.example/admin-2", ["administrator"])]
    erasure = dc.erasure(admins, story.request_id, gone, "retention_expired")
    service.submit(erasure.note, erasure.openings)
    d.ledger.checkpoint()

    env = {"LEDGER_VAR": str(var), "LEDGER_DB_URL": url, "LEDGER_SEALED_KEY_DIR": str(var / "sealed-keys")}
    if extras:
        _other_tables(url)
    return DeepLedger(d, service, keys, settings, env, inspection_index, match_index)


def _other_tables(url: str) -> None:
    """The projections' tables (caught up) and the API's (a token, its session, a rate count)."""
    from api.ratelimit import LookupLimit
    from api.tokens import Principal, TokenStore
    from api.web.session import WebStore
    from projections.db import open_database
    from projections.runner import Runner
    from projections.source import LogSource

    db = open_database(url)
    runner = Runner(LogSource(db, grace=timedelta(0)), db)
    runner.create()
    runner.catch_up()
    db.engine.dispose()
    tokens = TokenStore(url)
    try:
        _, row = tokens.create("tigta.gov/auditor-02", "oversight", timedelta(days=1))
        LookupLimit(tokens, 10, 60.0).take(row.token_id)
        WebStore(tokens).create(Principal(row.token_id, row.principal, row.role, row.expires_at))
    finally:
        tokens.close()


def cli_environment(built: DeepLedger) -> dict[str, Any]:
    """``os.environ`` as the CLI must see it (the sealed keys by directory, no key-file variables)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("LEDGER_SEALED_KEY_FILE", "LEDGER_PSEUDONYM_KEY_FILE", "LEDGER_KEYRING")}
    env.update(built.env)
    return env
