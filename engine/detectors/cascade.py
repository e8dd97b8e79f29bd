"""Liquidation cascade: one-directional forced selling (or buying) above a USD threshold, told
AS IT HAPPENS and kept current.

Pure: reads the symbol's rolling liquidation window (all venues together, so a cascade split
across venues counts as one), returns Findings. A cascade of LONG liquidations is forced selling:
price is pushed DOWN through the longs' stops. The finding's direction is that pressure (SHORT for
a long flush, LONG for a short squeeze) — it is not a call to buy the dip: a LONG setup exists only
if absorption follows, which the stop-hunt detector (``stophunt.py``) watches for on the same
thread and reports as a reply.

The story of one cascade (its ``HuntWatch``, opened by the engine when the cascade fires):
1. the OPENING finding leaves on the liquidation that takes the window over the threshold;
2. while liquidations of the flushed side keep coming, UPDATE findings (``Finding.update``: an edit
   of the opening alert) leave when the total grew by ``UPDATE_GROWTH`` and ``UPDATE_MIN_MS`` have
   passed since the last one — or at once when the total crosses a tier line of the default
   contract (the class default threshold, 3x it), so a subscriber waiting for that size is not
   kept waiting by the pacing;
3. after ``END_QUIET_MS`` without a flushing liquidation (and no stop hunt confirmed) a CLOSING
   update says it ended: final total, swept range, "no absorption yet — no setup". That alert is
   then closed for good; a flush that resumes later is a new cascade (once the window calmed).

Zones are TRADED prices (``SymbolState.traded_range``: the mark price where nothing traded yet);
liquidation prices only count volume (Bybit sends bankruptcy prices, Binance the order's limit).

One cascade gives one story: while it is open no new cascade of the same side fires; the detector
re-arms once the window has calmed below half the threshold.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..events import Liquidation
from ..signals import Direction, Finding, Kind
from ..state import SymbolState
from ..thresholds import Thresholds, defaults_for

if TYPE_CHECKING:  # stophunt imports this module
    from .stophunt import HuntWatch

UPDATE_GROWTH = 1.25  # an update when the total grew by 25 % since the last report...
UPDATE_MIN_MS = 3_000  # ...and at least this long after it (event time)
END_QUIET_MS = 15_000  # no flushing liquidation for this long: the cascade has ended
STATUS_LIVE = "in_progress"
STATUS_ENDED = "ended"


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


def _lines(symbol: str) -> tuple[float, float]:
    """The totals at which a default subscriber's view changes: the threshold and 3x it."""
    th = defaults_for(symbol).cascade_usd
    return th, 3.0 * th


class CascadeDetector:
    __slots__ = ()

    def on_liquidation(self, st: SymbolState, ev: Liquidation, th: Thresholds) -> Finding | None:
        w = st.det_hunt
        if w is not None and w.cascade_open and (ev.position.value == "LONG") == w.long_sweep:
            return self._maybe_update(st, w, ev, th)
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
        low, high = st.traded_range(ev.ts, int(win.window_ms // 1000))
        components = cascade_components(total, share, len(venues), th,
                                        size_max=35.0, dominance_max=20.0, venue_pts=10.0)
        return Finding(
            kind=Kind.LIQUIDATION_CASCADE,
            symbol=st.symbol,
            # the pressure: longs force-sold push price down
            direction=Direction.SHORT if dominant_long else Direction.LONG,
            ts=ev.ts,
            recv_ns=ev.recv_ns,
            magnitudes={
                "liq_usd": total,
                "liq_long_usd": win.long_usd,
                "liq_short_usd": win.short_usd,
                "dominance": share,
                "count": float(win.count),
                "zone_low": low,
                "zone_high": high,
                # how long it took: from the oldest liquidation in the window to this one
                "window_s": float(max(1, round((ev.ts - (win.oldest_ts or ev.ts)) / 1000))),
                "price": st.last_price,
            },
            components=components,
            venues=venues,
            thread=f"{st.symbol}:{ev.ts}",
            extra={"flushed": "LONG" if dominant_long else "SHORT", "status": STATUS_LIVE},
        )

    def _maybe_update(self, st: SymbolState, w: HuntWatch, ev: Liquidation, th: Thresholds) -> Finding | None:
        """The open cascade grew (the stop-hunt watch has already counted ``ev``)."""
        total = w.liq_long + w.liq_short
        crossed = any(w.reported_usd < line <= total for line in _lines(st.symbol))
        due = (total >= UPDATE_GROWTH * w.reported_usd and ev.ts - w.reported_ts >= UPDATE_MIN_MS)
        if not (crossed or due):
            return None
        return self.story_finding(st, w, ev.ts, ev.recv_ns, th, STATUS_LIVE)

    def on_second(self, st: SymbolState, ts: int, recv_ns: int, th: Thresholds) -> Finding | None:
        """Once per second of event time while a cascade story is open: has it ended?"""
        w = st.det_hunt
        if w is None or not w.cascade_open or ts - w.last_liq_ts < END_QUIET_MS:
            return None
        # closed for good: a stray liquidation later does not reopen it (a real new flush is a
        # new cascade once the window has calmed); the stop-hunt watch itself goes on
        w.cascade_open = False
        w.cascade_ended = True
        return self.story_finding(st, w, ts, recv_ns, th, STATUS_ENDED)

    def story_finding(self, st: SymbolState, w: HuntWatch, ts: int, recv_ns: int, th: Thresholds,
                      status: str) -> Finding:
        """An update of the cascade's alert: the story's total so far, its traded range."""
        total = w.liq_long + w.liq_short
        flushed = w.liq_long if w.long_sweep else w.liq_short
        share = flushed / total if total > 0 else 0.0
        w.reported_usd = total
        w.reported_ts = ts
        components = cascade_components(total, share, len(w.venues), th,
                                        size_max=35.0, dominance_max=20.0, venue_pts=10.0)
        return Finding(
            kind=Kind.LIQUIDATION_CASCADE,
            symbol=st.symbol,
            direction=Direction.SHORT if w.long_sweep else Direction.LONG,
            ts=ts,
            recv_ns=recv_ns,
            magnitudes={
                "liq_usd": total,
                "liq_long_usd": w.liq_long,
                "liq_short_usd": w.liq_short,
                "dominance": share,
                "count": float(w.count),
                "zone_low": w.zone_low,
                "zone_high": w.zone_high,
                "window_s": float(max(1, round((w.last_liq_ts - w.first_liq_ts) / 1000))),
                "price": st.last_price,
            },
            components=components,
            venues=tuple(sorted(w.venues)),
            thread=w.thread,
            extra={"flushed": "LONG" if w.long_sweep else "SHORT", "status": status},
            update=True,
        )
