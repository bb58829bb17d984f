"""An agency's official named at genesis from the command line (`init --agency-official NAME=AGENCY`): it
countersigns the agency's keys (`keys new --countersign`); the administrator alone registers none (a
`blocked` entry). A malformed pair is one line on standard error, exit 2, and nothing written."""

from __future__ import annotations

import json

import pytest
from clifix import cli_env, run

ORIGIN = "ledger.test.example/disclosures"


@pytest.fixture
def env(backend_url, tmp_path, monkeypatch):
    return cli_env(tmp_path, monkeypatch, backend_url)


def test_agency_keys_are_countersigned_by_their_official(env, capsys):
    code, out, err = run(capsys, "init", "--origin", ORIGIN, "--agency-official", "ice.dhs.gov/official=DHS/ICE")
    assert code == 0, err
    code, _, err = run(capsys, "keys", "new", "ice.dhs.gov/director", "--role", "requester",
                       "--attr", "agency=DHS/ICE", "--attr", "category=agency_head")
    assert code != 0 and "registration.agency_countersign" in err, err
    code, out, err = run(capsys, "keys", "new", "ice.dhs.gov/deputy", "--role", "requester",
                         "--attr", "agency=DHS/ICE", "--attr", "category=agency_head",
                         "--countersign", "ice.dhs.gov/official")
    assert code == 0, err
    assert json.loads(out)["index"] == 2  # genesis, the refused registration's blocked entry, this one
    code, out, _ = run(capsys, "keys", "list")
    assert "ice.dhs.gov/official" in out and "roles=agency_official" in out


@pytest.mark.parametrize("pair", ["ice.dhs.gov/official", "=DHS/ICE", "ice.dhs.gov/official=",
                                  "ice dhs/official=DHS/ICE", "ice.dhs.gov/official=" + "A" * 129,
                                  "ledger.test.example/disclosures/admin=DHS/ICE"])
def test_a_malformed_official_is_one_line_exit_2_and_writes_nothing(tmp_path, monkeypatch, capsys, pair):
    cli_env(tmp_path, monkeypatch)
    code, out, err = run(capsys, "init", "--origin", ORIGIN, "--agency-official", pair)
    assert code == 2 and out == "", (code, out, err)
    assert len(err.strip().splitlines()) == 1 and "--agency-official" in err and "Traceback" not in err, err
    written = list((tmp_path / "var").rglob("*")) if (tmp_path / "var").exists() else []
    assert written == [], written


def test_one_name_twice_at_genesis_is_refused(tmp_path, monkeypatch, capsys):
    cli_env(tmp_path, monkeypatch)
    code, _, err = run(capsys, "init", "--origin", ORIGIN, "--court-clerk", "gov.example/clerk=D. Mass.",
                       "--agency-official", "gov.example/clerk=DHS/ICE")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "named twice" in err, err
