"""Findings (what a detector saw) and Signals (what a subscriber is told), plus the one gate.

A detector returns a ``Finding``; the ``SignalEngine`` turns findings into ``Signal``s, scores them
and passes every one through the same gate (dedup + cooldown per (kind, symbol, direction)). The
cooldown is consumed only when a signal is actually emitted. ``AlertSink`` is the seam to delivery.

Confidence is a SCORE 0-100 (a ranking, not a probability): the sum of named components, each a
number of points a detector awarded for one piece of evidence (``Signal.components``), plus
``confluence`` points the engine adds when other detectors recently agreed on the same symbol and
direction. ``Signal.top_reasons()`` lists the biggest components for the alert text.

``Signal.magnitudes`` — the numbers routing compares with each user's own thresholds, per kind
(all floats; USD values are notional; shares are 0..1; funding is a fraction per 8 h):

- every kind: ``price`` (last trade price when it fired, 0 if none yet).
- LIQUIDATION_CASCADE: ``liq_usd`` (liquidated USD in the window, both sides), ``liq_long_usd``,
  ``liq_short_usd``, ``dominance`` (share of the dominant side), ``count``, ``zone_low``,
  ``zone_high`` (the price range swept so far), ``window_s``.
- STOP_HUNT: the cascade keys (``liq_usd``, ``liq_long_usd``, ``liq_short_usd``, ``dominance``,
  ``count``) plus ``absorb_usd`` (opposite-side taker USD since the sweep's extreme),
  ``absorb_share`` (its share of taker volume since the extreme), ``large_count`` (large
  opposite-side orders since the cascade began), ``whale_usd`` (the size counted as large),
  ``reclaim`` (share of the swept range won back). Levels carry zone, entry, stop, targets, expiry.
- ACCUMULATION / DISTRIBUTION: ``buy_usd``, ``sell_usd``, ``buy_share``, ``dominance`` (share of
  the dominant side), ``net_delta``, ``large_buys``, ``large_sells``, ``whale_usd``, ``vwap``,
  ``window_s``.
- WHALE_WINDOW: ``whale_count`` (large same-side orders in the window), ``whale_usd`` (the size
  counted as large), ``cluster_usd`` (their total), ``opposite_count``, ``baseline_per_min``,
  ``window_s``.
- FUNDING_EXTREME: ``funding_8h`` (mean of the venues' latest rates, signed, fraction per 8 h),
  ``funding_max_8h`` (the most extreme venue), ``venue_count``.
- DIVERGENCE: ``spread_bps`` and ``duration_s`` (price) or ``share_gap`` (flow: the gap between
  the venues' 5-minute buy shares); ``price_high`` / ``price_low``; venue names in ``extra``.
- VOLUME_SPIKE: ``volume_usd`` (last minute), ``baseline_usd`` (trailing per-minute average),
  ``ratio``, ``buy_share``, ``dominance``.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol


class Kind(str, Enum):
    STOP_HUNT = "STOP_HUNT"
    LIQUIDATION_CASCADE = "LIQUIDATION_CASCADE"
    ACCUMULATION = "ACCUMULATION"
    DISTRIBUTION = "DISTRIBUTION"
    WHALE_WINDOW = "WHALE_WINDOW"
    FUNDING_EXTREME = "FUNDING_EXTREME"
    DIVERGENCE = "DIVERGENCE"
    VOLUME_SPIKE = "VOLUME_SPIKE"


class Direction(str, Enum):
    """The bias a signal suggests to a trader (a setup's side), or NEUTRAL."""

    LONG = "LONG"
    SHORT = "SHORT"
    NEUTRAL = "NEUTRAL"


class Tier(str, Enum):
    URGENT = "URGENT"
    WATCH = "WATCH"
    INFO = "INFO"

    @property
    def priority(self) -> int:
        """Lower is sent first."""
        return _TIER_PRIORITY[self]


_TIER_PRIORITY = {Tier.URGENT: 0, Tier.WATCH: 1, Tier.INFO: 2}


@dataclass(slots=True)
class Levels:
    """Price levels of a setup (stop hunts)."""

    zone_low: float
    zone_high: float
    entry_low: float
    entry_high: float
    stop: float
    targets: tuple[float, ...]
    expires_ts: int  # epoch ms after which the setup is stale


@dataclass(slots=True)
class Finding:
    """What one detector saw. Pure data; ``ts`` is the event time that completed it."""

    kind: Kind
    symbol: str
    direction: Direction
    ts: int
    recv_ns: int
    magnitudes: dict[str, float]
    components: dict[str, float]  # named confidence components, points out of 100 in total
    venues: tuple[str, ...] = ()
    levels: Levels | None = None
    thread: str | None = None  # findings of one story share a thread (cascade -> stop hunt)
    extra: dict[str, object] = field(default_factory=dict)  # non-numeric evidence (venue names)
    # an UPDATE of the event an earlier finding of the same kind on the same thread reported (a
    # cascade's growing total, its end): emitted as a Signal whose ``edits`` names that signal,
    # past the cooldown gate, giving and taking no confluence
    update: bool = False


@dataclass(slots=True)
class Signal:
    id: str
    kind: Kind
    symbol: str
    direction: Direction
    tier: Tier
    confidence: int  # a 0-100 score (a ranking, not a probability)
    ts: int  # event time that completed it, epoch ms
    recv_ns: int  # receive time of that event
    signal_ns: int  # when the engine emitted it (wall clock, for latency only)
    magnitudes: dict[str, float]
    components: dict[str, float]
    venues: tuple[str, ...] = ()
    levels: Levels | None = None
    thread: str | None = None
    upgrades: str | None = None  # id of the earlier signal of the same thread this one upgrades
    extra: dict[str, object] = field(default_factory=dict)
    # id of an earlier signal whose message this one REPLACES (an update of the same event, e.g. a
    # cascade's growing total): delivery edits the message each recipient of that signal got
    # instead of sending a new one, and sends nothing to anyone else
    edits: str | None = None

    def top_reasons(self, n: int = 3) -> list[tuple[str, float]]:
        return sorted(self.components.items(), key=lambda kv: -kv[1])[:n]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "symbol": self.symbol,
            "direction": self.direction.value,
            "tier": self.tier.value,
            "confidence": self.confidence,
            "ts": self.ts,
            "recv_ns": self.recv_ns,
            "signal_ns": self.signal_ns,
            "magnitudes": self.magnitudes,
            "components": self.components,
            "venues": list(self.venues),
            "levels": None
            if self.levels is None
            else {
                "zone_low": self.levels.zone_low,
                "zone_high": self.levels.zone_high,
                "entry_low": self.levels.entry_low,
                "entry_high": self.levels.entry_high,
                "stop": self.levels.stop,
                "targets": list(self.levels.targets),
                "expires_ts": self.levels.expires_ts,
            },
            "thread": self.thread,
            "upgrades": self.upgrades,
            "extra": self.extra,
            "edits": self.edits,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Signal:
        lv = d.get("levels")
        return cls(
            id=d["id"],
            kind=Kind(d["kind"]),
            symbol=d["symbol"],
            direction=Direction(d["direction"]),
            tier=Tier(d["tier"]),
            confidence=int(d["confidence"]),
            ts=int(d["ts"]),
            recv_ns=int(d.get("recv_ns") or 0),
            signal_ns=int(d.get("signal_ns") or 0),
            magnitudes=dict(d.get("magnitudes") or {}),
            components=dict(d.get("components") or {}),
            venues=tuple(d.get("venues") or ()),
            levels=None
            if not lv
            else Levels(
                lv["zone_low"], lv["zone_high"], lv["entry_low"], lv["entry_high"],
                lv["stop"], tuple(lv["targets"]), int(lv["expires_ts"]),
            ),
            thread=d.get("thread"),
            upgrades=d.get("upgrades"),
            extra=dict(d.get("extra") or {}),
            edits=d.get("edits"),
        )


class AlertSink(Protocol):
    """Where signals go. ``emit`` must not block (delivery queues, the demo prints)."""

    def emit(self, signal: Signal) -> None: ...


class ListSink:
    """Collects signals in memory (tests, backtests)."""

    def __init__(self) -> None:
        self.signals: list[Signal] = []

    def emit(self, signal: Signal) -> None:
        self.signals.append(signal)


def tier_for(signal: Signal) -> Tier:
    """The tier a subscriber with DEFAULT thresholds gets (``engine.contract``): the Signal's
    headline tier. Delivery gives each subscriber their own by the same rule."""
    from .contract import default_tier  # contract imports this module

    return default_tier(signal)


COOLDOWN_MS: dict[Kind, int] = {
    Kind.STOP_HUNT: 300_000,
    Kind.LIQUIDATION_CASCADE: 120_000,
    Kind.ACCUMULATION: 900_000,
    Kind.DISTRIBUTION: 900_000,
    Kind.WHALE_WINDOW: 300_000,
    Kind.FUNDING_EXTREME: 3_600_000,
    Kind.DIVERGENCE: 600_000,
    Kind.VOLUME_SPIKE: 600_000,
}

CONFLUENCE_MS = 900_000  # an agreeing finding counts for 15 minutes (event time)
CONFLUENCE_POINTS = 8.0  # per agreeing kind
CONFLUENCE_MAX = 16.0
# kinds that are one story with another are not independent confirmation of it
_SAME_STORY = {Kind.STOP_HUNT: {Kind.LIQUIDATION_CASCADE}, Kind.LIQUIDATION_CASCADE: {Kind.STOP_HUNT}}


ESCALATION = 2.0  # a finding this many times bigger than the last emitted one passes the cooldown
_SIZE_KEYS = ("liq_usd", "cluster_usd", "net_delta", "volume_usd", "max_bps", "funding_8h")


def _headline_size(finding: Finding) -> float:
    """The one magnitude that says how big a finding is (0 when the kind has none)."""
    m = finding.magnitudes
    for key in _SIZE_KEYS:
        if key in m:
            return abs(m[key])
    return 0.0


class SignalEngine:
    """Findings -> scored, tiered Signals through one gate. Time comes from event timestamps.

    Every finding (emitted or not) is remembered per (symbol, kind, direction) for
    ``CONFLUENCE_MS``; a later finding on the same symbol and direction from another kind gets
    ``CONFLUENCE_POINTS`` per agreeing kind (at most ``CONFLUENCE_MAX``) as its ``confluence``
    component. NEUTRAL findings neither give nor take confluence.
    """

    def __init__(self, sink: AlertSink, *, cooldown_ms: dict[Kind, int] | None = None,
                 wall_ns: Callable[[], int] = time.time_ns) -> None:
        self._sink = sink
        self._cooldown = dict(COOLDOWN_MS if cooldown_ms is None else cooldown_ms)
        self._last_size: dict[tuple[Kind, str, Direction], float] = {}
        self._last: dict[tuple[Kind, str, Direction], int] = {}
        self._thread_head: dict[str, tuple[str, Tier]] = {}
        # (thread, kind) -> id of the first signal of that kind on the thread: what updates edit
        self._thread_first: dict[tuple[str, Kind], str] = {}
        # symbol -> {(kind, direction): newest finding ts}; bounded by kinds x directions
        self._recent: dict[str, dict[tuple[Kind, Direction], int]] = {}
        self._seq = 0
        self._wall_ns = wall_ns
        self.emitted = 0
        self.suppressed = 0

    def confluence(self, finding: Finding) -> tuple[float, list[str]]:
        """Points for other kinds that recently agreed with this finding, and which kinds."""
        if finding.direction is Direction.NEUTRAL:
            return 0.0, []
        recent = self._recent.get(finding.symbol)
        if not recent:
            return 0.0, []
        skip = _SAME_STORY.get(finding.kind, ())
        agreeing = sorted(
            kind.value for (kind, direction), ts in recent.items()
            if direction is finding.direction and kind is not finding.kind and kind not in skip
            and abs(finding.ts - ts) <= CONFLUENCE_MS
        )
        return min(CONFLUENCE_MAX, CONFLUENCE_POINTS * len(agreeing)), agreeing

    def _remember(self, finding: Finding) -> None:
        if finding.direction is Direction.NEUTRAL:
            return
        recent = self._recent.setdefault(finding.symbol, {})
        key = (finding.kind, finding.direction)
        if finding.ts > recent.get(key, 0):
            recent[key] = finding.ts

    def submit(self, finding: Finding) -> Signal | None:
        """Gate a finding; emit and return the Signal, or None when deduplicated/cooling down."""
        if finding.update:
            return self._update(finding)
        key = (finding.kind, finding.symbol, finding.direction)
        last = self._last.get(key)
        cooldown = self._cooldown.get(finding.kind, 60_000)
        size = _headline_size(finding)
        if (last is not None and -cooldown < finding.ts - last < cooldown
                and not size >= ESCALATION * self._last_size.get(key, 0.0) > 0.0):
            # inside the cooldown, unless this one is far bigger than the one that started it:
            # a small event (seen because one user set a low threshold) must not mute a big one
            self.suppressed += 1
            self._remember(finding)
            return None
        components = dict(finding.components)
        points, agreeing = self.confluence(finding)
        if points:
            components["confluence"] = points
        self._remember(finding)
        confidence = max(0, min(100, round(sum(components.values()))))
        upgrades = None
        if finding.thread is not None:
            head = self._thread_head.get(finding.thread)
            if head is not None:
                upgrades = head[0]
        self._seq += 1
        extra = dict(finding.extra)
        if agreeing:
            extra["confluence"] = agreeing
        signal = Signal(
            id=f"{finding.ts:x}-{finding.symbol}-{finding.kind.value[:4]}-{self._seq}",
            kind=finding.kind,
            symbol=finding.symbol,
            direction=finding.direction,
            tier=Tier.INFO,  # set below, from the signal's own figures
            confidence=confidence,
            ts=finding.ts,
            recv_ns=finding.recv_ns,
            signal_ns=self._wall_ns(),
            magnitudes=finding.magnitudes,
            components=components,
            venues=finding.venues,
            levels=finding.levels,
            thread=finding.thread,
            upgrades=upgrades,
            extra=extra,
        )
        signal.tier = tier = tier_for(signal)
        self._last[key] = finding.ts
        self._last_size[key] = size  # consumed only now that the signal is emitted
        if finding.thread is not None:
            self._thread_head[finding.thread] = (signal.id, tier)
            self._thread_first.setdefault((finding.thread, finding.kind), signal.id)
            if len(self._thread_head) > 10_000:  # bounded: drop the oldest threads
                for thread in list(self._thread_head)[:5_000]:
                    del self._thread_head[thread]
                for first in list(self._thread_first)[:5_000]:
                    del self._thread_first[first]
        self.emitted += 1
        self._sink.emit(signal)
        return signal

    def _update(self, finding: Finding) -> Signal | None:
        """An update of an event already reported on the finding's thread: a Signal that
        ``edits`` the first one of its kind there (None when that one was never emitted)."""
        if finding.thread is None:
            return None
        first = self._thread_first.get((finding.thread, finding.kind))
        if first is None:
            self.suppressed += 1
            return None
        confidence = max(0, min(100, round(sum(finding.components.values()))))
        self._seq += 1
        signal = Signal(
            id=f"{finding.ts:x}-{finding.symbol}-{finding.kind.value[:4]}-{self._seq}",
            kind=finding.kind, symbol=finding.symbol, direction=finding.direction,
            tier=Tier.INFO, confidence=confidence, ts=finding.ts, recv_ns=finding.recv_ns,
            signal_ns=self._wall_ns(), magnitudes=finding.magnitudes,
            components=dict(finding.components), venues=finding.venues, levels=finding.levels,
            thread=finding.thread, extra=dict(finding.extra), edits=first,
        )
        signal.tier = tier_for(signal)
        self.emitted += 1
        self._sink.emit(signal)
        return signal
