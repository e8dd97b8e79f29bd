"""Bucketed order-flow series for a chart: what the bot's renderer draws, nothing more.

Plain data (no numpy, no matplotlib) so the engine can hand it out and tests can compare the
plotted figures with the engine's own. One entry per bucket, oldest first; a bucket without
trades has ``nan`` open/high/low/close (the renderer leaves a gap) and zero volumes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .flow import FlowState

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


def build_series(flow: FlowState, symbol: str, window: str, bucket_s: int,
                 n: int = 60) -> ChartSeries | None:
    """``n`` buckets of ``bucket_s`` seconds ending with the flow state's current second, from
    its per-second ring (``FlowState.span``: flow sums and traded open/high/low/close per
    second): O(n x bucket_s) per call (at most 3,600 seconds), never a rescan of trades. None
    before the first event."""
    end = flow.sec
    if end < 0:
        return None
    last_start = end - end % bucket_s
    first_start = last_start - (n - 1) * bucket_s
    times, o, h, lo, c = [], [], [], [], []
    buy, sell, qty_l, lb, ls, ll, lsh = [], [], [], [], [], [], []
    span = flow.span
    for b in range(n):
        start = first_start + b * bucket_s
        sb, ss, slb, sls, sq, sll, sls2, bo, bh, bl, bc = span(start, min(start + bucket_s, end + 1))
        times.append(start)
        o.append(bo); h.append(bh); lo.append(bl); c.append(bc)  # noqa: E702
        buy.append(sb); sell.append(ss); qty_l.append(sq)  # noqa: E702
        lb.append(int(round(slb))); ls.append(int(round(sls)))  # noqa: E702
        ll.append(sll); lsh.append(sls2)  # noqa: E702
    # CVD at each bucket's end, backwards from the running total (which includes the newest second)
    cvd = [0.0] * n
    run = flow.cvd
    for b in range(n - 1, -1, -1):
        cvd[b] = run
        run -= buy[b] - sell[b]
    vwap, notional, qty = [], 0.0, 0.0
    for b in range(n):
        notional += buy[b] + sell[b]
        qty += qty_l[b]
        vwap.append(notional / qty if qty > 0 else math.nan)
    return ChartSeries(symbol=symbol, window=window, bucket_s=bucket_s, times=tuple(times), open=tuple(o),
                       high=tuple(h), low=tuple(lo), close=tuple(c), buy_usd=tuple(buy), sell_usd=tuple(sell),
                       cvd=tuple(cvd), vwap=tuple(vwap), large_buys=tuple(lb), large_sells=tuple(ls),
                       liq_long_usd=tuple(ll), liq_short_usd=tuple(lsh),
                       large_threshold_usd=flow.large_usd, version=end)
