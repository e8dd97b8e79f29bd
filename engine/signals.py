"""Findings (what a detector saw) and Signals (what a subscriber is told), plus the one gate.

A detector returns a ``Finding``; the ``SignalEngine`` turns findings into ``Signal``s, scores them
and passes every one through the same gate (dedup + cooldown per (kind, symbol, direction)). The
cooldown is consumed only when a signal is actually emitted. ``AlertSink`` is the seam to delivery.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol


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

    def top_reasons(self, n: int = 3) -> list[tuple[str, float]]:
        return sorted(self.components.items(), key=lambda kv: -kv[1])[:n]

    def to_dict(self) -> dict:
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
        }

    @classmethod
    def from_dict(cls, d: dict) -> Signal:
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


def tier_for(kind: Kind, confidence: int) -> Tier:
    """Tier by kind and score: actionable setups can be URGENT, context kinds top out at WATCH."""
    if kind is Kind.STOP_HUNT:
        return Tier.URGENT if confidence >= 70 else Tier.WATCH
    if kind in (Kind.LIQUIDATION_CASCADE, Kind.ACCUMULATION, Kind.DISTRIBUTION):
        return Tier.WATCH if confidence >= 60 else Tier.INFO
    return Tier.WATCH if confidence >= 80 else Tier.INFO


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


class SignalEngine:
    """Findings -> scored, tiered Signals through one gate. Time comes from event timestamps."""

    def __init__(self, sink: AlertSink, *, cooldown_ms: dict[Kind, int] | None = None,
                 wall_ns=time.time_ns) -> None:
        self._sink = sink
        self._cooldown = dict(COOLDOWN_MS if cooldown_ms is None else cooldown_ms)
        self._last: dict[tuple[Kind, str, Direction], int] = {}
        self._thread_head: dict[str, tuple[str, Tier]] = {}
        self._seq = 0
        self._wall_ns = wall_ns
        self.emitted = 0
        self.suppressed = 0

    def _score(self, finding: Finding) -> int:
        return max(0, min(100, round(sum(finding.components.values()))))

    def submit(self, finding: Finding) -> Signal | None:
        """Gate a finding; emit and return the Signal, or None when deduplicated/cooling down."""
        key = (finding.kind, finding.symbol, finding.direction)
        last = self._last.get(key)
        cooldown = self._cooldown.get(finding.kind, 60_000)
        if last is not None and -cooldown < finding.ts - last < cooldown:
            self.suppressed += 1
            return None
        confidence = self._score(finding)
        tier = tier_for(finding.kind, confidence)
        upgrades = None
        if finding.thread is not None:
            head = self._thread_head.get(finding.thread)
            if head is not None:
                upgrades = head[0]
        self._seq += 1
        signal = Signal(
            id=f"{finding.ts:x}-{finding.symbol}-{finding.kind.value[:4]}-{self._seq}",
            kind=finding.kind,
            symbol=finding.symbol,
            direction=finding.direction,
            tier=tier,
            confidence=confidence,
            ts=finding.ts,
            recv_ns=finding.recv_ns,
            signal_ns=self._wall_ns(),
            magnitudes=finding.magnitudes,
            components=finding.components,
            venues=finding.venues,
            levels=finding.levels,
            thread=finding.thread,
            upgrades=upgrades,
        )
        self._last[key] = finding.ts  # consumed only now that the signal is emitted
        if finding.thread is not None:
            self._thread_head[finding.thread] = (signal.id, tier)
            if len(self._thread_head) > 10_000:  # bounded: drop the oldest threads
                for k in list(self._thread_head)[:5_000]:
                    del self._thread_head[k]
        self.emitted += 1
        self._sink.emit(signal)
        return signal
