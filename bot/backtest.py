"""``teleglas backtest`` and ``teleglas replay --json``: the engine over a recording (or the
simulator) with outcome tracking, synchronously and as fast as the CPU allows.

The same ``Engine``, ``SignalEngine`` and ``OutcomeTracker`` as the live service, hooked the
same way (``Engine.on_trade`` + the sink), so a backtest's outcomes are the live ones.
Progress goes to stderr through tqdm (a small, dependency-free progress meter that writes to
any stream and switches itself off when stderr is not a terminal; rich would bring a whole
rendering stack for one bar); stdout carries only the report or the JSON.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import orjson

from engine.backtest import Calibration, build_report, format_report
from engine.contract import check as contract_check
from engine.core import Engine
from engine.events import Event
from engine.outcomes import Outcome, OutcomeTracker
from engine.signals import Signal, SignalEngine

# the fields of one signal in ``--json`` output (README "Signals as JSON" documents them)
SIGNAL_FIELDS = ("id", "kind", "symbol", "direction", "tier", "score", "ts", "recv_ns", "signal_ns",
                 "magnitudes", "levels", "venues", "thread", "upgrades", "edits", "default_delivery",
                 "default_skip")


def signal_json(signal: Signal) -> dict[str, Any]:
    """One signal as documented JSON: event time ``ts`` (epoch ms), receive time ``recv_ns`` and
    engine time ``signal_ns`` (epoch ns), and whether a subscriber with default settings would
    receive it (``default_delivery``; ``default_skip`` names the rule that stops it)."""
    d = signal.to_dict()
    skip = contract_check(signal)[0]  # the rule delivery applies to a default subscriber
    return {
        "id": d["id"], "kind": d["kind"], "symbol": d["symbol"], "direction": d["direction"],
        "tier": d["tier"], "score": d["confidence"], "ts": d["ts"], "recv_ns": d["recv_ns"],
        "signal_ns": d["signal_ns"], "magnitudes": d["magnitudes"], "levels": d["levels"],
        "venues": d["venues"], "thread": d["thread"], "upgrades": d["upgrades"], "edits": d["edits"],
        "default_delivery": skip is None, "default_skip": None if skip is None else skip.value,
    }


def write_json_line(obj: Mapping[str, Any], out: TextIO | None = None) -> None:
    out = out or sys.stdout
    out.write(orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY).decode() + "\n")


class _TrackingSink:
    """Signals in: timed (engine latency: from the start of processing the event that completed
    a signal to its emission), kept, and handed to the outcome tracker."""

    def __init__(self, tracker: OutcomeTracker | None, on_signal: Callable[[Signal], None] | None) -> None:
        self.tracker = tracker
        self.on_signal = on_signal
        self.signals: list[Signal] = []
        self.latencies_us: list[float] = []
        self.event_started_ns = 0

    def emit(self, signal: Signal) -> None:
        self.latencies_us.append((time.perf_counter_ns() - self.event_started_ns) / 1000)
        self.signals.append(signal)
        if self.tracker is not None:
            self.tracker.on_signal(signal)
        if self.on_signal is not None:
            self.on_signal(signal)


@dataclass(slots=True)
class OfflineRun:
    engine: Engine
    signals: list[Signal]
    outcomes: list[Outcome]
    latencies_us: list[float]
    wall_s: float
    first_ts: int = 0
    last_ts: int = 0
    skipped: int = 0  # events outside --since/--until
    tracker: OutcomeTracker | None = field(default=None)


def run_offline(batches: Iterable[list[Event]], *, track: bool = True, since_ms: int | None = None,
                until_ms: int | None = None, on_signal: Callable[[Signal], None] | None = None,
                progress: Callable[[int, int], None] | None = None) -> OfflineRun:
    """Run the engine (and the outcome tracker) over event batches, synchronously."""
    tracker = OutcomeTracker(keep=True) if track else None
    sink = _TrackingSink(tracker, on_signal)
    engine = Engine(SignalEngine(sink))
    if tracker is not None:
        engine.track_outcomes(tracker)
    process = engine.process
    clock = time.perf_counter_ns
    first = last = 0
    skipped = 0
    lo = since_ms if since_ms is not None else -(1 << 62)
    hi = until_ms if until_ms is not None else 1 << 62
    t0 = time.perf_counter()
    for batch in batches:
        for ev in batch:
            ts = ev.ts
            if ts < lo or ts > hi:
                skipped += 1
                continue
            if not first:
                first = ts
            if ts > last:
                last = ts
            sink.event_started_ns = clock()
            process(ev)
        if progress is not None:
            progress(len(batch), last)
    if tracker is not None:
        tracker.finish(last or None)
    return OfflineRun(engine, sink.signals, tracker.outcomes if tracker else [], sink.latencies_us,
                      time.perf_counter() - t0, first, last, skipped, tracker)


def parse_time(text: str) -> int:
    """Epoch ms from ISO 8601 (UTC when no zone is given) or an epoch in s or ms."""
    t = text.strip()
    if t.isdigit():
        n = int(t)
        return n * 1000 if n < 10**11 else n
    try:
        dt = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a time: use ISO 8601 (2024-08-08T23:55:00Z) or epoch seconds/ms") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def _iso(ms: int) -> str | None:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds") if ms else None


def backtest_command(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    if bool(args.file) == bool(args.simulator):
        print("teleglas backtest: give a recording FILE or --simulator (one of them)", file=sys.stderr)
        return 2
    try:
        since = parse_time(args.since) if args.since else None
        until = parse_time(args.until) if args.until else None
    except ValueError as e:
        print(f"teleglas backtest: {e}", file=sys.stderr)
        return 2
    source: dict[str, Any]
    if args.simulator:
        from engine.simulator import MarketSimulator

        if args.minutes <= 0 or args.seeds < 1:
            print("teleglas backtest: --minutes must be positive and --seeds at least 1", file=sys.stderr)
            return 2
        seeds = list(range(args.seed, args.seed + args.seeds))
        source = {"source": "simulator", "seed": args.seed, "seeds": args.seeds, "minutes": args.minutes}
        bar = tqdm(total=int(args.minutes * 60) * len(seeds), unit="s", desc="simulated", file=sys.stderr,
                   disable=args.no_progress or None, leave=False)
        runs = []
        try:
            for seed in seeds:  # one engine per seed: every simulated market starts at the same time
                sim = MarketSimulator(seed=seed, duration_s=args.minutes * 60)
                done = bar.n

                def progress(n: int, last_ts: int, start: int = sim.start_ts, done: int = done) -> None:
                    bar.update(max(0, done + (last_ts - start) // 1000 - bar.n))

                runs.append(run_offline(sim.batches(), since_ms=since, until_ms=until, progress=progress))
        finally:
            bar.close()
        run = _merge(runs)
    else:
        from engine.feeds.replay import ReplayFeed

        if not Path(args.file).is_file():
            print(f"teleglas backtest: {args.file}: no such file", file=sys.stderr)
            return 2
        feed = ReplayFeed(args.file)
        source = {"source": str(args.file)}
        bar = tqdm(unit=" events", desc=Path(args.file).name, file=sys.stderr,
                   disable=args.no_progress or None, leave=False, unit_scale=True)
        try:
            run = run_offline(feed.events(), since_ms=since, until_ms=until,
                              progress=lambda n, last_ts: bar.update(n))
        finally:
            bar.close()
        if why := feed.not_a_recording():
            print(f"teleglas backtest: {why}", file=sys.stderr)
            return 2
    st = run.engine.stats
    meta = {
        **source,
        "since": _iso(since or 0), "until": _iso(until or 0),
        "first_event": _iso(run.first_ts), "last_event": _iso(run.last_ts),
        "events": {"processed": st.events, "trades": st.trades, "liquidations": st.liquidations,
                   "fundings": st.fundings, "marks": st.marks, "rejected": st.rejected,
                   "outside_since_until": run.skipped},
        "wall_s": round(run.wall_s, 3),
        "events_per_s": round(st.events / run.wall_s) if run.wall_s > 0 else None,
        "still_open": sum(1 for o in run.outcomes if o.result.value == "OPEN"),
        "signals": len(run.signals),
        # updates that edit an earlier signal's message (a cascade's growing total): same event, no outcome
        "edits": sum(1 for s in run.signals if s.edits),
    }
    report = build_report(run.outcomes, latencies_us=run.latencies_us, meta=meta)
    if args.write_calibration:
        Calibration.from_report(report, _source_text(source)).save(args.write_calibration)
    if args.json:
        by_id = {o.signal.id: o for o in run.outcomes}
        report["signal_list"] = [
            {**signal_json(s), "outcome": by_id[s.id].summary() if s.id in by_id else None}
            for s in run.signals
        ]
        write_json_line(report)
        return 0
    print(f"TELEGLAS backtest — {_source_text(source)}")
    print(f"events {st.events:,} (trades {st.trades:,}, liquidations {st.liquidations:,}) · "
          f"{meta['first_event']} → {meta['last_event']} · {run.wall_s:.1f} s wall, "
          f"{meta['events_per_s'] or 0:,} events/s")
    print(f"signals {len(run.signals)} ({meta['edits']} of them edits of an earlier alert, no outcome of "
          f"their own) · outcomes still open at the end of the tape: {meta['still_open']}")
    if st.liquidations == 0:
        print("note: no liquidations in this tape: no cascade or stop hunt can occur")
    print()
    print(format_report(report))
    if args.write_calibration:
        print(f"\ncalibration written to {args.write_calibration}")
    return 0


def _source_text(source: Mapping[str, Any]) -> str:
    if source["source"] == "simulator":
        if source.get("seeds", 1) > 1:
            last = source["seed"] + source["seeds"] - 1
            return f"simulator seeds {source['seed']}-{last}, {source['minutes']:g} min each"
        return f"simulator seed {source['seed']}, {source['minutes']:g} min"
    return str(source["source"])


def _merge(runs: list[OfflineRun]) -> OfflineRun:
    """Several simulator runs as one: their signals, outcomes and latencies together; the
    engine counters summed into the first run's engine."""
    first = runs[0]
    for other in runs[1:]:
        a, b = first.engine.stats, other.engine.stats
        for name in ("events", "trades", "liquidations", "fundings", "marks", "findings", "rejected", "duplicates"):
            setattr(a, name, getattr(a, name) + getattr(b, name))
        first.signals.extend(other.signals)
        first.outcomes.extend(other.outcomes)
        first.latencies_us.extend(other.latencies_us)
        first.wall_s += other.wall_s
        first.skipped += other.skipped
        first.last_ts = max(first.last_ts, other.last_ts)
    return first
