"""Liquidation cascade: one-directional forced selling (or buying) above a USD threshold.

Pure: reads the symbol's rolling liquidation window (all venues together, so a cascade split
across venues counts as one), returns a Finding or None. A cascade of LONG liquidations is forced
selling: price is pushed down through the longs' stops. The Finding's direction is the setup that
may follow: a long flush suggests watching for a LONG once sellers are exhausted — the stop-hunt
detector (``stophunt.py``) watches for that absorption on the same thread and upgrades the story.

One cascade gives one finding: the detector disarms when it fires and re-arms once the window
has calmed below half the threshold.
"""
from __future__ import annotations

from ..events import Liquidation
from ..signals import Direction, Finding, Kind
from ..state import SymbolState
from ..thresholds import Thresholds


def cascade_components(total: float, share: float, venues: int, th: Thresholds,
                       *, size_max: float, dominance_max: float, venue_pts: float) -> dict[str, float]:
    """Score points shared by cascades and stop hunts: size vs threshold, one-sidedness, venues."""
    ratio = total / th.cascade_usd if th.cascade_usd > 0 else 1.0
    size = min(size_max, size_max * 0.6 * ratio)
    dom_span = max(1e-9, 1.0 - 0.5)
    dominance = max(0.0, min(dominance_max, dominance_max * (share - 0.5) / dom_span))
    return {
        "cascade_size": round(size, 1),
        "dominance": round(dominance, 1),
        "multi_venue": venue_pts if venues > 1 else 0.0,
    }


class CascadeDetector:
    __slots__ = ()

    def on_liquidation(self, st: SymbolState, ev: Liquidation, th: Thresholds) -> Finding | None:
        win = st.liquidations
        total = win.total_usd
        if total < th.cascade_usd:
            if total < th.cascade_usd * 0.5:
                st.det_cascade_armed = True  # fully calmed down: the next cascade is new
            return None
        long_share = win.long_usd / total
        dominant_long = long_share >= 0.5
        share = long_share if dominant_long else 1.0 - long_share
        if share < th.dominance or not st.det_cascade_armed:
            return None
        st.det_cascade_armed = False
        venues = win.venues
        components = cascade_components(total, share, len(venues), th,
                                        size_max=35.0, dominance_max=20.0, venue_pts=10.0)
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
                "price": st.last_price,
            },
            components=components,
            venues=venues,
            thread=f"{st.symbol}:{ev.ts}",
            extra={"flushed": "LONG" if dominant_long else "SHORT"},
        )
