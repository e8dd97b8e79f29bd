"""Milliseconds per chart (render + PNG encode) for /flow and stop-hunt charts.

    .venv/bin/python benchmarks/bench_charts.py [N]

Renders N flow charts and N stop-hunt charts of 60 buckets at 1080x1080 in this process's
main thread (the bot renders the same way in one worker thread) and prints p50/p95/max. First,
what reading a series from the engine's per-second ring costs per window (``Engine.flow_chart``
after an hour of four trades a second on one symbol).
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.charts import render_flow_chart, render_hunt_chart, synthetic_series  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def series_ms(n: int) -> dict[str, float]:
    """Median ms of ``Engine.flow_chart`` per window, after an hour of trades on one symbol."""
    from engine.core import Engine
    from engine.events import Side, Trade
    from engine.signals import ListSink, SignalEngine

    engine = Engine(SignalEngine(ListSink(), wall_ns=lambda: 0))
    t0 = 1_767_225_600_000
    engine.process_many([Trade("binance", "SOL", 100.0 + (k % 50) / 10, 10.0, 1_000.0,
                               Side.BUY if k % 3 else Side.SELL, t0 + k * 250, (t0 + k * 250) * 1_000_000)
                         for k in range(4 * 3600)])
    out = {}
    for window in ("1m", "5m", "15m", "1h"):
        ms = []
        for _ in range(n):
            c = time.perf_counter()
            engine.flow_chart("SOL", window)
            ms.append((time.perf_counter() - c) * 1000)
        out[window] = statistics.median(ms)
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    print("series from the engine's ring: " + ", ".join(f"{w} {ms:.2f} ms" for w, ms in series_ms(n).items()))
    tz = ZoneInfo("Asia/Jakarta")
    render_flow_chart(synthetic_series(), tz=tz)  # warm-up: font cache, imports
    for name in ("flow", "hunt"):
        ms, size = [], 0
        for i in range(n):
            s = synthetic_series(seed=i, bucket_s=15 if name == "flow" else 5)
            t0 = time.perf_counter()
            if name == "flow":
                png = render_flow_chart(s, tz=tz)
            else:
                lv = SimpleNamespace(zone_low=min(s.low), zone_high=min(s.low) * 1.002,
                                     entry_low=s.close[-1] * 0.999, entry_high=s.close[-1] * 1.001,
                                     stop=min(s.low) * 0.997, targets=(s.close[-1] * 1.01, s.close[-1] * 1.02))
                png = render_hunt_chart(s, lv, tz=tz)
            ms.append((time.perf_counter() - t0) * 1000)
            size = max(size, len(png))
        print(f"{name:5s} chart: p50 {statistics.median(ms):6.1f} ms  p95 {pct(ms, 0.95):6.1f} ms  "
              f"max {max(ms):6.1f} ms  (n={n}, png <= {size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
