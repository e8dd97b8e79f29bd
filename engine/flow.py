"""Order flow per symbol: rolling 1m / 5m / 15m / 1h taker volume, delta, CVD, whales, VWAP.

Windows are made of one-second buckets keyed by event time. A window of ``L`` seconds at the
newest event's second ``s`` covers the seconds ``s-L+1 .. s`` (the current second included, so a
snapshot is never stale by up to a second). Per trade only the current bucket's running sums
change; when a new second begins the finished bucket is added to each window's sums and the
buckets that fell out are subtracted (each bucket enters and leaves each window once): O(1)
amortised per event, no rescans, and memory bounded by 3,600 buckets per symbol.

The buckets are a flat ring (issue 12): one ``array`` per field, indexed by ``second % 3600``,
allocated once when the symbol first trades -- no object per bucket and none per second. The same
ring holds each second's traded open / high / low / close, which the charts read
(``engine.chartseries``), so a symbol costs about 360 KB however long it runs. The current second
lives in plain attributes (the hot path) and is written into the ring when the second ends.

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

import math
from array import array
from dataclasses import dataclass

FLOW_WINDOWS = ("1m", "5m", "15m", "1h")
WINDOW_SECONDS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600}
_LENS = (60, 300, 900, 3600)
RING = 3600  # seconds of buckets kept: the longest window
VENUE_FLOW_S = 300  # per-venue buy/sell sums (for cross-venue flow disagreement) over 5 min

# fields of a bucket and of a window's sums
BUY, SELL, LBUY, LSELL, QTY, N, LIQL, LIQS = range(8)
_FIELDS = 8
_ZEROS = (0.0,) * _FIELDS

# the ring's blank columns, copied (a C-level memcpy) for every new symbol
_BLANK_SEC = array("q", [-1]) * RING
_BLANK_D = array("d", [0.0]) * RING
_BLANK_I = array("i", [0]) * RING  # per-second counts (trades, large orders) fit a C int
_BLANK_VSEC = array("q", [-1]) * VENUE_FLOW_S
_BLANK_VD = array("d", [0.0]) * VENUE_FLOW_S

Bucket = tuple[float, float, float, float, float, float, float, float]
Candle = tuple[float, float, float, float]


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
    """Per-venue last price and a 5-minute buy/sell window (cross-venue divergence).

    The window's seconds are a flat ring of ``VENUE_FLOW_S`` slots (second, buy, sell): a second
    with volume enters once and leaves once, in time order, with running sums."""

    __slots__ = ("price", "ts", "cur_buy", "cur_sell", "buy", "sell", "_n", "_sec", "_b", "_s",
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
        self._n = 0  # seconds with volume inside the window
        self._sec = array("q", _BLANK_VSEC)
        self._b = array("d", _BLANK_VD)
        self._s = array("d", _BLANK_VD)

    def roll(self, sec: int, new_sec: int) -> None:
        """Second ``sec`` is over and ``new_sec`` begins (``FlowState._roll``, every second
        boundary, so the window's seconds always lie in ``sec-299 .. sec``)."""
        cur_buy, cur_sell = self.cur_buy, self.cur_sell
        if cur_buy or cur_sell:
            slot = sec % VENUE_FLOW_S
            self._sec[slot] = sec
            self._b[slot] = cur_buy
            self._s[slot] = cur_sell
            self._n += 1
            self.buy += cur_buy
            self.sell += cur_sell
            self.cur_buy = self.cur_sell = 0.0
        if self._n:
            cutoff = new_sec - VENUE_FLOW_S  # seconds <= cutoff have left the window
            first = sec - VENUE_FLOW_S + 1  # the oldest second that can still be in it
            if cutoff >= sec:
                self._n = 0
            elif cutoff >= first:
                secs, b, s = self._sec, self._b, self._s
                for k in range(first, cutoff + 1):  # oldest first, as they entered
                    i = k % VENUE_FLOW_S
                    if secs[i] == k:
                        self.buy -= b[i]
                        self.sell -= s[i]
                        self._n -= 1
        if not self._n:  # clamp float drift
            self.buy = self.sell = 0.0

    @property
    def volume(self) -> float:
        return self.buy + self.sell + self.cur_buy + self.cur_sell

    @property
    def buy_share(self) -> float:
        vol = self.volume
        return (self.buy + self.cur_buy) / vol if vol > 0 else 0.5


class TradedRange:
    """Highest and lowest TRADED price over the last ``window_s`` seconds of event time.

    Liquidation prices never enter it: Binance's forceOrder ``p`` is the order's limit price and
    Bybit's ``allLiquidation`` ``p`` the bankruptcy price, both beyond anything that traded. Kept
    as a flat ring of per-second (high, low) buckets, O(window_s) per query (a query is a cascade
    firing or updating, not a trade). ``FlowState`` fills it once per finished second from its
    own high/low (``put``) and passes the current second to ``range``, so a trade costs nothing
    here; ``add`` takes a single trade (late ones). A trade older than its bucket's second is
    late beyond the ring and ignored.
    """

    __slots__ = ("window_s", "_size", "_sec", "_hi", "_lo")

    def __init__(self, window_s: int = 30) -> None:
        self.window_s = window_s
        n = self._size = window_s + 1
        self._sec = array("q", [-1]) * n
        self._hi = array("d", [0.0]) * n
        self._lo = array("d", [0.0]) * n

    def add(self, ts: int, price: float) -> None:
        self.put(ts // 1000, price, price)

    def put(self, sec: int, high: float, low: float) -> None:
        """Prices ``low .. high`` traded in second ``sec``."""
        i = sec % self._size
        cur = self._sec[i]
        if cur == sec:
            if high > self._hi[i]:
                self._hi[i] = high
            if low < self._lo[i]:
                self._lo[i] = low
        elif sec > cur:
            self._sec[i] = sec
            self._hi[i] = high
            self._lo[i] = low

    def range(self, now_ts: int, window_s: int | None = None,
              live: tuple[int, float, float] | None = None) -> tuple[float, float] | None:
        """(low, high) traded within ``window_s`` (default: the whole ring) up to ``now_ts``,
        or None when nothing traded then. ``live``: (second, high, low) of a second in progress,
        newer than any ``put`` (it stands in its slot)."""
        now = now_ts // 1000
        oldest = now - (self.window_s if window_s is None else min(window_s, self.window_s))
        live_i = -1 if live is None else live[0] % self._size
        lo = hi = 0.0
        found = False
        for i, sec in enumerate(self._sec):
            if i == live_i and live is not None:
                sec, h, low = live
            else:
                h, low = self._hi[i], self._lo[i]
            if oldest <= sec <= now:
                if not found:
                    lo, hi, found = low, h, True
                else:
                    lo = min(lo, low)
                    hi = max(hi, h)
        return (lo, hi) if found else None


class FlowState:
    """Rolling order-flow windows for one symbol (all venues together).

    ``c_*``: the current second (``sec``); ``_sec`` and the field columns (``_buy`` .. ``_close``):
    the finished seconds of the last hour, slot ``second % RING``; ``sums``: each window's sums
    of its finished seconds (the current one is added on reading, see ``window``)."""

    __slots__ = ("sec", "first_sec", "c_buy", "c_sell", "c_lbuy", "c_lsell", "c_qty", "c_n",
                 "c_liql", "c_liqs", "c_open", "c_high", "c_low", "c_close",
                 "_sec", "_buy", "_sell", "_lbuy", "_lsell", "_qty", "_n", "_liql", "_liqs",
                 "_open", "_high", "_low", "_close", "_own",
                 "sums", "cvd", "last_price", "last_ts",
                 "large_usd", "venues", "late_dropped", "order_large", "order_grew", "order_usd",
                 "traded")

    def __init__(self, large_usd: float, traded_window_s: int = 30) -> None:
        self.sec = -1  # the current (newest) second; -1 before the first event
        self.first_sec = -1
        self.c_buy = self.c_sell = self.c_qty = self.c_liql = self.c_liqs = 0.0
        self.c_lbuy = self.c_lsell = self.c_n = 0
        # the current second's traded open/high/low/close (meaningful while c_n > 0)
        self.c_open = self.c_high = self.c_low = self.c_close = 0.0
        # until the symbol's first trade or liquidation the columns are the shared blanks (read
        # only): a coin that only sends mark prices or funding costs no ring (see _allocate)
        self._own = False
        self._sec = _BLANK_SEC
        self._buy = self._sell = self._qty = self._liql = self._liqs = _BLANK_D
        self._open = self._high = self._low = self._close = _BLANK_D
        self._lbuy = self._lsell = self._n = _BLANK_I
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
        self.traded = TradedRange(traded_window_s)  # traded high/low, put once per second

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
        if self.c_n:
            if price > self.c_high:
                self.c_high = price
            elif price < self.c_low:
                self.c_low = price
        else:
            self.c_open = self.c_high = self.c_low = price
        self.c_close = price
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
                slot = self._late_slot(sec)
                field = LIQL if is_long else LIQS
                column = self._liql if is_long else self._liqs
                column[slot] += notional
                for sums, length in zip(self.sums, _LENS):
                    if sec > self.sec - length:
                        sums[field] += notional
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
        buy, sell, lbuy, lsell = self.c_buy, self.c_sell, self.c_lbuy, self.c_lsell
        qty, n, liql, liqs = self.c_qty, self.c_n, self.c_liql, self.c_liqs
        if not self._own:
            if not (n or liql or liqs):  # nothing yet, ever: the ring and the sums stay blank
                self.sec = new_sec
                return
            self._allocate()
        # the finished second into its slot: the current second is never a late event's bucket,
        # and the slot's previous second (an hour ago) has left every window already
        slot = old % RING
        secs = self._sec
        secs[slot] = old
        a_buy, a_sell, a_lbuy, a_lsell = self._buy, self._sell, self._lbuy, self._lsell
        a_qty, a_n, a_liql, a_liqs = self._qty, self._n, self._liql, self._liqs
        a_buy[slot] = buy
        a_sell[slot] = sell
        a_lbuy[slot] = lbuy
        a_lsell[slot] = lsell
        a_qty[slot] = qty
        a_n[slot] = n
        a_liql[slot] = liql
        a_liqs[slot] = liqs
        if n:
            high, low = self.c_high, self.c_low
            self._open[slot] = self.c_open
            self._high[slot] = high
            self._low[slot] = low
            self._close[slot] = self.c_close
            self.traded.put(old, high, low)
        gap = new_sec - old
        for sums, length in zip(self.sums, _LENS):
            if gap >= length:  # everything left this window
                sums[:] = _ZEROS
                continue
            # in locals, in the same order as ever: add the finished second, subtract the leaving
            s0, s1, s2, s3, s4, s5, s6, s7 = sums
            s0 += buy
            s1 += sell
            s2 += lbuy
            s3 += lsell
            s4 += qty
            s5 += n
            s6 += liql
            s7 += liqs
            # seconds old-L+1 .. new-L leave the window (one second when no second was skipped)
            first = old - length + 1
            for k in range(first, first + gap):
                i = k % RING
                if secs[i] == k:
                    s0 -= a_buy[i]
                    s1 -= a_sell[i]
                    s2 -= a_lbuy[i]
                    s3 -= a_lsell[i]
                    s4 -= a_qty[i]
                    s5 -= a_n[i]
                    s6 -= a_liql[i]
                    s7 -= a_liqs[i]
            if s5 < 0.5:  # no trades left: clamp float drift to exact zeros
                s0 = s1 = s2 = s3 = s4 = s5 = 0.0
                if abs(s6) + abs(s7) < 1e-3:
                    s6 = s7 = 0.0
            sums[:] = (s0, s1, s2, s3, s4, s5, s6, s7)
        self.sec = new_sec
        self.c_buy = self.c_sell = self.c_qty = self.c_liql = self.c_liqs = 0.0
        self.c_lbuy = self.c_lsell = self.c_n = 0
        for vf in self.venues.values():
            vf.roll(old, new_sec)

    def _allocate(self) -> None:
        """The symbol's own ring, at its first trade or liquidation (a C-level copy of the
        blanks, ~360 KB, once)."""
        self._own = True
        self._sec = array("q", _BLANK_SEC)
        self._buy = array("d", _BLANK_D)
        self._sell = array("d", _BLANK_D)
        self._lbuy = array("i", _BLANK_I)
        self._lsell = array("i", _BLANK_I)
        self._qty = array("d", _BLANK_D)
        self._n = array("i", _BLANK_I)
        self._liql = array("d", _BLANK_D)
        self._liqs = array("d", _BLANK_D)
        self._open = array("d", _BLANK_D)
        self._high = array("d", _BLANK_D)
        self._low = array("d", _BLANK_D)
        self._close = array("d", _BLANK_D)

    def _late_slot(self, sec: int) -> int:
        """The ring slot of a finished second less than an hour old, emptied first when it still
        holds an older second (nothing happened in ``sec`` before this late event)."""
        if not self._own:
            self._allocate()
        slot = sec % RING
        if self._sec[slot] != sec:
            self._sec[slot] = sec
            self._buy[slot] = self._sell[slot] = self._qty[slot] = 0.0
            self._liql[slot] = self._liqs[slot] = 0.0
            self._lbuy[slot] = self._lsell[slot] = self._n[slot] = 0
        return slot

    def _late_trade(self, vf: VenueFlow, sec: int, ts: int, price: float, qty: float,
                    notional: float, is_buy: bool, large: bool) -> None:
        self.traded.add(ts, price)  # (it keeps its own rule for trades late beyond its ring)
        if self.sec - sec >= RING:
            self.late_dropped += 1
            self.order_large = self.order_grew = False
            return
        slot = self._late_slot(sec)
        if is_buy:
            self._buy[slot] += notional
        else:
            self._sell[slot] += notional
        lbuy = 1.0 if is_buy and large else 0.0
        lsell = 1.0 if large and not is_buy else 0.0
        if lbuy:
            self._lbuy[slot] += 1
        if lsell:
            self._lsell[slot] += 1
        self._qty[slot] += qty
        if self._n[slot]:
            if price > self._high[slot]:
                self._high[slot] = price
            elif price < self._low[slot]:
                self._low[slot] = price
        else:
            self._open[slot] = self._high[slot] = self._low[slot] = price
        self._close[slot] = price
        self._n[slot] += 1
        buy = notional if is_buy else 0.0
        sell = 0.0 if is_buy else notional
        for sums, length in zip(self.sums, _LENS):
            if sec > self.sec - length:
                sums[BUY] += buy
                sums[SELL] += sell
                sums[LBUY] += lbuy
                sums[LSELL] += lsell
                sums[QTY] += qty
                sums[N] += 1.0
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

    def traded_range(self, now_ts: int, window_s: int | None = None) -> tuple[float, float] | None:
        """(low, high) of the prices that traded within ``window_s`` up to ``now_ts``, the
        current second included (``TradedRange.range``); None when nothing traded then."""
        live = (self.sec, self.c_high, self.c_low) if self.c_n else None
        return self.traded.range(now_ts, window_s, live)

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

    def bucket_at(self, sec: int) -> Bucket | None:
        """Read-only: the sums of one second (BUY..LIQS; the current second included), None
        when that second had nothing or left the ring. One second at a time (the tests read the
        ring through it); charts read whole windows through ``span``."""
        if sec == self.sec:
            return (self.c_buy, self.c_sell, float(self.c_lbuy), float(self.c_lsell), self.c_qty,
                    float(self.c_n), self.c_liql, self.c_liqs)
        i = sec % RING
        if self._sec[i] != sec or sec <= self.sec - RING:
            return None
        return (self._buy[i], self._sell[i], float(self._lbuy[i]), float(self._lsell[i]), self._qty[i],
                float(self._n[i]), self._liql[i], self._liqs[i])

    def price_at(self, sec: int) -> Candle | None:
        """Read-only: the traded open/high/low/close of one second (the current one included;
        a late trade is its second's close), None when nothing traded then or it left the ring."""
        if sec == self.sec:
            return (self.c_open, self.c_high, self.c_low, self.c_close) if self.c_n else None
        i = sec % RING
        if self._sec[i] != sec or not self._n[i] or sec <= self.sec - RING:
            return None
        return self._open[i], self._high[i], self._low[i], self._close[i]

    def span(self, start: int, stop: int) -> tuple[float, ...]:
        """One chart bucket: the seconds ``start .. stop-1`` summed, oldest first, as
        (buy, sell, large buys, large sells, qty, liq long, liq short, open, high, low, close);
        the candle is ``nan`` when nothing traded. O(stop - start), no per-second objects."""
        nan = math.nan
        bo = bh = bl = bc = nan
        sb = ss = sq = slb = sls = sll = sls2 = 0.0
        cur = self.sec
        secs = self._sec
        a_buy, a_sell, a_lbuy, a_lsell, a_qty = self._buy, self._sell, self._lbuy, self._lsell, self._qty
        a_n, a_liql, a_liqs = self._n, self._liql, self._liqs
        a_open, a_high, a_low, a_close = self._open, self._high, self._low, self._close
        for sec in range(max(start, cur - RING + 1), stop):  # older seconds left the ring
            if sec == cur:
                sb += self.c_buy
                ss += self.c_sell
                slb += self.c_lbuy
                sls += self.c_lsell
                sq += self.c_qty
                sll += self.c_liql
                sls2 += self.c_liqs
                if not self.c_n:
                    continue
                o, h, lo, c = self.c_open, self.c_high, self.c_low, self.c_close
            else:
                i = sec % RING
                if secs[i] != sec:
                    continue
                sb += a_buy[i]
                ss += a_sell[i]
                slb += a_lbuy[i]
                sls += a_lsell[i]
                sq += a_qty[i]
                sll += a_liql[i]
                sls2 += a_liqs[i]
                if not a_n[i]:
                    continue
                o, h, lo, c = a_open[i], a_high[i], a_low[i], a_close[i]
            if bo != bo:  # nan: the bucket's first traded second
                bo, bh, bl = o, h, lo
            else:
                bh = max(bh, h)
                bl = min(bl, lo)
            bc = c
        return sb, ss, slb, sls, sq, sll, sls2, bo, bh, bl, bc
