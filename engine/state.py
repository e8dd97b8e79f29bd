"""Per-symbol market state: rolling windows keyed by event time, with running sums.

Every update is O(1) amortised: items enter a deque once and leave it once, the sums are kept
up to date, nothing is ever rescanned. Windows evict against the newest event time seen, so a
late (out-of-order) event is counted while it is still inside the window and ignored otherwise.
"""
from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from .events import Funding, Liquidation, MarkOI, PositionSide
from .flow import FlowSnapshot, FlowState, TradedRange

if TYPE_CHECKING:  # the detectors import this module; their memory types only annotate here
    from .detectors.divergence import DivergenceMemory
    from .detectors.funding import FundingMemory
    from .detectors.orderflow import FlowMemory
    from .detectors.stophunt import HuntWatch
    from .detectors.whale import WhaleMemory

__all__ = ["LiquidationWindow", "SymbolState", "TradedRange"]

# a liquidation's identity (venue, ts, price, notional, position): a re-sent frame repeats it
LiqKey = tuple[str, int, float, float, PositionSide]


class LiquidationWindow:
    """Liquidated USD by position side over the last ``window_ms``, plus the swept price range.

    An exact repeat of a liquidation already in the window (same venue, time, price, size and
    side: a re-sent frame after a reconnect) is counted once; ``duplicates`` counts the repeats.
    """

    __slots__ = ("window_ms", "_items", "long_usd", "short_usd", "count", "_min", "_max", "_venues",
                 "newest_ts", "_keys", "duplicates")

    def __init__(self, window_ms: int) -> None:
        self.window_ms = window_ms
        # (ts, usd, is_long, price, venue, key)
        self._items: deque[tuple[int, float, bool, float, str, LiqKey]] = deque()
        self.long_usd = 0.0
        self.short_usd = 0.0
        self.count = 0
        # monotonic deques of (ts, price) for the window's min and max price
        self._min: deque[tuple[int, float]] = deque()
        self._max: deque[tuple[int, float]] = deque()
        self._venues: dict[str, int] = {}
        self._keys: set[LiqKey] = set()
        self.newest_ts = 0
        self.duplicates = 0

    def add(self, ev: Liquidation) -> bool:
        """Count a liquidation. False when it is too old for the window or a duplicate."""
        if ev.ts > self.newest_ts:
            self.newest_ts = ev.ts
        self._evict(self.newest_ts - self.window_ms)
        if ev.ts <= self.newest_ts - self.window_ms:
            return False  # too late to matter
        key = (ev.venue, ev.ts, ev.price, ev.notional, ev.position)
        if key in self._keys:
            self.duplicates += 1
            return False
        self._keys.add(key)
        is_long = ev.position is PositionSide.LONG
        self._items.append((ev.ts, ev.notional, is_long, ev.price, ev.venue, key))
        if is_long:
            self.long_usd += ev.notional
        else:
            self.short_usd += ev.notional
        self.count += 1
        self._venues[ev.venue] = self._venues.get(ev.venue, 0) + 1
        # a late event may sit before the deque tails in time: keep the deques sorted by ts by
        # only using it for min/max when it is the newest (late events still count in the sums)
        if ev.ts >= (self._min[-1][0] if self._min else 0):
            while self._min and self._min[-1][1] >= ev.price:
                self._min.pop()
            self._min.append((ev.ts, ev.price))
        if ev.ts >= (self._max[-1][0] if self._max else 0):
            while self._max and self._max[-1][1] <= ev.price:
                self._max.pop()
            self._max.append((ev.ts, ev.price))
        return True

    def _evict(self, cutoff: int) -> None:
        items = self._items
        # items are appended in arrival order; a late item may sit behind a newer one, so stop at
        # the first item still inside the window (it leaves when the ones before it have left)
        while items and items[0][0] <= cutoff:
            _ts, usd, is_long, _price, venue, key = items.popleft()
            if is_long:
                self.long_usd -= usd
            else:
                self.short_usd -= usd
            self.count -= 1
            self._keys.discard(key)
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
            if self._items:
                self._evict(ts - self.window_ms)

    @property
    def total_usd(self) -> float:
        return self.long_usd + self.short_usd

    @property
    def oldest_ts(self) -> int:
        """Event time of the oldest liquidation still in the window (0 when empty)."""
        return self._items[0][0] if self._items else 0

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
        self._keys.clear()
        self.long_usd = self.short_usd = 0.0
        self.count = 0


class SymbolState:
    """Everything the engine knows about one symbol right now, plus its detectors' memory.

    The ``det_*`` slots belong to the detectors (engine/detectors/*): each keeps its per-symbol
    memory there so a detector needs no dictionary lookup per event.
    """

    __slots__ = ("symbol", "last_price", "last_ts", "liquidations", "funding", "marks", "trades",
                 "flow", "traded", "rejects_in_row", "det_cascade_armed", "det_hunt", "det_story_ts", "det_flow",
                 "det_whale", "det_divergence", "det_funding")

    def __init__(self, symbol: str, *, cascade_window_ms: int = 30_000,
                 large_usd: float = 25_000.0) -> None:
        self.symbol = symbol
        self.last_price = 0.0  # newest accepted trade price (any venue)
        self.last_ts = 0
        self.trades = 0
        self.rejects_in_row = 0  # consecutive trades refused by the price sanity check
        self.liquidations = LiquidationWindow(cascade_window_ms)
        # traded high/low: hunt zones and levels come from prices that traded (the flow state
        # feeds it once per second, see FlowState.traded_range)
        self.flow = FlowState(large_usd, traded_window_s=max(30, cascade_window_ms // 1000))
        self.traded: TradedRange = self.flow.traded
        self.funding: dict[str, Funding] = {}  # latest per venue
        self.marks: dict[str, MarkOI] = {}  # latest per venue
        self.det_cascade_armed = True
        self.det_hunt: HuntWatch | None = None  # the open cascade / stop-hunt story
        self.det_story_ts = 0  # event time the latest cascade / stop-hunt story was last active
        self.det_flow: FlowMemory | None = None
        self.det_whale: WhaleMemory | None = None
        self.det_divergence: DivergenceMemory | None = None
        self.det_funding: FundingMemory | None = None

    @property
    def last_price_by_venue(self) -> dict[str, float]:
        return {v: vf.price for v, vf in self.flow.venues.items() if vf.price > 0}

    def on_liquidation(self, ev: Liquidation) -> bool:
        self.flow.add_liquidation(ev.ts, ev.notional, ev.position is PositionSide.LONG)
        return self.liquidations.add(ev)

    def on_funding(self, ev: Funding) -> None:
        cur = self.funding.get(ev.venue)
        if cur is None or ev.ts >= cur.ts:
            self.funding[ev.venue] = ev

    def on_mark(self, ev: MarkOI) -> None:
        cur = self.marks.get(ev.venue)
        if cur is None or ev.ts >= cur.ts:
            self.marks[ev.venue] = ev

    def mark_price(self) -> float:
        """The freshest venue mark price (0.0 when no venue sent one)."""
        best, best_ts = 0.0, 0
        for m in self.marks.values():
            if m.mark and (not best or m.ts > best_ts):
                best, best_ts = m.mark, m.ts
        return best

    def traded_range(self, now_ts: int, window_s: int | None = None) -> tuple[float, float]:
        """(low, high) of the prices that traded recently; the mark price where nothing traded
        yet, then the last trade price (0.0, 0.0 when the coin has no price at all)."""
        found = self.flow.traded_range(now_ts, window_s)
        if found is not None:
            return found
        price = self.mark_price() or self.last_price
        return price, price

    def funding_8h(self) -> dict[str, float]:
        return {v: f.rate_8h for v, f in sorted(self.funding.items())}

    def snapshot(self, window: str = "5m") -> FlowSnapshot:
        return self.flow.snapshot(self.symbol, window, self.funding_8h())
