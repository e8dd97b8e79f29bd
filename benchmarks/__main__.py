"""``python -m benchmarks``: every benchmark, briefly, in one table (issue 12).

    .venv/bin/python -m benchmarks            # about 2-3 minutes on 2 cores
    .venv/bin/python -m benchmarks --quick    # smaller tapes and fewer users (about a minute)

Rows: the replay path against its floor (``bench_replay``), parse speed per venue
(``bench_parse``), engine cost and memory by active symbols (``bench_symbols``), the event
loops on the feed path and on the bot's fan-out (``bench_loop``), and ``teleglas run``
start-up to the first getUpdates (``bench_startup``). Each module still runs alone with more
options (see its docstring). CPU figures are one process's user + system seconds, so a busy
machine shows mostly in the wall-clock columns.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench_loop  # noqa: E402
import bench_parse  # noqa: E402
import bench_replay  # noqa: E402
import bench_startup  # noqa: E402
import bench_symbols  # noqa: E402


def _row(rows: list, name: str, figure: str, note: str = "") -> None:
    rows.append((name, figure, note))
    print(f"  … {name}: {figure}", file=sys.stderr, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller tapes and fewer users")
    args = ap.parse_args()
    frames = 200_000 if args.quick else 1_000_000
    rows: list[tuple[str, str, str]] = []
    t0 = time.perf_counter()

    r = bench_replay.measure(frames)
    if "skipped" in r:
        _row(rows, "replay vs floor", "skipped", r["skipped"])
    else:
        _row(rows, f"`teleglas replay --speed 0`, {frames:,} Binance trade frames",
             f"{r['replay_cpu']:.2f} s CPU = {r['ratio']:.2f}x the floor",
             f"floor (gunzip lines + orjson + tuples) {r['floor_cpu']:.2f} s CPU; target <= 2.0x"
             + ("" if frames >= 1_000_000 else " at 1M frames (here the command's imports weigh 5x more)"))

    samples = bench_parse.bench_samples(0.3 if args.quick else 1.0, show=False)
    _row(rows, "parse, venues' sample frames (decode + parse)",
         " / ".join(f"{v / 1000:,.0f}k" for v in samples.values()) + " events/s",
         " / ".join(samples))

    loops = bench_loop.measure(30_000 if args.quick else 100_000, 1 if args.quick else 2)
    for loop, res in loops.items():
        if "error" in res:
            _row(rows, f"live feed path on {loop}", "n/a", res["error"])
        else:
            _row(rows, f"live feed path on {loop} (websocket -> parse -> engine)",
                 f"{res['cpu_us_per_frame']:.1f} µs CPU per frame", f"{res['frames_per_s']:,.0f} frames/s")
    users = 300 if args.quick else 1000
    for loop, res in bench_loop.measure_fanout(users, 1).items():
        if "error" in res:
            _row(rows, f"fan-out on {loop}", "n/a", res["error"])
        else:
            _row(rows, f"fan-out of one signal to {users:,} users on {loop}",
                 f"{res['total_s']:.2f} s, first delivery {res['first_ms']:.0f} ms",
                 f"process CPU {res['cpu_s']:.2f} s (Bot API double in the same process)")

    span = 300 if args.quick else 3600  # a full hour: the longest flow window is full (settled)
    for r in bench_symbols.measure((4, 50, 200), span):
        _row(rows, f"engine, {r['symbols']} active symbols (2 venues, 2,000 trades/s)",
             f"{r['us_per_event']:.1f} µs per event, RSS {r['rss_mb']:.0f} MB",
             f"after {span} s of event time; targets <= 6 µs and <= 150 MB at 200")

    start = bench_startup.measure(1 if args.quick else 3)
    _row(rows, "`teleglas run` start-up to the first getUpdates",
         f"{start['getupdates_s']:.2f} s (getMe at {start['getme_s']:.2f} s)",
         "Bot API double, simulator, fresh database")

    print(f"\nTELEGLAS benchmarks — {os.cpu_count()} CPU(s), Python {platform.python_version()}, "
          f"{platform.machine()} {platform.system()}, {time.perf_counter() - t0:.0f} s\n")
    width = max(len(r[0]) for r in rows)
    fig = max(len(r[1]) for r in rows)
    print(f"| {'measurement':<{width}} | {'result':<{fig}} | notes |")
    print(f"|{'-' * (width + 2)}|{'-' * (fig + 2)}|---|")
    for name, figure, note in rows:
        print(f"| {name:<{width}} | {figure:<{fig}} | {note} |")


if __name__ == "__main__":
    main()
