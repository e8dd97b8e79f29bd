"""Per-symbol market state: rolling windows keyed by event time, with running sums.

Every update is O(1) amortised: items enter a deque once and leave it once, the sums are kept
up to date, nothing is ever rescanned. Windows evict against the newest event time seen, so a
late (out-of-order) event is counted while it is still inside the window and ignored otherwise.
"""
from __future__ import annotations

from collections import deque

from .events import Funding, Liquidation, MarkOI, PositionSide, Trade


class LiquidationWindow:
    """Liquidated USD by position side over the last ``window_ms``, plus the swept price range."""

    __slots__ = ("window_ms", "_items", "long_usd", "short_usd", "count", "_min", "_max", "_venues",
                 "newest_ts")

    def __init__(self, window_ms: int) -> None:
        self.window_ms = window_ms
        self._items: deque[tuple[int, float, bool, float, str]] = deque()
        self.long_usd = 0.0
        self.short_usd = 0.0
        self.count = 0
        # monotonic deques of (ts, price) for the window's min and max price
        self._min: deque[tuple[int, float]] = deque()
        self._max: deque[tuple[int, float]] = deque()
        self._venues: dict[str, int] = {}
        self.newest_ts = 0

    def add(self, ev: Liquidation) -> None:
        if ev.ts > self.newest_ts:
            self.newest_ts = ev.ts
        self._evict(self.newest_ts - self.window_ms)
        if ev.ts <= self.newest_ts - self.window_ms:
            return  # too late to matter
        is_long = ev.position is PositionSide.LONG
        self._items.append((ev.ts, ev.notional, is_long, ev.price, ev.venue))
        if is_long:
            self.long_usd += ev.notional
        else:
            self.short_usd += ev.notional
        self.count += 1
        self._venues[ev.venue] = self._venues.get(ev.venue, 0) + 1
        while self._min and self._min[-1][1] >= ev.price:
            self._min.pop()
        self._min.append((ev.ts, ev.price))
        while self._max and self._max[-1][1] <= ev.price:
            self._max.pop()
        self._max.append((ev.ts, ev.price))

    def _evict(self, cutoff: int) -> None:
        items = self._items
        while items and items[0][0] <= cutoff:
            ts, usd, is_long, _price, venue = items.popleft()
            if is_long:
                self.long_usd -= usd
            else:
                self.short_usd -= usd
            self.count -= 1
            n = self._venues[venue] - 1
            if n:
                self._venues[venue] = n
            else:
                del self._venues[venue]
        while self._min and self._min[0][0] <= cutoff:
            self._min.popleft()
        while self._max and self._max[0][0] <= cutoff:
            self._max.popleft()
        if not items:  # clamp float drift
            self.long_usd = self.short_usd = 0.0

    def advance(self, ts: int) -> None:
        if ts > self.newest_ts:
            self.newest_ts = ts
            self._evict(ts - self.window_ms)

    @property
    def total_usd(self) -> float:
        return self.long_usd + self.short_usd

    @property
    def low(self) -> float:
        return self._min[0][1] if self._min else 0.0

    @property
    def high(self) -> float:
        return self._max[0][1] if self._max else 0.0

    @property
    def venues(self) -> tuple[str, ...]:
        return tuple(sorted(self._venues))

    def clear(self) -> None:
        self._items.clear()
        self._min.clear()
        self._max.clear()
        self._venues.clear()
        self.long_usd = self.short_usd = 0.0
        self.count = 0


class SymbolState:
    """Everything the engine knows about one symbol right now."""

    __slots__ = ("symbol", "last_price", "last_ts", "liquidations", "funding", "marks", "trades",
                 "last_price_by_venue")

    def __init__(self, symbol: str, *, cascade_window_ms: int = 30_000) -> None:
        self.symbol = symbol
        self.last_price = 0.0
        self.last_ts = 0
        self.trades = 0
        self.liquidations = LiquidationWindow(cascade_window_ms)
        self.funding: dict[str, Funding] = {}  # latest per venue
        self.marks: dict[str, MarkOI] = {}  # latest per venue
        self.last_price_by_venue: dict[str, float] = {}

    def on_trade(self, ev: Trade) -> None:
        self.trades += 1
        if ev.ts >= self.last_ts:
            self.last_ts = ev.ts
            self.last_price = ev.price
        self.last_price_by_venue[ev.venue] = ev.price
        self.liquidations.advance(ev.ts)

    def on_liquidation(self, ev: Liquidation) -> None:
        self.liquidations.add(ev)

    def on_funding(self, ev: Funding) -> None:
        self.funding[ev.venue] = ev

    def on_mark(self, ev: MarkOI) -> None:
        self.marks[ev.venue] = ev
