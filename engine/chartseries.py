"""Bucketed order-flow series for a chart: what the bot's renderer draws, nothing more.

Plain data (no numpy, no matplotlib) so the engine can hand it out and tests can compare the
plotted figures with the engine's own. One entry per bucket, oldest first; a bucket without
trades has ``nan`` open/high/low/close (the renderer leaves a gap) and zero volumes.
"""
from __future__ import annotations

import math
from array import array
from dataclasses import dataclass
from typing import Any

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


class PriceRing:
    """Per-second open/high/low/close of traded prices for the last ``size`` seconds.

    Flat arrays (no per-second objects): 3,600 s cost 5 x 8 bytes x 3,600 = 144 KB per symbol.
    O(1) per trade. A trade older than its slot's second (later than an hour, or a slot
    already reused) is ignored, as in ``engine.state.TradedRange``."""

    __slots__ = ("size", "_sec", "_o", "_h", "_l", "_c")

    def __init__(self, size: int = 3600) -> None:
        self.size = size
        self._sec = array("q", [-1]) * size
        self._o = array("d", [0.0]) * size
        self._h = array("d", [0.0]) * size
        self._l = array("d", [0.0]) * size
        self._c = array("d", [0.0]) * size

    def add(self, ts: int, price: float) -> None:
        sec = ts // 1000
        i = sec % self.size
        cur = self._sec[i]
        if cur == sec:
            if price > self._h[i]:
                self._h[i] = price
            elif price < self._l[i]:
                self._l[i] = price
            self._c[i] = price
        elif sec > cur:
            self._sec[i] = sec
            self._o[i] = self._h[i] = self._l[i] = self._c[i] = price

    def at(self, sec: int) -> tuple[float, float, float, float] | None:
        i = sec % self.size
        if self._sec[i] != sec:
            return None
        return self._o[i], self._h[i], self._l[i], self._c[i]


def build_series(flow: Any, prices: PriceRing, symbol: str, window: str, bucket_s: int,
                 n: int = 60) -> ChartSeries | None:
    """``n`` buckets of ``bucket_s`` seconds ending with the flow state's current second, from
    its per-second buckets (``flow.bucket_at``) and the price ring: O(n x bucket_s) per call
    (at most 3,600 seconds), never a rescan of trades. None before the first event."""
    end = flow.sec
    if end < 0:
        return None
    nan = math.nan
    last_start = end - end % bucket_s
    first_start = last_start - (n - 1) * bucket_s
    times, o, h, lo, c = [], [], [], [], []
    buy, sell, qty_l, lb, ls, ll, lsh = [], [], [], [], [], [], []
    for b in range(n):
        start = first_start + b * bucket_s
        bo = bh = bl = bc = nan
        sb = ss = sq = slb = sls = sll = sls2 = 0.0
        for sec in range(start, min(start + bucket_s, end + 1)):
            f = flow.bucket_at(sec)
            if f is not None:
                sb += f[0]; ss += f[1]; slb += f[2]; sls += f[3]; sq += f[4]; sll += f[6]; sls2 += f[7]  # noqa: E702
            p = prices.at(sec)
            if p is not None:
                if bo != bo:  # nan: the bucket's first traded second
                    bo, bh, bl = p[0], p[1], p[2]
                else:
                    bh = max(bh, p[1])
                    bl = min(bl, p[2])
                bc = p[3]
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
        vwap.append(notional / qty if qty > 0 else nan)
    return ChartSeries(symbol=symbol, window=window, bucket_s=bucket_s, times=tuple(times), open=tuple(o),
                       high=tuple(h), low=tuple(lo), close=tuple(c), buy_usd=tuple(buy), sell_usd=tuple(sell),
                       cvd=tuple(cvd), vwap=tuple(vwap), large_buys=tuple(lb), large_sells=tuple(ls),
                       liq_long_usd=tuple(ll), liq_short_usd=tuple(lsh),
                       large_threshold_usd=flow.large_usd, version=end)
