"""The verifier's report: what it printed, and what ``--report FILE`` leaves for a declaration.

One Report collects what a run found. It is printed as text or JSON on stdout, and
written with ``--report`` as a JSON and a text file that an expert can attach to a
declaration: the files checked with their SHA-256, the trust root and policy used, the
verifier's own SHA-256 and version, the checks run (and those not run), the result and
the exit status, in plain words. Everything but the ``run`` section (when, how long, on
how many processes) is the same on a second run over the same files with the same
arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ledger.core.plain import meaning

REPORT_FORMAT = "dl-verification-report/v1"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
STATUS = {EXIT_OK: "VERIFIED", EXIT_FAILED: "FAILED", EXIT_USAGE: "NOT RUN (usage error)"}


@dataclass
class FileRecord:
    """One file the verifier read: its role, the path as given, its size and SHA-256."""

    role: str
    path: str
    size: int
    sha256: str


@dataclass
class Report:
    """Everything the verifier found, printed as text or JSON."""

    exit: int = EXIT_OK
    index: int | None = None
    reason: str | None = None
    message: str | None = None
    trust_root: str | None = None
    trust_root_source: str | None = None
    origin: str | None = None
    checkpoint_size: int | None = None
    checkpoint_root: str | None = None
    size: int | None = None
    signatures: int = 0
    uncommitted: int | None = None
    root: str | None = None
    checks: list[tuple[str, str]] = field(default_factory=list)
    what: str = "export"  # what was verified: "export", "bundle" or "proofs" (no export)
    stage: str = "arguments"  # the check under way: the one that failed, if one does
    notes: list[str] = field(default_factory=list)
    not_checked: list[str] = field(default_factory=list)
    files: list[FileRecord] = field(default_factory=list)
    log_policy: dict[str, Any] | None = None
    log_policy_sha256: str | None = None
    witness_policy: dict[str, Any] | None = None  # --policy: its SHA-256, quorum, witnesses, who cosigned
    verifier: dict[str, str] = field(default_factory=dict)
    command: list[str] = field(default_factory=list)
    run: dict[str, Any] = field(default_factory=dict)
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return self.exit == EXIT_OK

    def passed(self, name: str, detail: str) -> None:
        self.checks.append((name, detail))

    def fail(self, exit_status: int, index: int | None, reason: str, message: str) -> None:
        self.exit, self.index, self.reason, self.message = exit_status, index, reason, message

    def meaning(self) -> str:
        return meaning(self.exit, self.index, self.what, self.checkpoint_size, self.uncommitted)

    # ---- stdout ------------------------------------------------------------------------
    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "exit": self.exit,
            "index": self.index,
            "message": self.message,
            "reason": self.reason,
            "trust_root": self.trust_root,
            "origin": self.origin,
            "checkpoint_size": self.checkpoint_size,
            "checkpoint_root": self.checkpoint_root,
            "size": self.size,
            "signatures": self.signatures,
            "uncommitted": self.uncommitted,
            "root": self.root,
            "checks": [{"check": n, "detail": d} for n, d in self.checks],
            "notes": list(self.notes),
            "elapsed_seconds": round(self.elapsed, 3),
        }

    def as_text(self) -> str:
        out = ["Disclosure Ledger verification"]
        out += [f"  ok    {name:<12} {detail}" for name, detail in self.checks]
        out += [f"  note: {note}" for note in self.notes]
        if self.ok:
            if self.uncommitted:
                out.append(
                    f"  note: the last {self.uncommitted} entries of the export are verified but not yet "
                    "committed to by the checkpoint; a later checkpoint must cover them"
                )
            out.append("RESULT: OK (exit 0)")
        elif self.exit == EXIT_USAGE:
            out.append(f"RESULT: NOT VERIFIED, usage error: {self.message} (exit 2)")
        else:
            where = f"at entry {self.index}" if self.index is not None else "(not about one entry)"
            out.append(f"  FAIL  {self.stage:<12} {self.message}")
            if self.reason != self.message:
                out.append(f"        {'':<12} detail: {self.reason}")
            out.append(f"RESULT: FAILED {where}: {self.message} (exit 1)")
        return "\n".join(out) + "\n"

    # ---- the report for a declaration ----------------------------------------------------
    def record(self) -> dict[str, Any]:
        """The ``--report`` JSON."""
        checks: list[dict[str, str | None]] = [{"check": n, "result": "passed", "detail": d} for n, d in self.checks]
        if self.exit == EXIT_FAILED:
            checks.append({"check": self.stage, "result": "failed", "detail": self.message})
        return {
            "format": REPORT_FORMAT,
            "result": {
                "status": STATUS[self.exit],
                "exit": self.exit,
                "index": self.index,
                "message": self.message,
                "reason": self.reason,
                "meaning": self.meaning(),
            },
            "verifier": dict(self.verifier),
            "command": list(self.command),
            "files": [vars(f).copy() for f in self.files],
            "trust_root": {"vkey": self.trust_root, "source": self.trust_root_source},
            "policy": {
                "log_policy": self.log_policy,
                "log_policy_sha256": self.log_policy_sha256,
                "witness_policy": self.witness_policy,
            },
            "checkpoint": {"origin": self.origin, "size": self.checkpoint_size, "root": self.checkpoint_root},
            "log": {"entries": self.size, "signatures": self.signatures, "uncommitted": self.uncommitted,
                    "root": self.root},
            "checks": checks,
            "not_checked": list(self.not_checked),
            "notes": list(self.notes),
            "run": dict(self.run, elapsed_seconds=round(self.elapsed, 3)),
        }

    def record_text(self) -> str:
        """The ``--report`` text: the same facts as ``record``, laid out for a person."""
        r = self.record()
        res, ver = r["result"], r["verifier"]
        out = [
            "DISCLOSURE LEDGER VERIFICATION REPORT",
            f"(format {REPORT_FORMAT}; the JSON report beside this file holds the same facts)",
            "",
            f"RESULT: {res['status']} (exit status {res['exit']})",
        ]
        if res["exit"] != EXIT_OK:
            where = f"entry {res['index']}" if res["index"] is not None else "not about one entry"
            out += [f"  what failed:  {res['message']}", f"  where:        {where}", f"  detail:       {res['reason']}"]
        out += ["", *_wrap(res["meaning"], "  "), "", "VERIFIER"]
        out += [f"  {k + ':':<14}{v}" for k, v in ver.items()]
        command = " ".join(_quote(a) for a in [ver.get("file", "verify_ledger.py"), *r["command"]])
        out += [f"  {'command:':<14}{command}", "", "FILES CHECKED"]
        if not r["files"]:
            out.append("  (none could be read)")
        for f in r["files"]:
            out += [f"  {f['role']}: {f['path']}", f"    {f['size']} bytes, SHA-256 {f['sha256']}"]
        out += ["", "TRUST ROOT AND POLICY"]
        tr = r["trust_root"]
        out.append(f"  trust root:   {tr['vkey'] or '(none: not reached)'}")
        if tr["source"]:
            out.append(f"  taken from:   {tr['source']}")
        pol = r["policy"]
        if pol["log_policy"] is not None:
            out.append(f"  the log's signing policy at the checkpoint (SHA-256 of its RFC 8785 form "
                       f"{pol['log_policy_sha256']}):")
            out += [f"    {t}: {', '.join(roles)}" for t, roles in pol["log_policy"].items()]
        else:
            out.append("  the log's signing policy: not reached")
        wp = pol["witness_policy"]
        if wp is None:
            out.append("  witness policy: none (witness cosignatures were not checked)")
        else:
            out.append(f"  witness policy (--policy, SHA-256 {wp['sha256']}): quorum {wp['quorum']}")
            out += [f"    witness {w}" for w in wp["witnesses"]]
            cosigned = wp.get("cosigned")
            if cosigned is not None:
                out += [f"    cosigned by {c}" for c in cosigned] or ["    cosigned by no witness of the policy"]
        cp, log = r["checkpoint"], r["log"]
        if cp["origin"] is not None:
            out += ["", "CHECKPOINT", f"  origin:       {cp['origin']}", f"  size:         {cp['size']} entries",
                    f"  root:         {cp['root']}"]
        if res["exit"] == EXIT_FAILED and res["index"] is not None and log["entries"] is not None:
            out += ["", "LOG AS VERIFIED", f"  entries 0 to {res['index'] - 1} passed the checks made entry by "
                    f"entry; entry {res['index']} failed" if res["index"] else "  entry 0 failed"]
        elif log["entries"] is not None:
            out += ["", "LOG AS VERIFIED", f"  entries:      {log['entries']}", f"  signatures:   {log['signatures']}"]
            if log["uncommitted"] is not None:
                out.append(f"  uncommitted:  {log['uncommitted']} (verified, not yet committed to by the checkpoint)")
            if log["root"] is not None:
                out.append(f"  root:         {log['root']}")
        out += ["", "CHECKS RUN"]
        out += [f"  {c['result']:<7} {c['check']}: {c['detail']}" for c in r["checks"]] or ["  (none)"]
        out += ["", "NOT CHECKED"] + [f"  - {n}" for n in r["not_checked"]]
        if r["notes"]:
            out += ["", "NOTES"] + [f"  - {n}" for n in r["notes"]]
        run = r["run"]
        out += ["", "RUN (differs from run to run)"] + [f"  {k + ':':<17}{v}" for k, v in run.items()]
        return "\n".join(out) + "\n"


def _quote(arg: str) -> str:
    return arg if arg and all(c.isalnum() or c in "-_./=+:@" for c in arg) else "'" + arg.replace("'", "'\\''") + "'"


def _wrap(text: str, pad: str, width: int = 96) -> list[str]:
    lines, line = [], pad
    for word in text.split():
        if len(line) + len(word) + 1 > width and line.strip():
            lines.append(line.rstrip())
            line = pad
        line += word + " "
    return [*lines, line.rstrip()]
