"""Numbers behind /health: feeds (state, lag, last-message age), engine throughput, queue depth,
delivery figures (when a delivery service is plugged in) and the bot's own error counters."""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


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


class HealthMonitor:
    """Collects a HealthReport from whatever is plugged in; every source is optional."""

    def __init__(self, *, feeds: Iterable[Any] = (), engine: Any = None, delivery: Any = None,
                 registry: Any = None, queue_depth: Callable[[], int] | None = None,
                 counters: BotCounters | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.feeds = list(feeds)
        self.engine = engine
        self.delivery = delivery
        self.registry = registry
        self.queue_depth = queue_depth
        self.counters = counters or BotCounters()
        self.clock = clock
        self.started = clock()
        self._last = (self.started, self._events())

    def _events(self) -> int:
        stats = getattr(self.engine, "stats", None)
        return int(getattr(stats, "events", 0) or 0)

    def report(self) -> HealthReport:
        now = self.clock()
        events = self._events()
        last_t, last_n = self._last
        rate = (events - last_n) / (now - last_t) if now > last_t else 0.0
        self._last = (now, events)
        feeds = []
        now_ns = time.time_ns()
        for feed in self.feeds:
            st = getattr(feed, "stats", None)  # the simulator keeps no stats: shown as "running"
            age = st.age_s(now_ns) if hasattr(st, "age_s") else math.inf
            feeds.append(FeedHealth(
                name=str(getattr(feed, "name", getattr(st, "name", "?"))),
                state=str(getattr(st, "state", "running")), lag_ms=float(getattr(st, "lag_ms", 0.0)),
                age_s=age, frames=int(getattr(st, "frames", 0)), events=int(getattr(st, "events", 0)),
                parse_errors=int(getattr(st, "parse_errors", 0)),
                reconnects=int(getattr(st, "reconnects", 0)),
                last_error=str(getattr(st, "last_error", "") or ""),
            ))
        delivery = None
        if self.delivery is not None:
            try:
                delivery = dict(self.delivery.health())
            except Exception as e:  # health must answer even when delivery is broken
                delivery = {"error": str(e)[:200]}
        symbols = len(self.registry.symbols) if self.registry is not None else None
        return HealthReport(
            feeds=feeds, events_total=events, events_per_s=max(rate, 0.0),
            queue_depth=self.queue_depth() if self.queue_depth is not None else None,
            symbols=symbols, delivery=delivery, bot=self.counters, uptime_s=now - self.started,
        )
