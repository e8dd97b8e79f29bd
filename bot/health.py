"""Numbers behind /health: feeds (state, lag, last-message age), engine throughput, queue depth,
delivery figures (when a delivery service is plugged in) and the bot's own error counters.
Every source is read through the small Protocol it is typed with, nothing is probed."""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bot.ops import OpsMonitor
    from bot.subscriptions import SymbolRegistry
    from engine.core import Engine


@dataclass(slots=True)
class BotCounters:
    updates: int = 0
    errors: int = 0
    last_error: str = ""


@dataclass(slots=True)
class FeedHealth:
    name: str
    state: str
    lag_ms: float
    age_s: float
    frames: int
    events: int
    parse_errors: int
    reconnects: int
    last_error: str
    reporting: bool = True  # False: the feed exposes no ``stats`` (nothing to show but its name)


class FeedStatsView(Protocol):
    """engine.feeds.base.FeedStats as /health reads it: one documented view of every figure."""

    def snapshot(self, now_ns: int | None = None) -> Mapping[str, Any]: ...


class FeedView(Protocol):
    """A feed as /health sees it: its name and its stats (None: it reports no figures)."""

    @property
    def name(self) -> str: ...

    @property
    def stats(self) -> FeedStatsView | None: ...


class DeliveryFigures(Protocol):
    """bot.delivery.Delivery as /health reads it."""

    def health(self) -> Mapping[str, object]: ...


def feed_health(feed: FeedView, now_ns: int) -> FeedHealth:
    """What /health shows for one feed, read afresh from ``feed.stats`` on every call (a feed
    may create or replace its stats object when it starts)."""
    stats = feed.stats
    name = str(feed.name or "?")
    if stats is None:
        return FeedHealth(name=name, state="", lag_ms=0.0, age_s=math.inf, frames=0, events=0,
                          parse_errors=0, reconnects=0, last_error="", reporting=False)
    f = stats.snapshot(now_ns)
    age = f.get("age_s")
    return FeedHealth(
        name=name, state=str(f.get("state") or "?"), lag_ms=float(f.get("lag_ms") or 0.0),
        age_s=math.inf if age is None else float(age), frames=int(f.get("frames") or 0),
        events=int(f.get("events") or 0), parse_errors=int(f.get("parse_errors") or 0),
        reconnects=int(f.get("reconnects") or 0), last_error=str(f.get("last_error") or ""),
    )


@dataclass(slots=True)
class HealthReport:
    feeds: list[FeedHealth]
    events_total: int
    events_per_s: float  # since the previous report (or since start)
    queue_depth: int | None
    symbols: int | None
    delivery: Mapping[str, Any] | None
    bot: BotCounters
    uptime_s: float
    extra: dict[str, Any] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)  # engine: refused events by reason
    failed: dict[str, int] = field(default_factory=dict)  # engine: events a component failed on
    incidents: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (locale key, args), bot/ops.py


class HealthMonitor:
    """Collects a HealthReport from whatever is plugged in; every source is optional."""

    def __init__(self, *, feeds: Iterable[FeedView] = (), engine: Engine | None = None,
                 delivery: DeliveryFigures | None = None, registry: SymbolRegistry | None = None,
                 queue_depth: Callable[[], int] | None = None,
                 counters: BotCounters | None = None, clock: Callable[[], float] = time.monotonic,
                 ops: OpsMonitor | None = None) -> None:
        self.feeds = list(feeds)
        self.engine = engine
        self.delivery = delivery
        self.registry = registry
        self.queue_depth = queue_depth
        self.counters = counters or BotCounters()
        self.ops = ops  # bot.ops.OpsMonitor: open incidents, the same the admins were told
        self.clock = clock
        self.started = clock()
        self._last = (self.started, self._events())

    def _events(self) -> int:
        return self.engine.stats.events if self.engine is not None else 0

    def report(self) -> HealthReport:
        now = self.clock()
        events = self._events()
        last_t, last_n = self._last
        rate = (events - last_n) / (now - last_t) if now > last_t else 0.0
        self._last = (now, events)
        now_ns = time.time_ns()
        feeds = [feed_health(feed, now_ns) for feed in self.feeds]
        delivery = None
        if self.delivery is not None:
            try:
                delivery = dict(self.delivery.health())
            except Exception as e:  # health must answer even when delivery is broken
                delivery = {"error": str(e)[:200]}
        symbols = len(self.registry.symbols) if self.registry is not None else None
        stats = self.engine.stats if self.engine is not None else None
        incidents = []
        if self.ops is not None:
            incidents = [self.ops.describe(inc) for inc in self.ops.open_incidents()]
        return HealthReport(
            feeds=feeds, events_total=events, events_per_s=max(rate, 0.0),
            queue_depth=self.queue_depth() if self.queue_depth is not None else None,
            symbols=symbols, delivery=delivery, bot=self.counters, uptime_s=now - self.started,
            rejected=dict(stats.rejects) if stats is not None else {},
            failed=dict(stats.errors) if stats is not None else {}, incidents=incidents,
        )
