"""The engine loop: events -> per-symbol market state -> detectors -> signal engine -> AlertSink.

``Engine.process`` is synchronous and cheap (O(1) amortised per event); ``run_feeds`` is the
asyncio shell that drains feeds through ONE bounded queue into it.
"""
from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from .detectors import (
    CascadeDetector,
    DivergenceDetector,
    FundingDetector,
    OrderFlowDetector,
    StopHuntDetector,
    WhaleWindowDetector,
)
from .detectors.funding import ABSURD_8H
from .events import Event, Funding, Liquidation, MarkOI, PositionSide, Side, Trade
from .chartseries import CHART_BUCKETS, ChartSeries, build_series
from .flow import FLOW_WINDOWS, FlowSnapshot
from .signals import Finding, Signal, SignalEngine
from .state import SymbolState
from .feeds.base import RateLimitedLog
from .symbols import quoted_units
from .thresholds import MAJORS, MIDS, ThresholdBook, Thresholds

if TYPE_CHECKING:  # outcomes is optional at run time (Engine.track_outcomes)
    from .outcomes import OutcomeTracker, _SymbolBars

log = logging.getLogger(__name__)

_INF = math.inf
_BUY = Side.BUY
_LONG = PositionSide.LONG
# a trade or liquidation priced this far from the symbol's last price (within REF_MAX_AGE_MS) is
# refused as garbage (fat-fingered print, wrong per-1000 unit); after MAX_REJECTS_IN_ROW
# refusals in a row the new level is accepted (the old reference was the odd one out)
MAX_JUMP_UP = 1.25
MAX_JUMP_DOWN = 0.80
REF_MAX_AGE_MS = 60_000
MAX_REJECTS_IN_ROW = 50
# An event stamped more than this ahead of its receive time (recv_ns) is refused ("future"):
# exchange times are epoch ms from the venue's NTP-disciplined clocks and arrive AFTER they are
# stamped, so a healthy host sees them 5-500 ms in the past. 5 s is Binance's own default
# ``recvWindow`` (the skew it tolerates between client and server clocks), ten times any lag we
# measured, and small next to every detector window (1 s buckets heal in 5 s; the cascade window
# is 30 s). Events with recv_ns == 0 (synthetic tests, no receive clock) are not checked.
FUTURE_TOLERANCE_MS = 5_000
# A single trade or liquidation above this notional (USD) cannot be real: the largest single
# liquidations on record are ~$0.1-0.2B (ETH, Oct 2025) and the largest aggregated prints on
# BTC are of the same order. A wrong unit (a 1000PEPE multiplier applied twice, contracts taken
# for coins) gives "Liquidated $2877.20B" — refused ("notional"), per symbol class:
ABSURD_NOTIONAL_USD = {"major": 1e9, "mid": 2.5e8, "small": 1e8}
ABSURD_MIN_USD = min(ABSURD_NOTIONAL_USD.values())
REJECT_REASONS = ("time", "future", "invalid", "notional", "price_jump", "funding", "kind")


def absurd_notional(symbol: str) -> float:
    if symbol in MAJORS:
        return ABSURD_NOTIONAL_USD["major"]
    if symbol in MIDS:
        return ABSURD_NOTIONAL_USD["mid"]
    return ABSURD_NOTIONAL_USD["small"]


def failing_component(exc: BaseException) -> str:
    """Which part of the engine raised: the innermost engine module in the traceback
    (``cascade``, ``stophunt``, ``signals``, ``flow``, ``state``...), else ``engine``."""
    name = "engine"
    tb = exc.__traceback__
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if module.startswith("engine.") and module != __name__:
            name = module.rsplit(".", 1)[-1]
        tb = tb.tb_next
    return name


class ErrorLog:
    """At most ``per_minute`` error lines (with traceback) per key; the rest are counted and
    summarised once the minute is over. ``clock`` is injectable for tests."""

    def __init__(self, logger: logging.Logger, per_minute: int = 3,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._log = logger
        self._per_minute = per_minute
        self._clock = clock
        # key -> [minute start, lines shown, lines held back]
        self._window: dict[str, list[float]] = {}

    def error(self, key: str, msg: str, *args: object, exc: BaseException | None = None) -> bool:
        now = self._clock()
        w = self._window.get(key)
        if w is None or now - w[0] >= 60:
            if w is not None and w[2]:
                self._log.error("engine: %d more failures of %s in the last minute (not shown)", w[2], key)
            w = self._window[key] = [now, 0, 0]
        if w[1] < self._per_minute:
            w[1] += 1
            self._log.error(msg, *args, exc_info=exc)
            return True
        w[2] += 1
        return False


@dataclass(slots=True)
class EngineStats:
    events: int = 0
    trades: int = 0
    liquidations: int = 0
    fundings: int = 0
    marks: int = 0
    findings: int = 0
    rejected: int = 0  # events with impossible values (zero/negative/NaN/absurd price or rate)
    rejects: dict[str, int] = field(default_factory=dict)  # reason -> count (REJECT_REASONS)
    rejects_by_venue: dict[str, int] = field(default_factory=dict)  # "venue:reason" -> count
    duplicates: int = 0  # liquidations seen twice (re-sent frames), counted once
    failed: int = 0  # events whose processing raised (skipped; see ``errors``)
    errors: dict[str, int] = field(default_factory=dict)  # component (detector) -> events it failed on
    batches: int = 0  # event batches drained by ``run_feeds`` (the engine's heartbeat)
    started_ns: int = field(default_factory=time.monotonic_ns)


class Engine:
    """Events -> per-symbol state -> detectors -> signal engine. Synchronous and pure in time."""

    def __init__(self, signals: SignalEngine, thresholds: ThresholdBook | None = None) -> None:
        self.signals = signals
        self.thresholds = thresholds or ThresholdBook()
        self.states: dict[str, SymbolState] = {}
        self.cascade = CascadeDetector()
        self.stop_hunt = StopHuntDetector()
        self.order_flow = OrderFlowDetector()
        self.whales = WhaleWindowDetector()
        self.divergence = DivergenceDetector()
        self.funding = FundingDetector()
        self.stats = EngineStats()
        self._th: dict[str, Thresholds] = {}  # per-symbol floor, refreshed by set_floor
        self._error_log = ErrorLog(log)
        self._warn_log = RateLimitedLog(log)
        self._caps: dict[str, float] = {}  # symbol -> absurd single-event notional
        self.future_tolerance_ms = FUTURE_TOLERANCE_MS
        # called with every accepted trade after the detectors saw it (outcome tracking)
        self.on_trade: Callable[[Trade], None] | None = None
        # outcome tracking's running bars by symbol (``track_outcomes``): a trade that joins its
        # symbol's running bar is folded in here, without a call
        self._outcome_bars: dict[str, _SymbolBars] | None = None

    def track_outcomes(self, tracker: OutcomeTracker) -> None:
        """Feed ``tracker`` (engine.outcomes.OutcomeTracker) every accepted trade after the
        detectors saw it; a trade that joins its symbol's running bar costs no call."""
        self.on_trade = tracker.on_trade
        self._outcome_bars = tracker.bars

    # ---- state and thresholds --------------------------------------------------------------
    def state(self, symbol: str) -> SymbolState:
        st = self.states.get(symbol)
        if st is None:
            st = self._new_state(symbol)
        return st

    def _new_state(self, symbol: str) -> SymbolState:
        th = self._th[symbol] = self.thresholds.for_symbol(symbol)
        st = self.states[symbol] = SymbolState(
            symbol, cascade_window_ms=int(th.cascade_window_s * 1000), large_usd=th.whale_usd)
        return st

    def set_floor(self, symbol: str, **fields: float | None) -> Thresholds:
        """Set the detector floor of a symbol, both ways: each named field to the lowest value
        its subscribers need (None: back to the default); see ``ThresholdBook.set_floor``.

        Field names are ``Thresholds`` fields a user controls (see ``thresholds.FLOOR_FIELDS``);
        raises ValueError otherwise. Returns the symbol's thresholds after the change.
        """
        th = self.thresholds.set_floor(symbol, **fields)
        self._th[symbol] = th
        st = self.states.get(symbol)
        if st is not None:
            st.flow.large_usd = th.whale_usd
        return th

    def thresholds_for(self, symbol: str) -> Thresholds:
        th = self._th.get(symbol)
        if th is None:
            th = self._th[symbol] = self.thresholds.for_symbol(symbol)
        return th

    # ---- reading ---------------------------------------------------------------------------
    def flow(self, symbol: str, window: str = "5m") -> FlowSnapshot | None:
        """Order-flow snapshot for ``/flow`` (cheap: running sums, no rescans); None if no data."""
        if window not in FLOW_WINDOWS:
            raise ValueError(f"window must be one of {', '.join(FLOW_WINDOWS)}, not {window!r}")
        st = self.states.get(symbol)
        if st is None or st.flow.sec < 0:
            return None
        return st.snapshot(window)

    def flow_chart(self, symbol: str, window: str = "5m") -> ChartSeries | None:
        """The /flow chart's series: 60 buckets over ``window`` (1 s .. 60 s each), read from the
        per-second flow ring: sums and traded prices (O(seconds in the window), no rescans); None if no data."""
        if window not in FLOW_WINDOWS:
            raise ValueError(f"window must be one of {', '.join(FLOW_WINDOWS)}, not {window!r}")
        st = self.states.get(symbol)
        if st is None:
            return None
        return build_series(st.flow, symbol, window, CHART_BUCKETS[window])

    def hunt_chart(self, symbol: str, minutes: int = 5) -> ChartSeries | None:
        """The last ``minutes`` in 5-second buckets: the picture a stop-hunt alert carries."""
        st = self.states.get(symbol)
        if st is None:
            return None
        return build_series(st.flow, symbol, "hunt", 5, n=max(1, minutes * 12))

    # ---- processing ------------------------------------------------------------------------
    def _emit(self, finding: Finding | None) -> Signal | None:
        if finding is None:
            return None
        if finding.levels is not None:
            quoted = quoted_units(finding.symbol)
            if quoted:  # levels in the venue's own unit too (1000PEPE)
                finding.extra["quoted"] = quoted
        self.stats.findings += 1
        return self.signals.submit(finding)

    def _on_second(self, st: SymbolState, ts: int, recv_ns: int) -> None:
        """Once per second of event time per symbol: the window-based detectors."""
        th = self._th[st.symbol]
        st.liquidations.advance(ts)
        if st.liquidations.total_usd < th.cascade_usd * 0.5:
            # re-arm here too: the first liquidation of the next cascade may itself be large
            st.det_cascade_armed = True
        if st.det_hunt is not None:
            self._emit(self.cascade.on_second(st, ts, recv_ns, th))
            self.stop_hunt.expire(st, ts)
        for finding in self.order_flow.on_second(st, ts, recv_ns, th):
            self._emit(finding)
        if len(st.flow.venues) > 1:
            for finding in self.divergence.on_second(st, ts, recv_ns, th):
                self._emit(finding)

    def _price_ok(self, st: SymbolState, price: float, ts: int) -> bool:
        ref = st.last_price
        if (ref > 0.0 and (price > ref * MAX_JUMP_UP or price < ref * MAX_JUMP_DOWN)
                and ts - st.last_ts < REF_MAX_AGE_MS and st.rejects_in_row < MAX_REJECTS_IN_ROW):
            st.rejects_in_row += 1
            return False
        st.rejects_in_row = 0
        return True

    def _reject(self, ev: Event, reason: str) -> None:
        """Count an event refused as impossible (it moves no state): by reason and by venue."""
        stats = self.stats
        stats.rejected += 1
        stats.rejects[reason] = stats.rejects.get(reason, 0) + 1
        venue = str(getattr(ev, "venue", "?"))
        key = f"{venue}:{reason}"
        stats.rejects_by_venue[key] = stats.rejects_by_venue.get(key, 0) + 1
        if reason == "future":
            ahead_s = (ev.ts - ev.recv_ns / 1e6) / 1000
            self._warn_log.warning(
                key, "engine: %s %s event from %s is %.1f s ahead of this host's clock (tolerance %.1f s): "
                "refused; if every event is, check the host clock (timedatectl / NTP)",
                type(ev).__name__, ev.symbol, venue, ahead_s, self.future_tolerance_ms / 1000)
        elif reason in ("time", "notional"):
            self._warn_log.warning(key, "engine: impossible %s %s event from %s refused (%s): ts=%s notional=%s",
                                   type(ev).__name__, getattr(ev, "symbol", "?"), venue, reason, ev.ts,
                                   getattr(ev, "notional", None))

    def _absurd(self, symbol: str, notional: float) -> bool:
        """A single trade or liquidation above the class cap (only looked up past the lowest cap)."""
        cap = self._caps.get(symbol)
        if cap is None:
            cap = self._caps[symbol] = absurd_notional(symbol)
        return notional > cap

    def process(self, ev: Event) -> None:
        stats = self.stats
        stats.events += 1
        # the coin's clocks (flow seconds, liquidation window) only move forward: a frame stamped
        # ahead of the receive clock would silence the coin until that time came, so it is refused
        ts = ev.ts
        recv_ns = ev.recv_ns
        if ts <= 0 or (recv_ns > 0 and ts > recv_ns // 1_000_000 + self.future_tolerance_ms):
            self._reject(ev, "time" if ts <= 0 else "future")
            return
        # ``type(ev) is X``: one C-level check per branch, and it narrows ``ev`` for mypy
        if type(ev) is Trade:
            price = ev.price
            notional = ev.notional
            if not (0.0 < price < _INF and 0.0 < notional < _INF):  # also false for NaN
                self._reject(ev, "invalid")
                return
            if notional > ABSURD_MIN_USD and self._absurd(ev.symbol, notional):
                self._reject(ev, "notional")
                return
            st = self.states.get(ev.symbol)
            if st is None:
                st = self._new_state(ev.symbol)
            ref = st.last_price
            if ref > 0.0 and (price > ref * MAX_JUMP_UP or price < ref * MAX_JUMP_DOWN):
                if not self._price_ok(st, price, ts):
                    self._reject(ev, "price_jump")
                    return
            else:
                st.rejects_in_row = 0
            stats.trades += 1
            st.trades += 1
            if ts >= st.last_ts:
                st.last_ts = ts
                st.last_price = price
            flow = st.flow
            is_buy = ev.side is _BUY
            if flow.add_trade(ev.venue, ts, price, ev.qty, notional, is_buy):
                self._on_second(st, ts, recv_ns)
            if st.det_hunt is not None:
                finding = self.stop_hunt.on_trade(st, ev, self._th[ev.symbol])
                if finding is not None:
                    self._emit(finding)
            if flow.order_large:  # this print made its taker order large: once per order
                self._emit(self.whales.on_large_order(st, ev, is_buy, flow.order_usd, self._th[ev.symbol]))
            elif flow.order_grew:
                self.whales.on_order_grew(st, ev.venue, notional)
            bars = self._outcome_bars
            if bars is not None:  # OutcomeTracker.on_trade's hot path, inline (same rules)
                bar = bars.get(ev.symbol)
                if bar is not None and ts < bar.next_ms and bar.q_lo < price < bar.q_hi:
                    if price > bar.hi:
                        bar.hi, bar.hi_ts = price, ts
                    elif price < bar.lo:
                        bar.lo, bar.lo_ts = price, ts
                    bar.close = price
                    if ts > bar.top:
                        bar.top = ts
                    return
            if self.on_trade is not None:
                self.on_trade(ev)
        elif type(ev) is Liquidation:
            price = ev.price
            notional = ev.notional
            if not (0.0 < price < _INF and 0.0 < notional < _INF):
                self._reject(ev, "invalid")
                return
            if notional > ABSURD_MIN_USD and self._absurd(ev.symbol, notional):
                self._reject(ev, "notional")
                return
            st = self.state(ev.symbol)
            if st.last_price > 0.0 and not (st.last_price * MAX_JUMP_DOWN <= price <= st.last_price * MAX_JUMP_UP):
                self._reject(ev, "price_jump")
                return
            stats.liquidations += 1
            th = self._th[ev.symbol]
            win = st.liquidations
            seen = win.duplicates
            if not win.add(ev):
                if win.duplicates > seen:
                    stats.duplicates += 1
                return
            if st.flow.add_liquidation(ts, notional, ev.position is _LONG):
                self._on_second(st, ts, recv_ns)
            if st.det_hunt is not None:
                self.stop_hunt.on_liquidation(st, ev)
            finding = self.cascade.on_liquidation(st, ev, th)
            if finding is not None:
                if not finding.update:  # a new cascade: watch it for a stop hunt
                    self.stop_hunt.open(st, finding, th)
                self._emit(finding)
        elif type(ev) is Funding:
            rate_8h = ev.rate_8h
            if not (-ABSURD_8H <= rate_8h <= ABSURD_8H) or not ev.interval_h > 0:
                self._reject(ev, "funding")
                return
            stats.fundings += 1
            st = self.state(ev.symbol)
            st.on_funding(ev)
            self._emit(self.funding.on_funding(st, ev, self._th[ev.symbol]))
        elif type(ev) is MarkOI:
            stats.marks += 1
            st = self.state(ev.symbol)
            st.on_mark(ev)
            if st.flow.advance(ts):
                self._on_second(st, ts, recv_ns)
        else:
            self._reject(ev, "kind")

    def process_many(self, events: Iterable[Event]) -> None:
        """Process a batch. An exception while processing one event (a detector bug meeting an
        odd event) skips that event only: it is counted per component in ``stats.errors`` and
        logged at a bounded rate with the symbol. A ``try`` costs nothing in CPython 3.11 until
        something raises, so the hot path is unchanged."""
        process = self.process
        for ev in events:
            try:
                process(ev)
            except Exception as exc:  # noqa: BLE001 — one bad event must not end market processing
                self._failed(ev, exc)

    def _failed(self, ev: Event, exc: Exception) -> None:
        component = failing_component(exc)
        stats = self.stats
        stats.failed += 1
        stats.errors[component] = stats.errors.get(component, 0) + 1
        self._error_log.error(component, "engine: %s failed on a %s %s event from %s (%s: %s); event skipped",
                              component, type(ev).__name__, getattr(ev, "symbol", "?"),
                              getattr(ev, "venue", "?"), type(exc).__name__, exc, exc=exc)


class FeedCrashed(RuntimeError):
    """A feed's ``run`` raised (a bug, not a venue problem: those are reconnects inside the feed)."""


EventBatches = asyncio.Queue[list[Event] | None]  # None: a feed has finished


class RunnableFeed(Protocol):
    """What ``run_feeds`` needs of a feed (``engine.feeds.base.Feed`` is one)."""

    name: str

    def run(self, put: Callable[[list[Event]], Awaitable[None]]) -> Awaitable[None]: ...


async def run_feeds(engine: Engine, feeds: Sequence[RunnableFeed], *, queue_size: int = 1024,
                    queue: EventBatches | None = None, fail_fast: bool = False) -> None:
    """Run every feed as its own task; their event batches meet in one bounded queue.

    A feed is any object with ``name`` and ``async run(put)`` where ``put`` is an async callable
    taking a list of events. Returns when every feed has finished (replay/simulator) or on cancel.
    ``queue``: the caller's own (bounded) queue, so it can watch its depth; else one of
    ``queue_size`` is made here. A feed whose ``run`` raises is logged; with ``fail_fast`` (the
    long-running service) it also ends this coroutine with ``FeedCrashed``, so the supervisor
    stops the process for the service manager to restart, instead of running on without it.
    """
    if queue is None:
        queue = asyncio.Queue(maxsize=queue_size)
    crashed: list[str] = []

    async def drive(feed: RunnableFeed) -> None:
        try:
            await feed.run(queue.put)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("feed %s stopped with an error", feed.name)
            crashed.append(f"{feed.name}: {type(exc).__name__}: {exc}")
        await queue.put(None)  # end-of-feed marker (not reached when cancelled)

    tasks = [asyncio.create_task(drive(feed), name=f"feed:{feed.name}") for feed in feeds]
    remaining = len(tasks)
    stats = engine.stats
    try:
        while remaining:
            batch = await queue.get()
            if batch is None:
                remaining -= 1
                if crashed and fail_fast:
                    raise FeedCrashed(crashed[0])
                continue
            engine.process_many(batch)
            stats.batches += 1
    finally:
        for t in tasks:
            t.cancel()
        for t, outcome in zip(tasks, await asyncio.gather(*tasks, return_exceptions=True)):
            if isinstance(outcome, Exception):  # drive() logs feed errors itself: this is a bug there
                log.error("%s ended with %s: %s", t.get_name(), type(outcome).__name__, outcome)
