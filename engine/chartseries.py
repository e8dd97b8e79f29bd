"""Bucketed order-flow series for a chart: what the bot's renderer draws, nothing more.

Plain data (no numpy, no matplotlib) so the engine can hand it out and tests can compare the
plotted figures with the engine's own. One entry per bucket, oldest first; a bucket without
trades has ``nan`` open/high/low/close (the renderer leaves a gap) and zero volumes.
"""
from __future__ import annotations

from dataclasses import dataclass

# (window, bucket seconds): 60 buckets for every window keeps a chart equally dense
CHART_BUCKETS = {"1m": 1, "5m": 5, "15m": 15, "1h": 60}


@dataclass(frozen=True, slots=True)
class ChartSeries:
    symbol: str
    window: str  # "1m" | "5m" | "15m" | "1h" (or "hunt" for a stop-hunt chart)
    bucket_s: int
    times: tuple[int, ...]  # bucket start, epoch seconds
    open: tuple[float, ...]
    high: tuple[float, ...]
    low: tuple[float, ...]
    close: tuple[float, ...]
    buy_usd: tuple[float, ...]  # taker buy notional in the bucket
    sell_usd: tuple[float, ...]
    cvd: tuple[float, ...]  # cumulative volume delta at the bucket's end (USD)
    vwap: tuple[float, ...]  # VWAP of the window up to and including the bucket (nan before trades)
    large_buys: tuple[int, ...]  # trades >= large_threshold_usd in the bucket
    large_sells: tuple[int, ...]
    liq_long_usd: tuple[float, ...]  # longs liquidated (forced sells) in the bucket
    liq_short_usd: tuple[float, ...]
    large_threshold_usd: float = 0.0
    version: int = 0  # the engine state's newest second: the render cache's key

    def __len__(self) -> int:
        return len(self.times)

    @property
    def empty(self) -> bool:
        return not any(b or s for b, s in zip(self.buy_usd, self.sell_usd)) and \
            not any(self.liq_long_usd) and not any(self.liq_short_usd)
