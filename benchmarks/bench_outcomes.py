"""What outcome tracking adds to replay cost, with 1,000 open signals.

The simulator's tape (default 50 simulated minutes, 4 symbols on 2 venues) is built once in
memory; then, over the SAME events, best of ``--repeat`` runs each:
  (a) the engine alone (``Engine.process``),
  (b) the engine with the outcome tracker hooked in as in production (``Engine.track_outcomes``
      and the signal sink) and 1,000 extra signals opened at the start (250 per symbol: half
      stop hunt setups with levels, half directional signals followed over 1 m-1 h) that stay
      open for the whole run,
  (c) as (b) but applying every one-second bar to every outcome (no envelope skipping, no quiet
      spans: the tests' reference), for comparison.

    .venv/bin/python benchmarks/bench_outcomes.py            # prints the added cost in %
    .venv/bin/python benchmarks/bench_outcomes.py --minutes 20 --repeat 2
"""
from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.core import Engine  # noqa: E402
from engine.outcomes import OutcomeTracker  # noqa: E402
from engine.signals import Direction, Kind, Levels, ListSink, Signal, SignalEngine, Tier  # noqa: E402
from engine.simulator import MarketSimulator  # noqa: E402


class TeeSink:
    def __init__(self, tracker: OutcomeTracker) -> None:
        self.tracker = tracker
        self.signals: list[Signal] = []

    def emit(self, signal: Signal) -> None:
        self.signals.append(signal)
        self.tracker.on_signal(signal)


def synthetic_signals(sim: MarketSimulator, n: int) -> list[Signal]:
    out = []
    per = n // len(sim.symbols)
    for spec in sim.symbols:
        p = spec.price
        for i in range(per):
            d = Direction.LONG if i % 2 == 0 else Direction.SHORT
            sign = 1 if d is Direction.LONG else -1
            levels = None
            if i % 4 < 2:  # a setup: entry band around the price (filled), far stop and targets
                levels = Levels(p * (1 - sign * 0.02), p * (1 - sign * 0.01), p * 0.999, p * 1.001,
                                p * (1 - sign * 0.2), (p * (1 + sign * 0.2), p * (1 + sign * 0.3)),
                                sim.start_ts + 10 * 3_600_000)
            out.append(Signal(id=f"bench-{spec.symbol}-{i}", kind=Kind.STOP_HUNT if levels else Kind.WHALE_WINDOW,
                              symbol=spec.symbol, direction=d, tier=Tier.WATCH, confidence=60,
                              ts=sim.start_ts, recv_ns=0, signal_ns=0, magnitudes={"price": p},
                              components={}, levels=levels))
    return out


def run(events, sim, *, track: bool, extra: int, skip: bool = True) -> tuple[float, int, int]:
    gc.collect()
    if track:
        tracker = OutcomeTracker(max_open_per_symbol=max(200, extra))
        tracker.skip_inside = skip
        sink = TeeSink(tracker)
        engine = Engine(SignalEngine(sink))
        engine.track_outcomes(tracker)
        for s in synthetic_signals(sim, extra):
            tracker.on_signal(s)
    else:
        tracker = None
        sink = ListSink()
        engine = Engine(SignalEngine(sink))
    process = engine.process
    t0 = time.perf_counter()
    for ev in events:
        process(ev)
    if tracker is not None:
        tracker.finish(events[-1].ts)
    elapsed = time.perf_counter() - t0
    return elapsed, len(sink.signals), tracker.open_count() if tracker else 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=50.0)
    ap.add_argument("--open", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    sim = MarketSimulator(seed=args.seed, duration_s=args.minutes * 60)
    events = list(sim.events())
    print(f"simulator: {len(events):,} events, {args.minutes:g} simulated minutes, "
          f"{len(sim.symbols)} symbols; {args.open} extra open signals")
    variants = (("engine alone", {"track": False, "extra": 0}),
                ("engine + outcomes", {"track": True, "extra": args.open}),
                ("engine + outcomes, no skipping", {"track": True, "extra": args.open, "skip": False}))
    best: dict[str, float] = {}
    info: dict[str, tuple[int, int]] = {}
    # round robin, best of --repeat each: on a shared machine the load drifts between runs
    for _ in range(args.repeat):
        for name, kw in variants:
            elapsed, signals, still_open = run(events, sim, **kw)
            best[name] = min(best.get(name, elapsed), elapsed)
            info[name] = (signals, still_open)
    for name, _ in variants:
        signals, still_open = info[name]
        print(f"  {name:<32} {best[name]:6.2f} s  {len(events) / best[name]:>10,.0f} events/s  "
              f"signals {signals}  open at the end {still_open}")
    base = best["engine alone"]
    for name in ("engine + outcomes", "engine + outcomes, no skipping"):
        print(f"outcome tracking adds {100 * (best[name] - base) / base:+.1f} % to replay cost ({name})")


if __name__ == "__main__":
    main()
