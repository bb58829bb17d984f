"""Benchmark of the court's verifier against the raw Ed25519 rate of the same cores.

    python bench/bench_verify.py [--sizes 100000,1000000] [--workers N] [--rounds 1]

For each size it builds (once; cached under bench/results/, which git ignores) an
export of a valid log: genesis, 64 principals registered, then small memos each signed
by one principal. Then, in the same run:

  * raw:    a process pool of N workers doing only nacl VerifyKey.verify on the same
            messages and signatures (the ceiling: nothing but Ed25519);
  * verify: scripts/verify_ledger.py (the generated, standalone file) with N workers,
            every check on, streaming the export.

It prints entries/s, signatures/s, raw verifies/s and the ratio verify/raw (goal: >= 0.5),
and the same ratio in CPU time (CPU seconds per raw verification / CPU seconds per
verified entry, over all processes), which a busy machine disturbs much less than
wall-clock rates.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing
import os
import resource
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import nacl.signing

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import gen_vectors as gv  # noqa: E402
import verify_ledger  # noqa: E402

from ledger.core.canonical import canonical_bytes  # noqa: E402
from ledger.core.entry import ZERO_HASH_HEX, encode_entry  # noqa: E402
from ledger.core.keys import SignerKey  # noqa: E402
from ledger.core.merkle import Frontier  # noqa: E402
from ledger.core.note import Note, NoteSignature  # noqa: E402
from ledger.core.statement import parse_statement  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PRINCIPALS = 64
POLICY = {**gv.POLICY, "memo": ["requester", "reviewer"]}


def principals() -> list[SignerKey]:
    return [gv.signer(f"agency{i:02d}.example.gov/official-{i:04d}") for i in range(PRINCIPALS)]


def _sign(text: str, keys: list[tuple[SignerKey, nacl.signing.SigningKey, int]]) -> str:
    message = text.encode("utf-8")
    sigs = tuple(NoteSignature(k.name, kid, sk.sign(message).signature) for k, sk, kid in keys)
    return Note(text, sigs).encode()


def _memo_statements(bounds: tuple[int, int]) -> list[str]:
    """Statements start..end-1 (memos), built in a worker process."""
    start, end = bounds
    keys = [(k, nacl.signing.SigningKey(k.seed), k.verifier.key_id) for k in principals()]
    out = []
    for index in range(start, end):
        key = keys[index % PRINCIPALS]
        issued = gv.T0 + timedelta(milliseconds=index)
        envelope = {
            "v": 1, "type": "memo", "id": f"bench-{index:08d}", "signers": [key[0].name],
            "issued_at": gv.stamp(issued), "not_after": gv.stamp(issued + timedelta(hours=1)),
            "body": {"text": f"memo {index}", "ref": f"{index * 2654435761 % 2**32:08x}"},
        }
        out.append(_sign(canonical_bytes(envelope).decode("utf-8") + "\n", [key]))
    return out


def build_export(size: int, workers: int) -> dict[str, Path]:
    """The export, checkpoint and trust root of a valid log of ``size`` entries (cached)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    paths = {k: RESULTS / f"verify-{size}.{k}" for k in ("jsonl", "checkpoint", "vkey")}
    if all(p.exists() for p in paths.values()):
        return paths
    started = time.monotonic()
    b = gv.LogBuilder(policy=POLICY)
    b.genesis()
    for i, key in enumerate(principals()):
        b.register(key, ["requester"] if i % 2 else ["reviewer"])
    b.admit_all()
    head = [s for s, _ in b.items]
    first = len(head)
    step = 20_000
    ranges = [(a, min(a + step, size)) for a in range(first, size, step)]
    frontier = Frontier()
    prev = ZERO_HASH_HEX
    tmp = paths["jsonl"].with_suffix(".tmp")
    with open(tmp, "wb") as out, multiprocessing.get_context().Pool(workers) as pool:

        def write(index: int, statement: str) -> None:
            nonlocal prev
            recorded = gv.stamp(gv.T0 + timedelta(milliseconds=index, microseconds=500))
            entry = encode_entry(index, prev, recorded, statement)
            out.write(gv.export_line(index, entry.data))
            frontier.append(entry.leaf_hash)
            prev = entry.leaf_hash.hex()

        for index, statement in enumerate(head):
            write(index, statement)
        index = first
        for chunk in pool.imap(_memo_statements, ranges):
            for statement in chunk:
                write(index, statement)
                index += 1
            print(f"\rbuilding export of {size}: {index}", end="", file=sys.stderr)
    print(file=sys.stderr)
    tmp.rename(paths["jsonl"])
    paths["checkpoint"].write_text(gv.checkpoint_text(b.origin, size, frontier.root(), [b.checkpoint_key]))
    paths["vkey"].write_text(str(b.checkpoint_key.verifier) + "\n")
    print(f"built {paths['jsonl']} in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return paths


# ---- the raw Ed25519 rate ---------------------------------------------------------
def _signature_sample(path: Path, count: int) -> list[tuple[bytes, bytes, bytes]]:
    """(public key, message, signature) of the memos among the first ``count`` entries."""
    pubs = {k.name: k.verifier.public_key for k in principals()}
    sample = []
    with open(path, "rb") as f:
        for position, line in enumerate(f):
            if position >= count:
                break
            data = verify_ledger.parse_export_line(line, position)
            stmt = parse_statement(json.loads(data)["statement"])
            if stmt.type != "memo":
                continue
            sig = stmt.note.signatures[0]
            sample.append((pubs[sig.name], stmt.note.text.encode("utf-8"), sig.signature))
    return sample


def _raw_verify(items: list[tuple[bytes, bytes, bytes]]) -> tuple[int, float]:
    started = time.process_time()
    for pub, message, signature in items:
        nacl.signing.VerifyKey(pub).verify(message, signature)
    return len(items), time.process_time() - started


def raw_rate(sample: list[tuple[bytes, bytes, bytes]], workers: int) -> tuple[float, float]:
    """(verifications per second of ``workers`` processes, CPU seconds per verification)."""
    ctx = multiprocessing.get_context()
    shares = [sample[i::workers] for i in range(workers)]
    with ctx.Pool(workers) as pool:
        pool.map(_raw_verify, [s[:50] for s in shares])  # warm up
        started = time.perf_counter()
        results = pool.map(_raw_verify, shares)
        elapsed = time.perf_counter() - started
    done = sum(n for n, _ in results)
    return done / elapsed, sum(cpu for _, cpu in results) / done


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the verifier's workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def verify_rate(paths: dict[str, Path], workers: int) -> tuple[float, float, float, dict[str, Any]]:
    """Entries/s, signatures/s and CPU seconds per entry (all processes) of the standalone verifier."""
    args = ["--vkey", str(paths["vkey"]), "--checkpoint", str(paths["checkpoint"]), "--export",
            str(paths["jsonl"]), "--json", "--no-progress", "--workers", str(workers)]
    out = io.StringIO()
    cpu = _cpu_seconds()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = verify_ledger.main(args)
    elapsed = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu
    report = json.loads(out.getvalue())
    if code != 0:
        raise SystemExit(f"verification failed: {report}")
    return report["size"] / elapsed, report["signatures"] / elapsed, cpu / report["size"], report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated export sizes")
    parser.add_argument("--workers", type=int, default=verify_ledger._cpu_count())
    parser.add_argument("--sample", type=int, default=40_000, help="signatures in the raw-rate sample")
    parser.add_argument("--rounds", type=int, default=1, help="repeat raw/verify/raw this many times")
    args = parser.parse_args(argv)
    print(f"cores: {os.cpu_count()} (affinity {verify_ledger._cpu_count()}), workers: {args.workers}, "
          f"python {sys.version.split()[0]}")
    for size in (int(s) for s in args.sizes.split(",")):
        paths = build_export(size, args.workers)
        sample = _signature_sample(paths["jsonl"], args.sample)
        for round_ in range(args.rounds):
            raw_before, cpu_before = raw_rate(sample, args.workers)
            entries_s, sigs_s, cpu_entry, report = verify_rate(paths, args.workers)
            raw_after, cpu_after = raw_rate(sample, args.workers)
            raw, cpu_raw = (raw_before + raw_after) / 2, (cpu_before + cpu_after) / 2
            print(
                f"size {size:>9,}  round {round_ + 1}: verify {entries_s:8,.0f} entries/s "
                f"({sigs_s:8,.0f} signatures/s, {report['elapsed_seconds']:.1f} s)  |  raw Ed25519 "
                f"{raw:8,.0f} verifies/s (before {raw_before:,.0f}, after {raw_after:,.0f})  |  "
                f"ratio entries/raw {entries_s / raw:.2f}, signatures/raw {sigs_s / raw:.2f}  |  "
                f"CPU per entry {cpu_entry * 1e6:.0f} us vs per raw verify {cpu_raw * 1e6:.0f} us: "
                f"CPU ratio {cpu_raw / cpu_entry:.2f}"
            )
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
