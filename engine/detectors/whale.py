"""Whale window: a cluster of large same-side taker orders within a minute.

Only large ORDERS (>= the symbol's ``whale_usd`` floor) enter this detector, so it costs nothing
on ordinary trades. An order is the merge of one taker's same-millisecond prints (engine/flow.py):
the detector is called once per order, at the print that makes it large, and its later prints
only grow the order's USD in the cluster total (``on_order_grew``) -- one order that sweeps 25
price levels is one large order, never 25.

A cluster is at least ``need`` large orders on one side within ``WHALE_WINDOW_MS``, where
``need`` is the largest of: ``WHALE_MIN_COUNT``; ``WHALE_BASELINE_X`` x the symbol's own
trailing rate of large orders per side per minute (liquid coins print large orders all the
time); and more than the coin's usual busy minute -- the mean + ``WHALE_SD_X`` deviations of
its busier side's per-minute count over the trailing hour (sampled at the first large order of
each minute, minutes without one count as zeros; O(1) amortised), so a coin whose traders
routinely run one-sided for a minute needs a bigger cluster. The other side must have at most
a third as many (``WHALE_ONE_SIDED``), and the imbalance must be more than a coin flip would
give: ``(ours - theirs) / sqrt(ours + theirs) >= WHALE_Z`` (8 against 0 passes, 12 against 4
does not) -- heavy two-sided volume lifts both sides' counts together and is not a whale window
however many large orders it prints. Needs ``WHALE_WARMUP_S`` of history for the baseline.
Direction LONG for a buy cluster, SHORT for sells.
"""
from __future__ import annotations

import math
from collections import deque

from ..events import Trade
from ..flow import LBUY, LSELL
from ..signals import Direction, Finding, Kind
from ..state import SymbolState
from ..thresholds import Thresholds

WHALE_WINDOW_MS = 60_000
WHALE_MIN_COUNT = 8
WHALE_BASELINE_X = 4.0
WHALE_WARMUP_S = 300
WHALE_ONE_SIDED = 3  # the cluster's side needs >= this many times the other side's count...
WHALE_Z = 2.5  # ...and a one-sidedness no fair coin would give, in deviations
BASELINE_MINUTES = 60
WHALE_SD_X = 3.0  # a cluster beats the coin's per-minute one-side count by this many deviations
WHALE_SD_MIN_MINUTES = 5


class LargeOrder:
    """One large order in the window; its USD still grows while later prints of it arrive."""

    __slots__ = ("ts", "usd", "venue", "in_window")

    def __init__(self, ts: int, usd: float, venue: str) -> None:
        self.ts = ts
        self.usd = usd
        self.venue = venue
        self.in_window = True  # False once it left the window (its USD was taken out)


class WhaleMemory:
    __slots__ = ("buys", "sells", "buy_usd", "sell_usd", "buy_armed", "sell_armed", "open",
                 "minute", "per_min", "s1", "s2")

    def __init__(self) -> None:
        self.buys: deque[LargeOrder] = deque()
        self.sells: deque[LargeOrder] = deque()
        self.buy_usd = 0.0
        self.sell_usd = 0.0
        self.buy_armed = True
        self.sell_armed = True
        self.open: dict[str, tuple[LargeOrder, bool]] = {}  # venue -> (its newest order, is_buy)
        # the coin's per-minute one-side large-order count over the trailing hour (see sample)
        self.minute = -1
        self.per_min: deque[float] = deque()
        self.s1 = self.s2 = 0.0

    def sample(self, minute: int, count: float) -> None:
        """At the first large order of a new minute: the busier side's count over the last
        minute; minutes without any large order count as zeros. O(1) amortised."""
        if self.minute >= 0:
            for _ in range(min(BASELINE_MINUTES, minute - self.minute - 1)):
                self._push(0.0)
        self.minute = minute
        self._push(count)

    def _push(self, x: float) -> None:
        self.per_min.append(x)
        self.s1 += x
        self.s2 += x * x
        if len(self.per_min) > BASELINE_MINUTES:
            old = self.per_min.popleft()
            self.s1 -= old
            self.s2 -= old * old

    def unusual_count(self) -> float:
        """Mean + WHALE_SD_X deviations of the per-minute count (0 until enough minutes)."""
        n = len(self.per_min)
        if n < WHALE_SD_MIN_MINUTES:
            return 0.0
        mean = self.s1 / n
        return mean + WHALE_SD_X * math.sqrt(max(0.0, self.s2 / n - mean * mean))

    def add(self, ts: int, usd: float, is_buy: bool, venue: str) -> None:
        entry = LargeOrder(ts, usd, venue)
        self.open[venue] = (entry, is_buy)
        if is_buy:
            self.buys.append(entry)
            self.buy_usd += usd
        else:
            self.sells.append(entry)
            self.sell_usd += usd
        cutoff = max(ts, self.buys[-1].ts if self.buys else 0,
                     self.sells[-1].ts if self.sells else 0) - WHALE_WINDOW_MS
        while self.buys and self.buys[0].ts <= cutoff:
            gone = self.buys.popleft()
            self.buy_usd -= gone.usd
            gone.in_window = False  # for on_order_grew
        while self.sells and self.sells[0].ts <= cutoff:
            gone = self.sells.popleft()
            self.sell_usd -= gone.usd
            gone.in_window = False
        if not self.buys:
            self.buy_usd = 0.0
        if not self.sells:
            self.sell_usd = 0.0


class WhaleWindowDetector:
    __slots__ = ()

    def baseline_per_min(self, st: SymbolState) -> float | None:
        history = st.flow.history_s()
        if history < WHALE_WARMUP_S:
            return None
        wh = st.flow.sums[3]
        return (wh[LBUY] + wh[LSELL]) / 2.0 / (history / 60.0)

    def on_order_grew(self, st: SymbolState, venue: str, usd: float) -> None:
        """A later print of the venue's newest large order: its USD grows, its count does not."""
        mem: WhaleMemory | None = st.det_whale
        if mem is None:
            return
        item = mem.open.get(venue)
        if item is None:
            return
        entry, is_buy = item
        if not entry.in_window:  # left the window already (its USD was taken out)
            return
        entry.usd += usd
        if is_buy:
            mem.buy_usd += usd
        else:
            mem.sell_usd += usd

    def on_large_order(self, st: SymbolState, ev: Trade, is_buy: bool, order_usd: float,
                       th: Thresholds) -> Finding | None:
        """``ev`` is the print that made its order large; ``order_usd`` the order's USD so far."""
        mem: WhaleMemory | None = st.det_whale
        if mem is None:
            mem = st.det_whale = WhaleMemory()
        minute = ev.ts // 60_000
        if minute != mem.minute:
            w1 = st.flow.window(0)
            mem.sample(minute, max(w1[LBUY], w1[LSELL]))
        mem.add(ev.ts, order_usd, is_buy, ev.venue)
        baseline = self.baseline_per_min(st)
        if baseline is None:
            return None
        need = max(WHALE_MIN_COUNT, math.ceil(WHALE_BASELINE_X * baseline * WHALE_WINDOW_MS / 60_000),
                   math.floor(mem.unusual_count()) + 1)
        ours, theirs = (mem.buys, mem.sells) if is_buy else (mem.sells, mem.buys)
        armed = mem.buy_armed if is_buy else mem.sell_armed
        count = len(ours)
        if count < need:
            if count <= need // 2:
                if is_buy:
                    mem.buy_armed = True
                else:
                    mem.sell_armed = True
            return None
        other = len(theirs)
        if (not armed or other * WHALE_ONE_SIDED > count
                or count - other < WHALE_Z * math.sqrt(count + other)):
            return None
        if is_buy:
            mem.buy_armed = False
        else:
            mem.sell_armed = False
        cluster_usd = mem.buy_usd if is_buy else mem.sell_usd
        return Finding(
            kind=Kind.WHALE_WINDOW,
            symbol=st.symbol,
            direction=Direction.LONG if is_buy else Direction.SHORT,
            ts=ev.ts,
            recv_ns=ev.recv_ns,
            magnitudes={
                "whale_count": float(count),
                "whale_usd": st.flow.large_usd,
                "cluster_usd": cluster_usd,
                "opposite_count": float(len(theirs)),
                "baseline_per_min": baseline,
                "window_s": WHALE_WINDOW_MS / 1000,
                "price": ev.price,
            },
            components={
                "whale_cluster": round(min(40.0, 20.0 * count / need), 1),
                "one_sided": round(min(20.0, 20.0 * (1.0 - len(theirs) / count)), 1),
                "cluster_size": round(min(15.0, 15.0 * cluster_usd / (count * st.flow.large_usd * 3)), 1),
            },
            venues=tuple(sorted({order.venue for order in ours})),
        )
