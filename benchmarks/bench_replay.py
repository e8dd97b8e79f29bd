"""`teleglas replay --speed 0` of a 1M-frame Binance trade tape against a plain floor, whole processes.

    .venv/bin/python benchmarks/bench_replay.py [--frames 1000000] [--repeat 1]

The tape is built here (never committed): the trade lines of ../shared/data/real/btcusdt_20240808.gz
looped, each pass shifted forward in time by the recording's span (receive time and the exchange's
``E``/``T``), gzip-compressed into a temporary directory.

Two child processes read it, each timed as CPU seconds (user + system, from ``wait4``) and wall:
- **floor**: gunzip lines + ``orjson.loads`` + one tuple per frame (venue, symbol, price, qty,
  notional, side, ts, recv_ns) — what any Python replay must at least do;
- **replay**: ``teleglas replay FILE --speed 0`` (``bot.cli.main``) (the real command: imports, parse path, the
  engine and the summary).

Prints both and their ratio (issue 12 target <= 2.0x, moonshot 1.5x).
"""
from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
REAL_TAPE = ROOT.parent / "shared" / "data" / "real" / "btcusdt_20240808.gz"

FLOOR = r"""
import gzip, sys, orjson
loads = orjson.loads
n = 0
out = []
with gzip.open(sys.argv[1], "rb") as fh:
    for line in fh:
        stamp, _, frame = line.partition(b" ")
        d = loads(frame)["data"]
        p = float(d["p"]); q = float(d["q"])
        out.append(("binance", d["s"], p, q, p * q, "SELL" if d["m"] else "BUY", d["T"], int(stamp)))
        if len(out) >= 512:
            n += len(out)
            out = []
n += len(out)
print(n)
"""


def build_tape(path: Path, frames: int, source: Path = REAL_TAPE) -> int:
    """Write ``frames`` trade lines looped from ``source``, each loop shifted by its span."""
    lines: list[tuple[int, dict]] = []
    with gzip.open(source, "rb") as fh:
        for line in fh:
            if b'"e":"trade"' not in line:
                continue
            stamp, _, frame = line.strip().partition(b" ")
            lines.append((int(stamp), orjson.loads(frame)))
    if not lines:
        raise SystemExit(f"{source}: no trade lines")
    span_ns = lines[-1][0] - lines[0][0] + 1_000_000_000
    span_ms = span_ns // 1_000_000
    dumps = orjson.dumps
    written = 0
    loop = 0
    with gzip.open(path, "wb", compresslevel=1) as out:
        while written < frames:
            shift_ns, shift_ms = loop * span_ns, loop * span_ms
            chunk = []
            for stamp, msg in lines:
                if written >= frames:
                    break
                data = dict(msg["data"])
                data["E"] += shift_ms
                data["T"] += shift_ms
                data["t"] += loop * 10_000_000
                chunk.append(b"%d %s\n" % (stamp + shift_ns, dumps({"stream": msg["stream"], "data": data})))
                written += 1
            out.write(b"".join(chunk))
            loop += 1
    return written


def run_child(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """(CPU seconds user+sys from the children's rusage, wall seconds, stdout) of a child process."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr.decode()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, proc.stdout.decode()


def measure(frames: int = 1_000_000, repeat: int = 1, tape: Path | None = None) -> dict:
    """Build the tape (unless given) and time floor and replay; best of ``repeat`` each."""
    if not REAL_TAPE.is_file() and tape is None:
        return {"skipped": f"{REAL_TAPE} absent"}
    with tempfile.TemporaryDirectory(prefix="teleglas-bench-") as tmp:
        if tape is None:
            tape = Path(tmp) / "trades.gz"
            build_tape(tape, frames)
        env = dict(os.environ, PYTHONPATH=str(ROOT), LOG_LEVEL="WARNING")
        env.pop("MARKET_SOURCES", None)
        floor = min((run_child([sys.executable, "-c", FLOOR, str(tape)], env) for _ in range(repeat)),
                    key=lambda r: r[0])
        command = "import sys; from bot.cli import main; sys.exit(main(sys.argv[1:]))"
        replay = min((run_child([sys.executable, "-c", command, "replay", str(tape), "--speed", "0"], env)
                      for _ in range(repeat)), key=lambda r: r[0])
    events = next((line for line in replay[2].splitlines() if line.startswith("events processed")), "")
    return {"frames": frames, "floor_cpu": floor[0], "floor_wall": floor[1], "replay_cpu": replay[0],
            "replay_wall": replay[1], "ratio": replay[0] / floor[0], "events_line": events}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=1, help="best of N runs of each process")
    ap.add_argument("--tape", type=Path, help="use this tape instead of building one")
    args = ap.parse_args()
    r = measure(args.frames, args.repeat, args.tape)
    if "skipped" in r:
        print(f"skipped: {r['skipped']}")
        return
    print(f"tape: {r['frames']:,} Binance trade frames ({r['events_line']})")
    print(f"floor  (gunzip + orjson + tuples)      CPU {r['floor_cpu']:6.2f} s  wall {r['floor_wall']:6.2f} s")
    print(f"replay (teleglas replay --speed 0) CPU {r['replay_cpu']:6.2f} s  wall {r['replay_wall']:6.2f} s")
    print(f"ratio replay / floor (CPU): {r['ratio']:.2f}x  (target <= 2.0x, moonshot 1.5x)")


if __name__ == "__main__":
    main()
