"""Throughput of the whole engine next to the cost of parsing alone, in the same run.

Two sources, each measured twice over the SAME frames:
- the simulator: its events are serialised ONCE up front into Binance-format combined-stream
  JSON frames (aggTrade, forceOrder, markPriceUpdate); then we time (a) ``orjson.loads`` +
  ``engine.feeds.binance.parse_message`` and (b) loads + parse + ``Engine.process``;
- the real Binance tape (../shared/data/real/btcusdt_20240808.gz), looped: each pass shifts event
  times by the recording's span so time keeps moving forward. Book-ticker and depth frames parse
  to nothing, exactly as they do live.

    .venv/bin/python benchmarks/bench_pipeline.py            # ~3.5M frames
    .venv/bin/python benchmarks/bench_pipeline.py --sim-hours 2 --loops 5   # quicker

Prints events/s for parse-only and for the full pipeline and the ratio of their costs.
"""
from __future__ import annotations

import argparse
import gc
import gzip
import sys
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.core import Engine  # noqa: E402
from engine.events import Funding, Liquidation, MarkOI, PositionSide, Side, Trade  # noqa: E402
from engine.feeds.binance import parse_message  # noqa: E402
from engine.feeds.replay import parse_line  # noqa: E402
from engine.signals import ListSink, SignalEngine  # noqa: E402
from engine.simulator import MarketSimulator  # noqa: E402

REAL_TAPE = ROOT.parent / "shared" / "data" / "real" / "btcusdt_20240808.gz"


def _px(value: float) -> str:
    return f"{value:.10f}".rstrip("0").rstrip(".") if value < 1 else f"{value:.2f}"


def sim_frames(sim: MarketSimulator) -> list[tuple[int, bytes]]:
    """The simulator's tape as Binance combined-stream frames (receive ns, raw bytes)."""
    dumps = orjson.dumps
    out: list[tuple[int, bytes]] = []
    funding: dict[str, float] = {}
    agg_id = 0
    for ev in sim.events():
        cls = type(ev)
        pair = ev.symbol + "USDT"
        if cls is Trade:
            agg_id += 1
            data = {"e": "aggTrade", "E": ev.ts, "s": pair, "a": agg_id, "p": _px(ev.price),
                    "q": f"{ev.qty:.6f}", "f": agg_id, "l": agg_id, "T": ev.ts, "m": ev.side is Side.SELL}
            stream = pair.lower() + "@aggTrade"
        elif cls is Liquidation:
            qty = f"{ev.qty:.6f}"
            data = {"e": "forceOrder", "E": ev.ts, "o": {
                "s": pair, "S": "SELL" if ev.position is PositionSide.LONG else "BUY", "o": "LIMIT",
                "f": "IOC", "q": qty, "p": _px(ev.price), "ap": _px(ev.price), "X": "FILLED",
                "l": qty, "z": qty, "T": ev.ts}}
            stream = pair.lower() + "@forceOrder"
        elif cls is Funding:
            funding[ev.symbol] = ev.rate  # travels in the next mark-price frame, as on Binance
            continue
        elif cls is MarkOI:
            data = {"e": "markPriceUpdate", "E": ev.ts, "s": pair, "p": _px(ev.mark), "i": _px(ev.index),
                    "P": _px(ev.mark), "r": f"{funding.get(ev.symbol, 0.0001):.8f}", "T": ev.ts + 3_600_000}
            stream = pair.lower() + "@markPrice@1s"
        else:
            continue
        out.append((ev.recv_ns, dumps({"stream": stream, "data": data})))
    return out


def real_frames(path: Path) -> list[tuple[int, bytes]]:
    out = []
    with gzip.open(path, "rb") as fh:
        for line in fh:
            line = line.strip()
            if line:
                out.append(parse_line(line))
    return out


def time_parse(frames, shift_ms: int) -> tuple[float, int]:
    loads = orjson.loads
    n = 0
    t0 = time.perf_counter()
    shift_ns = shift_ms * 1_000_000
    for recv_ns, raw in frames:
        # the receive time moves with the event time: the engine refuses events stamped ahead of it
        events = parse_message(loads(raw), recv_ns + shift_ns)
        for ev in events:
            ev.ts += shift_ms
        n += len(events)
    return time.perf_counter() - t0, n


def time_pipeline(engine: Engine, frames, shift_ms: int) -> tuple[float, int]:
    loads = orjson.loads
    process = engine.process
    n = 0
    t0 = time.perf_counter()
    shift_ns = shift_ms * 1_000_000
    for recv_ns, raw in frames:
        events = parse_message(loads(raw), recv_ns + shift_ns)
        for ev in events:
            ev.ts += shift_ms
            process(ev)
        n += len(events)
    return time.perf_counter() - t0, n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sim-hours", type=float, default=12.0, help="simulated hours (default 12)")
    ap.add_argument("--chunk-hours", type=float, default=1.0, help="simulate/serialise this much at a time")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--loops", type=int, default=20, help="passes over the real tape (default 20)")
    args = ap.parse_args(argv)

    sink = ListSink()
    engine = Engine(SignalEngine(sink, wall_ns=lambda: 0))
    totals = {"sim": [0.0, 0.0, 0, 0], "real": [0.0, 0.0, 0, 0]}  # parse s, pipeline s, frames, events
    gc.collect()

    chunks = max(1, round(args.sim_hours / args.chunk_hours))
    start = 1_767_225_600_000
    for i in range(chunks):
        sim = MarketSimulator(seed=args.seed + i, duration_s=args.chunk_hours * 3600,
                              start_ts=start + int(i * args.chunk_hours * 3_600_000))
        frames = sim_frames(sim)
        p, n = time_parse(frames, 0)
        f, n2 = time_pipeline(engine, frames, 0)
        assert n == n2
        t = totals["sim"]
        t[0] += p
        t[1] += f
        t[2] += len(frames)
        t[3] += n

    if REAL_TAPE.is_file() and args.loops > 0:
        frames = real_frames(REAL_TAPE)
        first = last = None
        for _recv, raw in frames:  # the tape's span in event time, to shift each loop by
            msg = orjson.loads(raw)
            data = msg.get("data", msg)
            ts = data.get("T") or data.get("E") if isinstance(data, dict) else None
            if isinstance(ts, int):
                first = ts if first is None else min(first, ts)
                last = ts if last is None else max(last, ts)
        span = (last - first + 1000) if first is not None else 0
        sim_end = start + int(chunks * args.chunk_hours * 3_600_000)
        base = max(0, sim_end - (first or 0)) + 60_000  # after the simulator: time only moves forward
        for k in range(args.loops):
            shift = base + k * span
            p, n = time_parse(frames, shift)
            f, n2 = time_pipeline(engine, frames, shift)
            t = totals["real"]
            t[0] += p
            t[1] += f
            t[2] += len(frames)
            t[3] += n
    else:
        print(f"(real tape {REAL_TAPE} not found: simulator only)")

    print(f"{'source':<10} {'frames':>11} {'events':>11} {'parse-only ev/s':>16} {'pipeline ev/s':>14} "
          f"{'cost ratio':>10}")
    all_p = all_f = 0.0
    all_n = all_frames = 0
    for name, (p, f, frames_n, n) in totals.items():
        if not frames_n:
            continue
        all_p += p
        all_f += f
        all_n += n
        all_frames += frames_n
        print(f"{name:<10} {frames_n:>11,} {n:>11,} {n / p:>16,.0f} {n / f:>14,.0f} {f / p:>9.2f}x")
    print(f"{'total':<10} {all_frames:>11,} {all_n:>11,} {all_n / all_p:>16,.0f} {all_n / all_f:>14,.0f} "
          f"{all_f / all_p:>9.2f}x")
    print(f"frames/s through the full pipeline: {all_frames / all_f:,.0f}")
    st = engine.stats
    print(f"engine: {st.events:,} events, {st.findings:,} findings, {len(sink.signals):,} signals, "
          f"{st.rejected:,} rejected, {len(engine.states)} symbols")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
