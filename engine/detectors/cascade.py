"""Liquidation cascade: one-directional forced selling (or buying) above a USD threshold.

Pure: reads the symbol's rolling liquidation window, returns a Finding or None. A cascade of
LONG liquidations is forced selling: price is being pushed down through the longs' stops. The
Finding's direction is the side whose positions were flushed *against*: a long flush suggests
watching for a LONG setup once sellers are exhausted (the stop-hunt detector confirms that).
"""
from __future__ import annotations

from ..events import Liquidation
from ..signals import Direction, Finding, Kind
from ..state import SymbolState
from ..thresholds import Thresholds


class CascadeDetector:
    __slots__ = ("_armed",)

    def __init__(self) -> None:
        # per symbol: True while a cascade is in progress (so one cascade gives one finding)
        self._armed: dict[str, bool] = {}

    def on_liquidation(self, st: SymbolState, ev: Liquidation, th: Thresholds) -> Finding | None:
        win = st.liquidations
        total = win.total_usd
        if total < th.cascade_usd:
            if total < th.cascade_usd * 0.5:
                self._armed[st.symbol] = False  # fully calmed down: the next cascade is new
            return None
        long_share = win.long_usd / total
        dominant_long = long_share >= 0.5
        share = long_share if dominant_long else 1.0 - long_share
        if share < th.dominance or self._armed.get(st.symbol):
            return None
        self._armed[st.symbol] = True
        flushed = "long" if dominant_long else "short"
        size_pts = min(40.0, 25.0 * total / th.cascade_usd)
        dominance_pts = min(30.0, 30.0 * (share - 0.5) / 0.5)
        venue_pts = 10.0 if len(win.venues) > 1 else 0.0
        return Finding(
            kind=Kind.LIQUIDATION_CASCADE,
            symbol=st.symbol,
            direction=Direction.LONG if dominant_long else Direction.SHORT,
            ts=ev.ts,
            recv_ns=ev.recv_ns,
            magnitudes={
                "liq_usd": total,
                "liq_long_usd": win.long_usd,
                "liq_short_usd": win.short_usd,
                "dominance": share,
                "count": float(win.count),
                "zone_low": win.low,
                "zone_high": win.high,
                "window_s": win.window_ms / 1000,
            },
            components={
                "cascade_size": round(size_pts, 1),
                f"{flushed}_dominance": round(dominance_pts, 1),
                "multi_venue": venue_pts,
            },
            venues=win.venues,
            thread=f"{st.symbol}:{ev.ts // 1000}",
        )
