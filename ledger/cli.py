"""The `disclosure-ledger` command (operator and administrator side).

The service's own keys live in the key directory; principals' keys live in the
local keyring (--keyring), which the service never reads.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from ledger.authoring.batch import Batch, batch_from_json, complete_notes, is_batch
from ledger.authoring.trust import countersign, key_registration, key_revocation, key_rotation
from ledger.bootstrap import open_ledger
from ledger.client import cli as client_cli
from ledger.client.keyring import Keyring
from ledger.commands import accounting as accounting_cli
from ledger.commands import db_check
from ledger.commands import escrow as escrow_cli
from ledger.commands import init as init_cli
from ledger.commands import keys as keys_cli
from ledger.commands import matcher as matcher_cli
from ledger.commands import officer as officer_cli
from ledger.commands import release as release_cli
from ledger.commands import seed as seed_cli
from ledger.commands.publish import against_witnesses, predecessor, print_published, witness_request
from ledger.config import ConfigError, Settings, private_files
from ledger.core.commitments import Opening
from ledger.core.errors import LedgerError
from ledger.core.keys import SignerKey, check_key_name, parse_vkey
from ledger.core.readable import decoded_export
from ledger.domain.refusals import AppendRefused, RuleRefusal
from ledger.domain.seeds import SeedRefused
from ledger.policy import DEFAULT_POLICY
from ledger.store.checkpoints import against_outside_copy
from ledger.store.ledger import Ledger
from ledger.store.rotation import retire_old_checkpoint_keys, rotate_ledger_keys
from ledger.witness import cli as witness_cli


def _progress(total: int, desc: str) -> Any:
    try:
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit="entry", file=sys.stderr, disable=total < 10_000)
    except ImportError:  # pragma: no cover
        return None


def _write_decoded(export: Path, out: Path) -> None:
    """The export's readable companion, from the export file itself: what `verify_ledger.py --export
    FILE --show all` prints, byte for byte."""
    with open(export, "rb") as src, open(out, "w", encoding="utf-8") as dst:
        for text in decoded_export(src):
            dst.write(text)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="disclosure-ledger", description=__doc__)
    p.add_argument("--db", help="database URL (default: LEDGER_DB_URL or sqlite:///var/ledger.sqlite3)")
    p.add_argument("--var", type=Path, help="data folder (default: LEDGER_VAR or ./var)")
    p.add_argument("--keyring", type=Path, help="principals' keyring (default: LEDGER_KEYRING or <var>/keyring)")
    p.add_argument("--admin", help="administrator key name in the keyring (default: the first one found)")
    sub = p.add_subparsers(dest="command", required=True)

    init = sub.add_parser("init", help="create the ledger: service keys, administrator key, genesis")
    init.add_argument("--origin", required=True, help="log origin, e.g. ledger.irs.example/disclosures")
    init.add_argument("--admin-name", help="administrator key name (default <origin>/admin)")
    init.add_argument("--court-clerk", action="append", default=[], metavar="NAME=COURT",
                      help="a court's clerk key (in the keyring) named at genesis: it countersigns the court's "
                           "first judges (repeatable)")
    init.add_argument("--agency-official", action="append", default=[], metavar="NAME=AGENCY",
                      help="an agency's official key (in the keyring) named at genesis: it countersigns the "
                           "agency's keys; naming any makes the log agency-anchored, where every key carrying "
                           "an agency attribute is countersigned by a key of that agency and an agency not "
                           "named here gets its first key on two administrators' signatures (repeatable)")
    init.add_argument("--predecessor", type=Path, metavar="CHECKPOINT",
                      help="a finished log's last checkpoint its witnesses cosigned: recorded in genesis as the "
                           "log this one succeeds (OPERATIONS § 16.4)")
    init.add_argument("--predecessor-vkey", metavar="VKEY", help="the finished log's checkpoint verifier key")

    keys = sub.add_parser("keys", help="principal keys").add_subparsers(dest="keys_command", required=True)
    new = keys.add_parser("new", help="generate a key in the keyring and register it")
    new.add_argument("name")
    new.add_argument("--role", action="append", required=True, help=keys_cli.ROLE_HELP)
    new.add_argument("--attr", action="append", default=[], help="attribute key=value (e.g. office=...)")
    new.add_argument("--countersign", action="append", default=[], metavar="NAME",
                     help="a keyring key that countersigns: a key of the court, of the recipient's agency, "
                          "or a second administrator (repeatable)")
    reg = keys.add_parser("register", help="register a key made elsewhere, with its holder's signed proof")
    reg.add_argument("name")
    reg.add_argument("--vkey", required=True)
    reg.add_argument("--role", action="append", required=True, help=keys_cli.ROLE_HELP)
    reg.add_argument("--proof", type=Path, required=True, help="the registration statement signed by the new key")
    proof = keys.add_parser("proof", help="(key holder) sign your own registration for an administrator")
    proof.add_argument("name")
    proof.add_argument("--role", action="append", required=True, help=keys_cli.ROLE_HELP)
    proof.add_argument("--admin-name", required=True)
    proof.add_argument("--attr", action="append", default=[])
    rev = keys.add_parser("revoke", help="revoke a principal's current key")
    rev.add_argument("name")
    rev.add_argument("--reason", default="revoked")
    rot = keys.add_parser("rotate", help="replace a principal's key (new key in the keyring)")
    rot.add_argument("name")
    keys.add_parser("list", help="registered keys and their roles")

    rlk = sub.add_parser("rotate-ledger-key", help="rotate the ledger's statement and checkpoint keys")
    rlk.add_argument("--retire-old", action="store_true", help="end the overlap: stop signing with old checkpoint keys")
    sub.add_parser("checkpoint", help="print the latest published checkpoint (unwitnessed: signing one if "
                   "behind; with a witness policy: the latest a quorum cosigned, never signing)")
    sub.add_parser("publish", help="one publication round now: sign, get cosigned by the witness policy's "
                   "quorum, publish; exit 1 naming why not")
    sub.add_parser("vkey", help="print the checkpoint verifier key (the trust root)")
    exp = sub.add_parser("export", help="write the export (JSON Lines)")
    exp.add_argument("--out", type=Path, required=True)
    exp.add_argument("--decoded", type=Path, nargs="?", const=True, metavar="FILE",
                     help="also write a readable companion (default: OUT with .decoded.txt); never openings")
    prove = sub.add_parser("prove", help="inclusion and consistency proofs").add_subparsers(dest="proof", required=True)
    inc = prove.add_parser("inclusion")
    inc.add_argument("index", type=int)
    inc.add_argument("--size", type=int)
    con = prove.add_parser("consistency")
    con.add_argument("old", type=int)
    con.add_argument("new", type=int)
    app = sub.add_parser("append", help="append a signed statement from a file ('-' for stdin)")
    app.add_argument("file")
    seed_cli.add_parser(sub)
    sm = sub.add_parser("submit", help="submit a signed statement with its openings (JSON from `client …`), "
                                       "or a signing batch every signer has signed (from `client cosign`)",
                        description="Submit a signed statement with the openings of its commitments (the JSON "
                                    "`client …` prints), or a signing batch (docs/FORMAT.md § 19.3) once every "
                                    "signer its statements list has signed it (`client cosign`): the batch is "
                                    "appended all or none, and one still lacking a signature is refused in one "
                                    "line (exit 2), nothing appended.")
    sm.add_argument("file", help="submission or batch JSON file ('-' for stdin)")
    client_cli.add_parser(sub)
    ent = sub.add_parser("entry", help="print an entry's bytes")
    ent.add_argument("index", type=int)
    ver = sub.add_parser("verify",
                         help="re-check the stored log and the outside checkpoint copy; names the first bad index")
    ver.add_argument("--deep", action="store_true",
                     help="then also decrypt every sealed opening and re-hash it to its logged commitment, and "
                          "recompute every stored taxpayer pseudonym (needs the sealed-store keys: LEDGER_SEALED_*)")
    mig = sub.add_parser("migrate", help="bring a database written by an earlier release up to this one",
                         description="Drop what an earlier release kept and this one does not: its second copy "
                                     "of every statement (the eventsourcing events table) and the column that "
                                     "linked the two. The entries are untouched: the root, the checkpoints and "
                                     "the export are the same after. Run it once, with no writer running.")
    mig.add_argument("--check", action="store_true",
                     help="only say what would change; exit 1 if the database needs migrating")
    officer_cli.add_parser(sub)
    matcher_cli.add_parser(sub)
    release_cli.add_parser(sub)
    escrow_cli.add_parser(sub)
    accounting_cli.add_parser(sub)
    bun = sub.add_parser("bundle", help="write the evidence bundle of one request (docs/VERIFYING.md)")
    bun.add_argument("request", help="the request's statement id")
    bun.add_argument("--out", type=Path, required=True, help="a new (or empty) folder to write it into")
    bun.add_argument("--openings", action="store_true",
                     help="include the openings of its commitments (needs the sealed-store keys: LEDGER_SEALED_*)")
    bun.add_argument("--line", type=int, action="append", default=[], metavar="K",
                     help="add the proof of line K inside each bulk statement holding it (repeatable)")
    bun.add_argument("--delivered", type=Path, action="append", default=[], metavar="FILE",
                     help="a file a release of the request delivered (from release-file), copied into delivered/ "
                          "for the court to check (repeatable)")
    bk = sub.add_parser("backup", help="write a consistent copy of the ledger's database (docs/OPERATIONS.md § 11)")
    bk.add_argument("--out", type=Path, required=True, help="a new file")
    rs = sub.add_parser("restore", help="put a backup back, or restore missing entries from an export")
    rs.add_argument("file", nargs="?", type=Path, help="a file written by `backup`")
    rs.add_argument("--force", action="store_true", help="overwrite a database that holds entries")
    rs.add_argument("--from-export", type=Path, metavar="EXPORT",
                    help="write the entries the log lacks, byte for byte, from a verified export")
    witness_cli.add_parser(sub)
    wr = sub.add_parser("witness-request", help="send the latest checkpoint to a witness; print its cosignature",
                        description="Send the ledger's latest checkpoint, with the consistency proof from the size "
                                    "the witness holds, to a c2sp.org/tlog-witness witness; print its cosignature "
                                    "line once it verifies under the witness's key.")
    wr.add_argument("url", help="the witness's submission prefix, e.g. http://witness.tigta.example:7380")
    wr.add_argument("--vkey", required=True, help="the witness's verifier key (cosignature/v1, type 0x04)")
    wr.add_argument("--old-size", type=int, default=0,
                    help="the size the witness is believed to hold (default 0: it says if it holds another)")
    wr.add_argument("--cosigned", action="store_true",
                    help="print the whole cosigned checkpoint instead of the cosignature line alone")
    wr.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the witness (default 10)")
    for plugin in _plugins():
        plugin(sub)
    return p


def _plugins() -> list[Any]:
    """Commands from the layers above the ledger (projections, api), found by entry point.

    The ledger does not import them (dependency direction api -> projections -> ledger): each
    registers ``disclosure_ledger.commands = NAME = module:register`` in its package metadata;
    ``register(subparsers)`` adds its parser and sets ``plugin_run(args, settings) -> int``.
    """
    from importlib.metadata import entry_points

    return [ep.load() for ep in sorted(entry_points(group="disclosure_ledger.commands"), key=lambda e: e.name)]


def _attrs(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise LedgerError(f"--attr expects key=value, found {pair!r}")
        k, v = pair.split("=", 1)
        out[k] = v
    return out


def main(argv: list[str] | None = None) -> int:
    private_files()  # every file this command (or `serve`, a witness) creates is its owner's alone (0600)
    try:
        args = _parser().parse_args(argv)
    except witness_cli.Usage as e:  # the witness's subcommands report their mistakes in one line
        print(f"witness: error: {e}", file=sys.stderr)
        return 2
    if args.command == "witness":  # the witness's own folder and database; never the ledger's
        return witness_cli.run(args)
    if args.command == "init":  # its genesis anchors are checked before any file or database is touched
        try:
            init_anchors(args)
        except client_cli.UsageError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    var = args.var or Path(os.environ.get("LEDGER_VAR", "var"))
    keyring = Keyring(args.keyring or Path(os.environ.get("LEDGER_KEYRING", var / "keyring")))
    try:
        settings = db_check.prepare(args, Settings.from_env(args.db, args.var))
        plugin_run = getattr(args, "plugin_run", None)
        if plugin_run is not None:
            return int(plugin_run(args, settings))
        if args.command in ("backup", "restore"):
            return _backup_restore(args, settings)
        if args.command == "sealed-keys":  # no database: the keys and a file only
            return escrow_cli.run(args)
        if args.command == "matcher":  # the matcher's own store and key; its own connections
            return matcher_cli.run(args, settings, keyring, var)
        if args.command == "client":  # the principal's side: their keyring only, never a database
            return client_cli.run(args, keyring)
        with open_ledger(settings) as ledger:
            return _run(args, ledger, keyring)
    except RuleRefusal as e:
        print(f"refused by rule {', '.join(e.rules)}: {e} (blocked entry {e.blocked_index})", file=sys.stderr)
        return 1
    except client_cli.UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except SeedRefused as e:
        print(f"refused ({e.rule}): {e}", file=sys.stderr)
        return 1
    except AppendRefused as e:
        print(f"refused ({e.rule}): {e}", file=sys.stderr)
        return 1
    except ConfigError as e:  # a setting that cannot work (e.g. LEDGER_WITNESS_POLICY): the user's to fix
        print(f"error: {e}", file=sys.stderr)
        return 2
    except LedgerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except OSError as e:  # a file named on the command line that cannot be read or written
        print(f"error: {e.filename or ''}: {e.strerror or type(e).__name__}", file=sys.stderr)
        return 2


def init_anchors(args: argparse.Namespace) -> dict[str, list[tuple[str, str]]]:
    """The (key name, court or agency) pairs of ``init --court-clerk`` and ``--agency-official``, checked
    before anything is written: each NAME=VALUE with a valid key name and a value of 1-128 characters,
    every name distinct (from each other and from the administrator's)."""
    out: dict[str, list[tuple[str, str]]] = {"--court-clerk": [], "--agency-official": []}
    admin = args.admin_name or f"{args.origin}/admin"
    seen = {admin, f"{args.origin}/ledger"}
    for option, values, what in (("--court-clerk", args.court_clerk, "COURT"),
                                 ("--agency-official", args.agency_official, "AGENCY")):
        for pair in values:
            name, sep, value = pair.partition("=")
            if not sep or not name or not value or len(value) > 128:
                raise client_cli.UsageError(f"{option} expects NAME={what} ({what} of 1 to 128 characters), "
                                            f"found {pair[:160]!r}")
            try:
                check_key_name(name)
            except LedgerError as e:
                raise client_cli.UsageError(f"{option} {pair[:160]!r}: {e}") from None
            if name in seen:
                raise client_cli.UsageError(f"{option} {pair[:160]!r}: the key name {name} is named twice at "
                                            "genesis (each clerk, official and the administrator need their own)")
            seen.add(name)
            out[option].append((name, value))
    return out


def _parse_batch(text: str, where: str) -> Batch | None:
    """The signing batch the text holds, or None when it is a single submission (or not JSON: that error
    is the submission's)."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return batch_from_json(value, where) if is_batch(value) else None


def _parse_submission(text: str) -> tuple[str, list[Opening]]:
    try:
        obj = json.loads(text)
        return obj["statement"], [Opening.from_json(o) for o in obj.get("openings", [])]
    except (ValueError, KeyError, TypeError) as e:
        raise LedgerError(f"a submission is {{\"statement\": note, \"openings\": [...]}}: {e}") from None


def _service(ledger: Ledger) -> Any:
    """The disclosure service: openings sealed under the operator's sealed-store keys (no default)."""
    from ledger.domain.service import DisclosureService
    from ledger.sealed import SealedKeys, SealedStore

    keys = SealedKeys.from_env()
    return DisclosureService(ledger, SealedStore(ledger.settings.db_url, keys), keys)


def _print_appended(a: Any) -> None:
    print(json.dumps({"index": a.index, "leaf_hash": a.leaf_hash.hex(), "id": a.statement_id,
                      "recorded_at": a.recorded_at, "duplicate": a.duplicate}))


def _run(args: argparse.Namespace, ledger: Ledger, keyring: Keyring) -> int:
    cmd = args.command
    if cmd == "init":
        name = args.admin_name or f"{args.origin}/admin"
        admin = keyring.get(name) if keyring.has(name) else keyring.new(name)
        succeeds = predecessor(args) if args.predecessor else None
        anchors = {option: [(str((keyring.get(n) if keyring.has(n) else keyring.new(n)).verifier), value)
                            for n, value in pairs] for option, pairs in init_anchors(args).items()}
        officials = anchors["--agency-official"] or None
        _print_appended(ledger.initialise(args.origin, str(admin.verifier), DEFAULT_POLICY, predecessor=succeeds,
                                          court_clerks=anchors["--court-clerk"], agency_officials=officials))
        code = print_published(ledger)
        init_cli.print_next_steps(ledger, name)
        return code
    if cmd == "keys":
        sub = args.keys_command
        if sub == "proof":
            from ledger.authoring.trust import registration_proof

            key = keyring.get(args.name) if keyring.has(args.name) else keyring.new(args.name)
            print(registration_proof(key, args.admin_name, args.role, _attrs(args.attr)), end="")
            return 0
        if sub == "list":
            trust = ledger.trust()
            for _name, records in sorted(trust.keys.items()):
                for r in records:
                    state = "valid" if r.revoked_at is None else f"revoked at {r.revoked_at}"
                    print(f"{r.key}\troles={','.join(r.roles)}\tfrom={r.registered_at + 1}\t{state}")
            return 0
        keys_cli.check_roles(getattr(args, "role", None) or (), ledger.trust().policy)
        admin = keyring.administrator(ledger.trust(), args.admin)
        if sub == "new":
            countersigners = [keyring.get(name) for name in args.countersign]
            key = keyring.new(args.name)
            _print_appended(ledger.append(key_registration(admin, key, args.role, _attrs(args.attr), countersigners)))
        elif sub == "register":
            vkey = parse_vkey(args.vkey.strip())
            note = countersign(args.proof.read_text(), admin)
            from ledger.core.statement import parse_statement

            body = parse_statement(note).body
            if body.get("vkey") != str(vkey) or body.get("name") != args.name or body.get("roles") != args.role:
                raise LedgerError("the proof does not register this name, key and roles")
            _print_appended(ledger.append(note))
        elif sub == "revoke":
            current = ledger.trust().current(args.name)
            if current is None:
                raise LedgerError(f"{args.name} has no valid key")
            _print_appended(ledger.append(key_revocation(admin, args.name, current.key, args.reason)))
        elif sub == "rotate":
            current = ledger.trust().current(args.name)
            if current is None:
                raise LedgerError(f"{args.name} has no valid key")
            new_key = SignerKey.generate(args.name)
            _print_appended(ledger.append(key_rotation(admin, current.key, new_key)))
            keyring.put(new_key, replace=True)
        return 0
    if cmd == "rotate-ledger-key":
        if args.retire_old:
            retire_old_checkpoint_keys(ledger)
        else:
            admin = keyring.administrator(ledger.trust(), args.admin)
            _print_appended(rotate_ledger_keys(ledger, admin.name, lambda note: countersign(note, admin)))
        print(ledger.trust_root())
        return 0
    if cmd == "checkpoint":
        print(ledger.checkpoint().encode(), end="")  # with a witness policy: the latest published, never signed
        if ledger.publisher.witnessed:
            print(f"witnesses: {ledger.publisher.status().describe()}", file=sys.stderr)
        return 0
    if cmd == "publish":
        if ledger.publish(lease_timeout=30.0) is None:
            print(f"not published: {ledger.publisher.status().describe()}", file=sys.stderr)
            return 1
        return print_published(ledger)
    if cmd == "witness-request":
        return witness_request(args, ledger)
    if cmd == "vkey":
        print(ledger.trust_root())
        return 0
    if cmd == "export":
        bar = _progress(ledger.size(), "export")
        with open(args.out, "wb") as out:
            n = ledger.export(out, bar.update if bar else None)
        if bar:
            bar.close()
        print(f"exported {n} entries to {args.out}", file=sys.stderr)
        if args.decoded is not None:
            decoded = args.out.with_suffix(".decoded.txt") if args.decoded is True else args.decoded
            _write_decoded(args.out, decoded)
            print(f"wrote the decoded companion (a reading aid, not evidence) to {decoded}", file=sys.stderr)
        return 0
    if cmd == "prove":
        if args.proof == "inclusion":
            print(json.dumps(ledger.inclusion_proof(args.index, args.size)))
        else:
            print(json.dumps(ledger.consistency_proof(args.old, args.new)))
        return 0
    if cmd == "append":
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
        seed_cli.refuse_commitments(text)
        _print_appended(ledger.append(text))
        return 0
    if cmd == "salt-seed":
        return seed_cli.run(args, _service(ledger))
    if cmd == "submit":
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
        batch = _parse_batch(text, args.file)
        if batch is not None:
            notes = complete_notes(batch, args.file)
            for appended in _service(ledger).submit_batch(notes, batch.openings):
                _print_appended(appended)
            return 0
        _print_appended(_service(ledger).submit(*_parse_submission(text)))
        return 0
    if cmd == "entry":
        sys.stdout.write(ledger.entry(args.index).decode("utf-8") + "\n")
        return 0
    if cmd == "migrate":
        if args.check:
            for item in ledger.outdated:
                print(f"to drop: {item}")
            print("needs migrating" if ledger.outdated else "up to date: nothing to migrate")
            return 1 if ledger.outdated else 0
        done = ledger.migrate()
        print(f"migrated: dropped {', '.join(done)}" if done else "up to date: nothing to migrate")
        return 0
    if cmd == "verify":
        return _verify(args, ledger)
    if cmd == "bundle":
        return _bundle(args, ledger)
    if cmd == "legacy-cutover":
        return accounting_cli.run_cutover(args, ledger, keyring)
    if cmd == "import-accounting":
        return accounting_cli.run_import(args, ledger, keyring, _service(ledger))
    if cmd == "release-file":
        return release_cli.run(args, ledger, _service(ledger))
    if cmd == "officer":
        needs_service = args.officer_command in ("review", "return")
        return officer_cli.run(args, ledger, keyring, _service(ledger) if needs_service else None)
    raise AssertionError(cmd)  # pragma: no cover


def _verify(args: argparse.Namespace, ledger: Ledger) -> int:
    """`verify`, and with --deep the sealed store and the pseudonyms against the log (after it passes)."""
    sealed_keys = None
    if args.deep:  # the keys first: without them there is nothing to do (exit 2, like any missing setting)
        from ledger.sealed import SealedKeyError, SealedKeys

        try:
            sealed_keys = SealedKeys.from_env()
        except SealedKeyError as e:
            print(f"error: verify --deep needs the sealed-store keys: {e}", file=sys.stderr)
            return 2
    bar = _progress(ledger.size(), "verify")
    report = ledger.fsck(bar.update if bar else None)
    if bar:
        bar.close()
    if not report.ok:
        problem = report.problems[0]
        print(f"FAILED at entry {problem.index}: {problem}", file=sys.stderr)
        return 1
    outside = against_outside_copy(ledger.settings.checkpoint_path, ledger.trust().checkpoint_keys, report.size,
                                   ledger.root_at)
    if outside is not None:
        print(f"FAILED against the outside checkpoint copy: {outside}", file=sys.stderr)
        return 1
    witnesses = against_witnesses(ledger)
    if witnesses is not None and not witnesses.ok:
        print(f"FAILED against the witnesses: {witnesses.describe()}", file=sys.stderr)
        return 1
    print(f"ok: {report.size} entries, root {report.root.hex()}, {report.checkpoints_checked} checkpoints")
    if witnesses is not None:
        print(f"witnesses: {witnesses.describe()}")
    if sealed_keys is None:
        return 0
    from ledger.domain.deep_check import deep_check

    bar = _progress(report.size, "verify --deep")
    # The entries fsck verified: any appended since were not, and are left to the next run.
    deep = deep_check(ledger, ledger.settings.db_url, sealed_keys, bar.update if bar else None, report.size)
    if bar:
        bar.close()
    if not deep.ok:
        print(f"FAILED (deep) {deep.problems[0].where}: {deep.problems[0]}", file=sys.stderr)
        return 1
    print(deep.describe())
    return 0


def _backup_restore(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.store import backup

    if args.command == "backup":
        n = backup.backup(settings, args.out)
        print(f"backed up {n} entries from {settings.redacted_url()} to {args.out}", file=sys.stderr)
        return 0
    if (args.file is None) == (args.from_export is None):
        raise LedgerError("restore takes a backup FILE or --from-export EXPORT (one of them)")
    if args.file is not None:
        n = backup.restore(settings, args.file, force=args.force)
        print(f"restored {n} entries from {args.file}", file=sys.stderr)
    with open_ledger(settings) as ledger:
        if args.from_export is not None:
            done = backup.import_export(ledger, args.from_export)
            print(f"imported {done.imported} entries from {args.from_export}: "
                  f"{done.size_before} -> {done.size_after}", file=sys.stderr)
        report = ledger.fsck()
        if not report.ok:
            print(f"verify FAILED at entry {report.problems[0].index}: {report.problems[0]}", file=sys.stderr)
            return 1
        status = backup.restore_status(ledger)
        print(f"verify ok: {report.size} entries; {status.describe()}", file=sys.stderr)
        return 0 if status.missing == 0 and status.root_matches is not False else 1


def _bundle(args: argparse.Namespace, ledger: Ledger) -> int:
    from ledger.domain.bundle import write_bundle

    if args.openings:
        from ledger.sealed import SealedKeys, SealedStore

        keys = SealedKeys.from_env()  # no default: only an operator holding the keys can open
        with SealedStore(ledger.settings.db_url, keys) as store:
            done = write_bundle(ledger, args.request, args.out, lines=args.line, openings=store.get_many,
                                delivered=args.delivered)
    else:
        done = write_bundle(ledger, args.request, args.out, lines=args.line, delivered=args.delivered)
    print(f"wrote {args.out}: {len(done.entries)} entries against tree size {done.tree_size}, "
          f"{len(done.bulk)} bulk statements, {done.lines} line proofs, "
          f"{done.openings if args.openings else 'no'} openings"
          + (f", {len(args.delivered)} delivered files" if args.delivered else ""), file=sys.stderr)
    if done.incomplete:
        print(f"warning: bulk statements incomplete in the log at that size: {', '.join(done.incomplete)}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
