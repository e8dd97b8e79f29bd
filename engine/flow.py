"""Order flow per symbol: rolling 1m / 5m / 15m / 1h taker volume, delta, CVD, whales, VWAP.

Windows are made of one-second buckets keyed by event time. A window of ``L`` seconds at the
newest event's second ``s`` covers the seconds ``s-L+1 .. s`` (the current second included, so a
snapshot is never stale by up to a second). Per trade only the current bucket's running sums
change; when a new second begins the finished bucket is added to each window's sums and the
buckets that fell out are subtracted (each bucket enters and leaves each window once): O(1)
amortised per event, no rescans, and memory bounded by 3,600 buckets per symbol.

Late (out-of-order) events land in the bucket of their own second while that second is less than
an hour old, and count in every window that still covers it; older ones are dropped and counted.

Orders, not prints: one taker order that sweeps several price levels arrives as several prints
with the same venue, symbol, side and trade time (Binance aggTrade/trade ``T``, Bybit publicTrade
``T``, OKX ``ts`` -- each feed puts that trade time in ``Trade.ts``). Consecutive such prints are
merged into one order by an O(1) accumulator per (symbol, venue): a large-order count goes up ONCE,
at the print where the order's accumulated notional crosses ``large_usd`` (no added latency), and
later prints of the same order only grow it. Volume, delta, CVD and trade counts still add every
print. After each ``add_trade`` the engine reads ``order_large`` (this print made a large order),
``order_grew`` (this print grew an order already counted as large) and ``order_usd`` (the
order's notional so far) to drive the whale detector once per order.

``FlowSnapshot`` is what ``Engine.flow(symbol, window)`` returns for the bot's ``/flow``.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

FLOW_WINDOWS = ("1m", "5m", "15m", "1h")
WINDOW_SECONDS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600}
_LENS = (60, 300, 900, 3600)
RING = 3600  # seconds of buckets kept: the longest window
VENUE_FLOW_S = 300  # per-venue buy/sell sums (for cross-venue flow disagreement) over 5 min

# fields of a bucket and of a window's sums
BUY, SELL, LBUY, LSELL, QTY, N, LIQL, LIQS = range(8)
_FIELDS = 8


@dataclass(frozen=True, slots=True)
class FlowSnapshot:
    symbol: str
    window: str  # "1m" | "5m" | "15m" | "1h"
    buy_usd: float
    sell_usd: float
    buy_share: float  # 0..1, 0.5 when the window is empty
    net_delta: float  # buy_usd - sell_usd
    cvd: float  # cumulative volume delta since the engine started (USD)
    large_buys: int
    large_sells: int
    large_threshold_usd: float
    vwap: float
    last_price: float
    trades: int
    liq_long_usd: float
    liq_short_usd: float
    funding_8h: dict[str, float]  # venue -> latest funding, fraction per 8 h
    venues: tuple[str, ...]
    ts: int  # event time of the newest event, epoch ms


class VenueFlow:
    """Per-venue last price and a 5-minute buy/sell window (cross-venue divergence)."""

    __slots__ = ("price", "ts", "cur_buy", "cur_sell", "buy", "sell", "_items",
                 "ord_ts", "ord_buy", "ord_usd", "ord_large")

    def __init__(self) -> None:
        self.price = 0.0
        self.ts = 0
        # the open taker order on this venue: consecutive prints with this trade time and side
        self.ord_ts = -1
        self.ord_buy = False
        self.ord_usd = 0.0
        self.ord_large = False  # already counted as a large order
        self.cur_buy = 0.0
        self.cur_sell = 0.0
        self.buy = 0.0  # completed seconds inside the window
        self.sell = 0.0
        self._items: deque[tuple[int, float, float]] = deque()

    def roll(self, sec: int, new_sec: int) -> None:
        if self.cur_buy or self.cur_sell:
            self._items.append((sec, self.cur_buy, self.cur_sell))
            self.buy += self.cur_buy
            self.sell += self.cur_sell
            self.cur_buy = self.cur_sell = 0.0
        items = self._items
        cutoff = new_sec - VENUE_FLOW_S  # seconds <= cutoff have left the window
        while items and items[0][0] <= cutoff:
            _s, b, s = items.popleft()
            self.buy -= b
            self.sell -= s
        if not items:
            self.buy = self.sell = 0.0

    @property
    def volume(self) -> float:
        return self.buy + self.sell + self.cur_buy + self.cur_sell

    @property
    def buy_share(self) -> float:
        vol = self.volume
        return (self.buy + self.cur_buy) / vol if vol > 0 else 0.5


class FlowState:
    """Rolling order-flow windows for one symbol (all venues together)."""

    __slots__ = ("sec", "first_sec", "c_buy", "c_sell", "c_lbuy", "c_lsell", "c_qty", "c_n",
                 "c_liql", "c_liqs", "_ring", "_ring_sec", "sums", "cvd", "last_price", "last_ts",
                 "large_usd", "venues", "late_dropped", "order_large", "order_grew", "order_usd")

    def __init__(self, large_usd: float) -> None:
        self.sec = -1  # the current (newest) second; -1 before the first event
        self.first_sec = -1
        self.c_buy = self.c_sell = self.c_qty = self.c_liql = self.c_liqs = 0.0
        self.c_lbuy = self.c_lsell = self.c_n = 0
        self._ring: list[list[float] | None] = [None] * RING
        self._ring_sec: list[int] = [-1] * RING
        self.sums: tuple[list[float], ...] = tuple([0.0] * _FIELDS for _ in _LENS)
        self.cvd = 0.0
        self.last_price = 0.0
        self.last_ts = 0
        self.large_usd = large_usd
        self.venues: dict[str, VenueFlow] = {}
        self.late_dropped = 0
        self.order_large = False  # the latest print completed a large order (count it once)
        self.order_grew = False  # the latest print grew an order already counted as large
        self.order_usd = 0.0  # notional of the latest print's order so far

    # ---- updates ---------------------------------------------------------------------------
    def add_trade(self, venue: str, ts: int, price: float, qty: float, notional: float,
                  is_buy: bool) -> bool:
        """Count one print. Returns True when it began a new second (the previous one is final).

        Sets ``order_large`` / ``order_grew`` / ``order_usd`` for the print's taker order."""
        vf = self.venues.get(venue)
        if vf is None:
            vf = self.venues[venue] = VenueFlow()
        # merge the prints of one taker order: same venue (this VenueFlow), side and trade time
        if ts == vf.ord_ts and is_buy == vf.ord_buy:
            usd = vf.ord_usd = vf.ord_usd + notional
        else:
            vf.ord_ts = ts
            vf.ord_buy = is_buy
            usd = vf.ord_usd = notional
            vf.ord_large = False
        self.order_usd = usd
        if vf.ord_large:
            large = False
            self.order_grew = True
        else:
            large = usd >= self.large_usd
            vf.ord_large = large
            self.order_grew = False
        self.order_large = large
        sec = ts // 1000
        rolled = False
        if sec != self.sec:
            if sec < self.sec:
                self._late_trade(vf, sec, ts, price, qty, notional, is_buy, large)
                return False
            rolled = self.sec >= 0
            self._roll(sec)
        if is_buy:
            self.c_buy += notional
            self.cvd += notional
            vf.cur_buy += notional
            if large:
                self.c_lbuy += 1
        else:
            self.c_sell += notional
            self.cvd -= notional
            vf.cur_sell += notional
            if large:
                self.c_lsell += 1
        self.c_qty += qty
        self.c_n += 1
        if ts >= self.last_ts:
            self.last_ts = ts
            self.last_price = price
        if ts >= vf.ts:
            vf.ts = ts
            vf.price = price
        return rolled

    def add_liquidation(self, ts: int, notional: float, is_long: bool) -> bool:
        sec = ts // 1000
        rolled = False
        if sec != self.sec:
            if sec < self.sec:
                if self.sec - sec >= RING:
                    self.late_dropped += 1
                    return False
                bucket = self._late_bucket(sec)
                bucket[LIQL if is_long else LIQS] += notional
                for sums, length in zip(self.sums, _LENS):
                    if sec > self.sec - length:
                        sums[LIQL if is_long else LIQS] += notional
                return False
            rolled = self.sec >= 0
            self._roll(sec)
        if is_long:
            self.c_liql += notional
        else:
            self.c_liqs += notional
        if ts > self.last_ts:
            self.last_ts = ts
        return rolled

    def advance(self, ts: int) -> bool:
        """Move time forward without a trade (e.g. a mark-price tick). True when a second ended."""
        sec = ts // 1000
        if sec > self.sec:
            rolled = self.sec >= 0
            self._roll(sec)
            return rolled
        return False

    def _roll(self, new_sec: int) -> None:
        old = self.sec
        if old < 0:
            self.sec = self.first_sec = new_sec
            return
        bucket = [self.c_buy, self.c_sell, float(self.c_lbuy), float(self.c_lsell), self.c_qty,
                  float(self.c_n), self.c_liql, self.c_liqs]
        slot = old % RING  # the current second is never a late event's bucket: a fresh slot
        self._ring[slot] = bucket
        self._ring_sec[slot] = old
        ring, ring_sec = self._ring, self._ring_sec
        gap = new_sec - old
        for sums, length in zip(self.sums, _LENS):
            if gap >= length:  # everything left this window
                for i in range(_FIELDS):
                    sums[i] = 0.0
                continue
            for i in range(_FIELDS):
                sums[i] += bucket[i]
            # seconds old-L+1 .. new-L leave the window
            for k in range(old - length + 1, new_sec - length + 1):
                s = k % RING
                if ring_sec[s] == k:
                    b = ring[s]
                    for i in range(_FIELDS):
                        sums[i] -= b[i]
            if sums[N] < 0.5:  # no trades left: clamp float drift to exact zeros
                for i in range(LIQL):
                    sums[i] = 0.0
                if abs(sums[LIQL]) + abs(sums[LIQS]) < 1e-3:
                    sums[LIQL] = sums[LIQS] = 0.0
        self.sec = new_sec
        self.c_buy = self.c_sell = self.c_qty = self.c_liql = self.c_liqs = 0.0
        self.c_lbuy = self.c_lsell = self.c_n = 0
        for vf in self.venues.values():
            vf.roll(old, new_sec)

    def _late_bucket(self, sec: int) -> list[float]:
        slot = sec % RING
        if self._ring_sec[slot] != sec:
            self._ring[slot] = [0.0] * _FIELDS
            self._ring_sec[slot] = sec
        return self._ring[slot]

    def _late_trade(self, vf: VenueFlow, sec: int, ts: int, price: float, qty: float,
                    notional: float, is_buy: bool, large: bool) -> None:
        if self.sec - sec >= RING:
            self.late_dropped += 1
            self.order_large = self.order_grew = False
            return
        delta = (notional if is_buy else 0.0, 0.0 if is_buy else notional,
                 1.0 if is_buy and large else 0.0, 1.0 if large and not is_buy else 0.0,
                 qty, 1.0, 0.0, 0.0)
        bucket = self._late_bucket(sec)
        for i in range(_FIELDS):
            bucket[i] += delta[i]
        for sums, length in zip(self.sums, _LENS):
            if sec > self.sec - length:
                for i in range(_FIELDS):
                    sums[i] += delta[i]
        self.cvd += notional if is_buy else -notional
        if ts >= vf.ts:
            vf.ts = ts
            vf.price = price

    # ---- reading ---------------------------------------------------------------------------
    def window(self, index: int) -> tuple[float, ...]:
        """Sums of window ``index`` (0=1m .. 3=1h) including the current second, as a tuple."""
        s = self.sums[index]
        return (s[BUY] + self.c_buy, s[SELL] + self.c_sell, s[LBUY] + self.c_lbuy,
                s[LSELL] + self.c_lsell, s[QTY] + self.c_qty, s[N] + self.c_n,
                s[LIQL] + self.c_liql, s[LIQS] + self.c_liqs)

    def history_s(self) -> int:
        """Seconds of data the windows have seen (capped at the longest window)."""
        return 0 if self.sec < 0 else min(RING, self.sec - self.first_sec + 1)

    def snapshot(self, symbol: str, window: str, funding_8h: dict[str, float]) -> FlowSnapshot:
        try:
            index = FLOW_WINDOWS.index(window)
        except ValueError:
            raise ValueError(f"window must be one of {', '.join(FLOW_WINDOWS)}, not {window!r}") from None
        buy, sell, lbuy, lsell, qty, n, liql, liqs = self.window(index)
        buy = max(buy, 0.0)
        sell = max(sell, 0.0)
        total = buy + sell
        newest = self.last_ts
        horizon = newest - _LENS[index] * 1000
        venues = tuple(sorted(v for v, vf in self.venues.items() if vf.ts > horizon))
        return FlowSnapshot(
            symbol=symbol,
            window=window,
            buy_usd=buy,
            sell_usd=sell,
            buy_share=buy / total if total > 0 else 0.5,
            net_delta=buy - sell,
            cvd=self.cvd,
            large_buys=int(round(lbuy)),
            large_sells=int(round(lsell)),
            large_threshold_usd=self.large_usd,
            vwap=total / qty if qty > 0 else 0.0,
            last_price=self.last_price,
            trades=int(round(n)),
            liq_long_usd=max(liql, 0.0),
            liq_short_usd=max(liqs, 0.0),
            funding_8h=dict(funding_8h),
            venues=venues,
            ts=newest,
        )

    def bucket_at(self, sec: int) -> list[float] | tuple[float, ...] | None:
        """Read-only: the sums of one second (BUY..LIQS; the current second included), None
        when that second had nothing or left the ring. For charts (engine.chartseries)."""
        if sec == self.sec:
            return (self.c_buy, self.c_sell, float(self.c_lbuy), float(self.c_lsell), self.c_qty,
                    float(self.c_n), self.c_liql, self.c_liqs)
        slot = sec % RING
        return self._ring[slot] if self._ring_sec[slot] == sec else None
