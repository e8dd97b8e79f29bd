"""Engine cost per event and memory as the number of ACTIVE symbols grows (issue 12, item 3).

    .venv/bin/python benchmarks/bench_symbols.py [--symbols 4,50,200] [--seconds 3600] [--rate 2000]
                                                 [--idle N]

Each count runs in its own child process: ``--rate`` trades per second of event time in all,
spread over N symbols and two venues so every symbol trades on both every second (the
per-second work of each active symbol is what grows). Trades are generated one second
at a time outside the timed region and fed to ``Engine.process_many`` (state, rings,
detectors, signals); CPU is the engine's own (``time.process_time`` around it). RSS is the
child's resident memory at the end, after ``--seconds`` of event time (the default, an hour, fills
every window and the detectors' trailing-hour baselines: the settled figure; the flow rings
themselves are allocated whole at a symbol's first trade, issue 12). ``--idle N`` adds N symbols
that only send a mark price each second (a recording of Binance's all-symbol ``!markPrice@arr``
replayed unfiltered): their cost per event and memory are in the same figures.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def child(n: int, seconds: int, rate: int, idle: int = 0) -> dict:
    from engine.core import Engine
    from engine.events import MarkOI, Side, Trade
    from engine.signals import ListSink, SignalEngine

    rng = random.Random(n)
    engine = Engine(SignalEngine(ListSink()))
    names = [f"COIN{i}" for i in range(n)]
    prices = {s: 10.0 + i for i, s in enumerate(names)}
    per_symbol = max(2, rate // n)
    t0_ms = 1_767_225_600_000
    cpu = 0.0
    events = 0
    buy, sell = Side.BUY, Side.SELL
    venues = ("binance", "bybit")  # two venues: the cross-venue (divergence) work runs too
    for sec in range(seconds):
        batch = []
        base_ms = t0_ms + sec * 1000
        for j in range(per_symbol):
            ts = base_ms + (j * 1000) // per_symbol
            for s in names:
                p = prices[s] = prices[s] * (1 + rng.gauss(0, 2e-4))
                q = rng.expovariate(1 / 200.0) / p
                batch.append(Trade(venues[j & 1], s, p, q, p * q, buy if rng.random() < 0.5 else sell, ts,
                                   ts * 1_000_000 + 50_000_000))
        batch.extend(MarkOI("binance", f"IDLE{i}", 1.0, 1.0, None, base_ms + 500, base_ms * 1_000_000 + 550_000_000)
                     for i in range(idle))
        c = time.process_time()
        engine.process_many(batch)
        cpu += time.process_time() - c
        events += len(batch)
    return {"symbols": n, "idle": idle, "events": events, "us_per_event": cpu / events * 1e6, "rss_mb": rss_mb(),
            "signals": len(engine.signals.sink.signals) if hasattr(engine.signals, "sink") else None}


def measure(counts: Sequence[int] = (4, 50, 200), seconds: int = 3600, rate: int = 2000,
            idle: int = 0) -> list[dict[str, Any]]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = []
    for n in counts:
        proc = subprocess.run([sys.executable, __file__, "--child", str(n), "--seconds", str(seconds),
                               "--rate", str(rate), "--idle", str(idle)], capture_output=True, text=True, env=env)
        if proc.returncode:
            raise SystemExit(proc.stderr[-2000:])
        out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--symbols", default="4,50,200")
    ap.add_argument("--seconds", type=int, default=3600, help="seconds of event time per run")
    ap.add_argument("--rate", type=int, default=2000, help="trades per second of event time, all symbols")
    ap.add_argument("--idle", type=int, default=0, help="symbols with only a mark price each second")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.seconds, args.rate, args.idle)))
        return
    idle = f" + {args.idle} idle" if args.idle else ""
    for r in measure([int(x) for x in args.symbols.split(",")], args.seconds, args.rate, args.idle):
        print(f"{r['symbols']:>4} active symbols{idle}: {r['us_per_event']:5.1f} µs per event, "
              f"RSS {r['rss_mb']:6.1f} MB ({r['events']:,} events over {args.seconds} s of event time)")


if __name__ == "__main__":
    main()
