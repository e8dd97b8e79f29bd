"""Stop hunt: a one-sided liquidation cascade, then absorption by the other side.

Story (a sweep of LONGS; a sweep of shorts is the mirror):
1. the cascade detector sees longs liquidated one-sidedly above the threshold and opens a
   ``HuntWatch`` on the cascade's thread: the hunt zone is the TRADED price range the sweep
   covered (from the top where it began to the lowest price that traded — never a liquidation's
   price: Bybit sends the bankruptcy price and Binance the order's limit price, both beyond
   anything that traded; liquidations only add volume);
2. while the watch is open every trade updates it: a new low extends the zone and resets the
   absorption tally; taker BUYS after the low are absorbing volume, large ones are counted;
3. the hunt is confirmed when price has made no new low for ``HOLD_MS``, at least
   ``absorb_min_large`` large buys absorbed the sweep, buyers are at least ``ABSORB_SHARE`` of the
   taker volume since the low, and price reclaimed ``reclaim`` of the zone. The finding carries a
   LONG setup: entry in a band around the reclaim line (above the swept low; up to the current
   price if that is higher), stop below the zone with a buffer, targets at the top of the zone
   and half a zone beyond.
4. no confirmation within ``FOLLOW_MS`` of the last flushing liquidation closes the watch: the
   user saw only the cascade alert.
"""
from __future__ import annotations

from ..events import Liquidation, PositionSide, Side, Trade
from ..signals import Direction, Finding, Kind, Levels
from ..state import SymbolState
from ..thresholds import Thresholds
from .cascade import cascade_components

HOLD_MS = 3_000  # no new extreme for this long
FOLLOW_MS = 90_000  # the follow-up window after the last flushing liquidation
ABSORB_SHARE = 0.55  # opposite-side share of taker USD since the extreme
ENTRY_TTL_MS = 15 * 60_000  # the setup's validity
MIN_RANGE = 0.0005  # zones narrower than 5 bps of price are widened to this for the levels
ENTRY_BAND = 0.10  # entry band half-width, as a share of the zone
STOP_BUFFER = 0.15  # stop beyond the zone by this share of the zone (at least MIN_RANGE of price)


class HuntWatch:
    """The open story of one cascade on one symbol."""

    __slots__ = ("long_sweep", "thread", "started_ts", "last_liq_ts", "zone_low", "zone_high",
                 "extreme", "extreme_ts", "liq_long", "liq_short", "count", "venues",
                 "absorb_usd", "against_usd", "large", "whale_usd", "first_liq_ts", "cascade_open",
                 "cascade_ended", "reported_usd", "reported_ts")

    def __init__(self, finding: Finding, whale_usd: float, first_liq_ts: int | None = None) -> None:
        m = finding.magnitudes
        # longs were flushed: price went down (the cascade's direction is that pressure, SHORT)
        self.long_sweep = finding.extra.get("flushed") == "LONG"
        self.thread = finding.thread
        self.started_ts = finding.ts
        self.last_liq_ts = finding.ts
        self.first_liq_ts = finding.ts if first_liq_ts is None else first_liq_ts
        # the cascade's own alert is kept current while this story is open (cascade.py)
        self.cascade_open = True
        self.cascade_ended = False
        self.reported_usd = m["liq_usd"]
        self.reported_ts = finding.ts
        self.zone_low = m["zone_low"]
        self.zone_high = m["zone_high"]
        self.extreme = self.zone_low if self.long_sweep else self.zone_high
        self.extreme_ts = finding.ts
        self.liq_long = m["liq_long_usd"]
        self.liq_short = m["liq_short_usd"]
        self.count = int(m["count"])
        self.venues = set(finding.venues)
        self.absorb_usd = 0.0
        self.against_usd = 0.0
        self.large = 0
        self.whale_usd = whale_usd


class StopHuntDetector:
    __slots__ = ()

    def open(self, st: SymbolState, cascade: Finding, th: Thresholds) -> None:
        """A cascade fired: watch for absorption (replaces any older story on this symbol)."""
        st.det_hunt = HuntWatch(cascade, th.whale_usd, st.liquidations.oldest_ts or cascade.ts)
        st.det_story_ts = max(st.det_story_ts, cascade.ts)

    def on_liquidation(self, st: SymbolState, ev: Liquidation) -> None:
        w: HuntWatch | None = st.det_hunt
        if w is None:
            return
        flushed_long = ev.position is PositionSide.LONG
        if flushed_long:
            w.liq_long += ev.notional
        else:
            w.liq_short += ev.notional
        w.count += 1
        w.venues.add(ev.venue)
        if flushed_long == w.long_sweep and ev.ts > w.last_liq_ts:  # the sweep goes on
            w.last_liq_ts = ev.ts
        # the zone moves only with TRADED prices (on_trade): a liquidation's price is a bankruptcy
        # or limit price beyond the market

    def expire(self, st: SymbolState, now_ts: int) -> None:
        w = st.det_hunt
        if w is not None and now_ts - w.last_liq_ts > FOLLOW_MS:
            st.det_hunt = None
            st.det_story_ts = max(st.det_story_ts, now_ts)

    def on_trade(self, st: SymbolState, ev: Trade, th: Thresholds) -> Finding | None:
        w = st.det_hunt
        if w is None:  # the engine calls this only while a story is open
            return None
        price = ev.price
        ts = ev.ts
        if ts - w.last_liq_ts > FOLLOW_MS:
            st.det_hunt = None
            st.det_story_ts = max(st.det_story_ts, ts)
            return None
        if w.long_sweep:
            if price < w.extreme:  # a new low: the sweep is not over
                w.extreme = price
                w.extreme_ts = ts
                w.zone_low = min(w.zone_low, price)
                w.absorb_usd = w.against_usd = 0.0
                w.large = 0  # large orders that failed to hold the level do not count
                return None
            absorbing = ev.side is Side.BUY
        else:
            if price > w.extreme:
                w.extreme = price
                w.extreme_ts = ts
                w.zone_high = max(w.zone_high, price)
                w.absorb_usd = w.against_usd = 0.0
                w.large = 0  # large orders that failed to hold the level do not count
                return None
            absorbing = ev.side is Side.SELL
        if absorbing:
            w.absorb_usd += ev.notional
            if st.flow.order_large:  # this print made its taker ORDER large: one order, counted once
                w.large += 1
        else:
            w.against_usd += ev.notional
        if ts - w.extreme_ts < HOLD_MS or w.large < th.absorb_min_large:
            return None
        taker = w.absorb_usd + w.against_usd
        share = w.absorb_usd / taker if taker > 0 else 0.0
        if share < ABSORB_SHARE:
            return None
        span = w.zone_high - w.zone_low
        if span <= 0:
            return None
        reclaim = (price - w.zone_low) / span if w.long_sweep else (w.zone_high - price) / span
        if reclaim < th.reclaim:
            return None
        flushed = w.liq_long if w.long_sweep else w.liq_short
        if flushed < th.dominance * (w.liq_long + w.liq_short):
            return None  # the story turned two-sided: a liquidation burst, not a hunt of one side
        st.det_hunt = None
        st.det_story_ts = max(st.det_story_ts, ts)
        return self._finding(st, w, ev, th, share, reclaim)

    def _finding(self, st: SymbolState, w: HuntWatch, ev: Trade, th: Thresholds, share: float,
                 reclaim: float) -> Finding:
        price = ev.price
        low, high = w.zone_low, w.zone_high
        rng = max(high - low, price * MIN_RANGE)
        buffer = max(rng * STOP_BUFFER, price * MIN_RANGE)
        # entry: a band around the reclaim line (ENTRY_BAND of the zone either side), stretched to
        # the current price when it is already higher (lower for a short setup)
        span = high - low
        if w.long_sweep:
            line = low + th.reclaim * span
            entry_low = max(low + 0.05 * span, line - ENTRY_BAND * rng)
            entry_high = max(price, line + ENTRY_BAND * rng)
            stop = low - buffer
            targets = (max(high, entry_high + 0.25 * rng), max(high, entry_high) + 0.5 * rng)
        else:
            line = high - th.reclaim * span
            entry_high = min(high - 0.05 * span, line + ENTRY_BAND * rng)
            entry_low = min(price, line - ENTRY_BAND * rng)
            stop = high + buffer
            targets = (min(low, entry_low - 0.25 * rng), min(low, entry_low) - 0.5 * rng)
        total = w.liq_long + w.liq_short
        flushed = w.liq_long if w.long_sweep else w.liq_short
        dominance = flushed / total if total > 0 else 0.0
        components = cascade_components(total, dominance, len(w.venues), th,
                                        size_max=25.0, dominance_max=15.0, venue_pts=5.0)
        components["absorption"] = round(min(20.0, 40.0 * w.absorb_usd / flushed if flushed else 0.0), 1)
        components["large_orders"] = round(min(15.0, 3.0 * w.large), 1)
        components["reclaim"] = round(min(15.0, 30.0 * reclaim), 1)
        return Finding(
            kind=Kind.STOP_HUNT,
            symbol=st.symbol,
            direction=Direction.LONG if w.long_sweep else Direction.SHORT,
            ts=ev.ts,
            recv_ns=ev.recv_ns,
            magnitudes={
                "liq_usd": total,
                "liq_long_usd": w.liq_long,
                "liq_short_usd": w.liq_short,
                "dominance": dominance,
                "count": float(w.count),
                "absorb_usd": w.absorb_usd,
                "absorb_share": share,
                "large_count": float(w.large),
                "whale_usd": w.whale_usd,
                "reclaim": reclaim,
                "price": price,
                "sweep_s": (w.extreme_ts - w.started_ts) / 1000,
            },
            components=components,
            venues=tuple(sorted(w.venues | {ev.venue})),
            levels=Levels(
                zone_low=low, zone_high=high, entry_low=entry_low, entry_high=entry_high,
                stop=stop, targets=targets, expires_ts=ev.ts + ENTRY_TTL_MS,
            ),
            thread=w.thread,
            extra={"flushed": "LONG" if w.long_sweep else "SHORT"},
        )
