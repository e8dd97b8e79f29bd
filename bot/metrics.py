"""Prometheus metrics on ``METRICS_ADDR`` (prometheus-client; off when the setting is empty).

Nothing here touches the hot path. ``TeleglasCollector`` reads the counters the feeds, the
engine and delivery already keep, at scrape time (in prometheus-client's HTTP thread: it only
reads ints and copies dicts, which the GIL makes atomic). What exists only in SQLite — outbox
depth by state and the per-alert timestamps behind the latency histograms — is read by
``MetricsPump``, a task on the event loop, every ``interval_s`` (the alerts sent since its last
read, broadcasts excluded). Signals by kind and tier are counted by ``CountingSink``, one dict
increment per signal on its way to delivery.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from prometheus_client import CollectorRegistry, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:  # annotations only: importing the metrics loads no engine module
    from wsgiref.simple_server import WSGIServer

    from engine.core import Engine
    from engine.feeds.base import Feed
    from engine.signals import AlertSink, Signal

log = logging.getLogger(__name__)


# ----- what the metrics read (delivery and the outbox are read only through these) ---------------
class DeliveryCounters(Protocol):
    def as_dict(self) -> Mapping[str, object]: ...


class DeliveryFigures(Protocol):
    """Delivery's counters and queue depths (``bot.delivery.service.Delivery``)."""

    @property
    def counters(self) -> DeliveryCounters: ...

    def health(self) -> Mapping[str, object]: ...


class SentTiming(Protocol):
    """One sent alert's timestamps (``storage``'s ``DeliveryTiming``)."""

    @property
    def outbox_id(self) -> int: ...

    @property
    def exchange_ms(self) -> int | None: ...

    @property
    def recv_ns(self) -> int | None: ...

    @property
    def sent_ns(self) -> int: ...


class OutboxFigures(Protocol):
    """What lives only in SQLite (``storage``'s outbox repository)."""

    async def delivery_timings_since(self, since_ns: int, *,
                                     exclude_prefix: str | None = None) -> Sequence[SentTiming]: ...

    async def counts_by_state(self) -> Mapping[str, int]: ...

LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)
_DELIVERY_SKIP = frozenset({"skipped"})


class CountingSink:
    """An ``AlertSink`` in front of another: counts signals by (kind, tier), then passes them on."""

    def __init__(self, inner: AlertSink) -> None:
        self.inner = inner
        self.counts: dict[tuple[str, str], int] = {}

    def emit(self, signal: Signal) -> None:
        key = (_value(signal.kind), _value(signal.tier))
        self.counts[key] = self.counts.get(key, 0) + 1
        self.inner.emit(signal)


def _value(x: object) -> str:
    return str(getattr(x, "value", x))


def _num(x: object) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return float(x)


class TeleglasCollector(Collector):
    def __init__(self, *, feeds: Iterable[Feed] = (), engine: Engine | None = None,
                 delivery: DeliveryFigures | None = None,
                 queue_depth: Callable[[], int] | None = None, sink: CountingSink | None = None,
                 pump: MetricsPump | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.feeds = list(feeds)
        self.engine = engine
        self.delivery = delivery
        self.queue_depth = queue_depth
        self.sink = sink
        self.pump = pump
        self.clock = clock
        self._last_rate = (clock(), self._engine_events())

    def _engine_events(self) -> int:
        return self.engine.stats.events if self.engine is not None else 0

    def collect(self) -> Iterator[Metric]:
        yield from self._feeds()
        if self.engine is not None:
            yield from self._engine(self.engine)
        if self.sink is not None:
            c = CounterMetricFamily("teleglas_signals", "Signals emitted by the engine", labels=["kind", "tier"])
            for (kind, tier), n in sorted(dict(self.sink.counts).items()):
                c.add_metric([kind, tier], n)
            yield c
        if self.delivery is not None:
            yield from self._delivery(self.delivery)
        if self.pump is not None:
            g = GaugeMetricFamily("teleglas_outbox_rows", "Outbox rows by state (read every pump interval)",
                                  labels=["state"])
            for state, n in sorted(dict(self.pump.outbox_states).items()):
                g.add_metric([state], n)
            yield g

    def _feeds(self) -> Iterator[Metric]:
        now_ns = time.time_ns()
        counters = {name: CounterMetricFamily(f"teleglas_feed_{name}", help_, labels=["feed"]) for name, help_ in (
            ("frames", "WebSocket frames received"), ("events", "Market events delivered to the engine"),
            ("parse_errors", "Frames or items that could not be parsed"),
            ("oversized", "Frames over the venue's size limit (refused, not parsed)"),
            ("vendor_errors", "Error frames sent by the venue"),
            ("stale", "Connections declared dead (silence or an unanswered ping)"),
            ("reconnects", "Reconnections"))}
        lag = GaugeMetricFamily("teleglas_feed_lag_seconds", "EWMA of receive time minus exchange time",
                                labels=["feed"])
        age = GaugeMetricFamily("teleglas_feed_data_age_seconds", "Seconds since market data last arrived",
                                labels=["feed"])
        up = GaugeMetricFamily("teleglas_feed_up", "1 while the feed is live and its data is fresh",
                               labels=["feed", "state"])
        for feed in self.feeds:
            stats = feed.stats
            name = feed.name
            for key, fam in counters.items():
                fam.add_metric([name], float(getattr(stats, key)))
            lag.add_metric([name], stats.lag_ms / 1000)
            a = stats.data_age_s(now_ns)
            age.add_metric([name], a if a != float("inf") else -1.0)
            state = stats.health_state(now_ns)
            up.add_metric([name, state], 1.0 if state == "live" else 0.0)
        yield from counters.values()
        yield from (lag, age, up)

    def _engine(self, engine: Engine) -> Iterator[Metric]:
        stats = engine.stats
        events = self._engine_events()
        yield CounterMetricFamily("teleglas_engine_events", "Events processed by the engine", value=events)
        now = self.clock()
        last_t, last_n = self._last_rate
        self._last_rate = (now, events)
        rate = (events - last_n) / (now - last_t) if now > last_t else 0.0
        yield GaugeMetricFamily("teleglas_engine_events_per_second",
                                "Events per second since the previous scrape", value=max(rate, 0.0))
        if self.queue_depth is not None:
            yield GaugeMetricFamily("teleglas_engine_queue_depth", "Event batches waiting for the engine",
                                    value=self.queue_depth())
        rej = CounterMetricFamily("teleglas_engine_rejected", "Events refused as impossible, by venue and reason",
                                  labels=["venue", "reason"])
        for key, n in sorted(dict(stats.rejects_by_venue).items()):
            venue, _, reason = key.rpartition(":")
            rej.add_metric([venue, reason], n)
        yield rej
        err = CounterMetricFamily("teleglas_engine_errors", "Events a component failed on (skipped)",
                                  labels=["component"])
        for component, n in sorted(dict(stats.errors).items()):
            err.add_metric([component], n)
        yield err

    def _delivery(self, delivery: DeliveryFigures) -> Iterator[Metric]:
        figures = delivery.counters.as_dict()
        total = CounterMetricFamily("teleglas_delivery", "Delivery counters since start (DeliveryCounters)",
                                    labels=["counter"])
        for name, v in sorted(figures.items()):
            if name in _DELIVERY_SKIP:
                continue
            n = _num(v)
            if n is not None:
                total.add_metric([name], n)
            elif isinstance(v, dict) and "outcome" in name:  # per-outcome counts, if delivery keeps them
                for outcome, m in sorted(v.items()):
                    if (mn := _num(m)) is not None:
                        total.add_metric([f"{name}:{outcome}"], mn)
        yield total
        yield CounterMetricFamily("teleglas_telegram_429", "Bot API 429 (Too Many Requests) answers",
                                  value=float(_num(figures.get("rate_limited")) or 0.0))
        try:
            health = dict(delivery.health())
        except Exception:  # noqa: BLE001 — a scrape must answer even when delivery is broken
            health = {}
        g = GaugeMetricFamily("teleglas_delivery_queue", "Delivery queues: scheduler, inbox, in flight",
                              labels=["queue"])
        for key, label in (("queued", "scheduler"), ("inbox", "routing"), ("inflight", "inflight")):
            v = _num(health.get(key))
            if v is not None:
                g.add_metric([label], v)
        yield g


class MetricsPump:
    """Reads what lives only in SQLite into the metrics, every ``interval_s`` on the event loop."""

    def __init__(self, outbox: OutboxFigures, registry: CollectorRegistry, *, interval_s: float = 15.0,
                 exclude_prefix: str | None = "broadcast:", wall_ns: Callable[[], int] = time.time_ns) -> None:
        self.outbox = outbox
        self.interval_s = interval_s
        self.exclude_prefix = exclude_prefix
        self.outbox_states: dict[str, int] = {}
        self.errors = 0
        self._since_ns = wall_ns()  # alerts sent from start-up on
        self._seen: set[int] = set()  # ids at the boundary second (sent_ns >= since is inclusive)
        self.exchange_to_sent = Histogram(
            "teleglas_alert_exchange_to_sent_seconds", "Exchange event time to Telegram accepting the alert",
            buckets=LATENCY_BUCKETS, registry=registry)
        self.receive_to_sent = Histogram(
            "teleglas_alert_receive_to_sent_seconds", "Our receive time to Telegram accepting the alert",
            buckets=LATENCY_BUCKETS, registry=registry)

    async def pump_once(self) -> int:
        """Observe alerts sent since the last call; refresh outbox depth. Returns rows observed."""
        rows = await self.outbox.delivery_timings_since(self._since_ns, exclude_prefix=self.exclude_prefix)
        n = 0
        for t in rows:
            if t.outbox_id in self._seen:
                continue
            n += 1
            if t.sent_ns and t.exchange_ms:
                self.exchange_to_sent.observe(max(0.0, t.sent_ns / 1e9 - t.exchange_ms / 1e3))
            if t.sent_ns and t.recv_ns:
                self.receive_to_sent.observe(max(0.0, (t.sent_ns - t.recv_ns) / 1e9))
        if rows:
            last = rows[-1].sent_ns
            self._since_ns = last
            self._seen = {t.outbox_id for t in rows if t.sent_ns == last}
        self.outbox_states = dict(await self.outbox.counts_by_state())
        return n

    async def run(self) -> None:
        while True:
            try:
                await self.pump_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 — metrics must never take the service down
                self.errors += 1
                log.warning("metrics: reading the outbox failed: %s", exc)
            await asyncio.sleep(self.interval_s)


class MetricsServer:
    """prometheus-client's HTTP server (its own thread) on ``host:port``; ``close`` stops it."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def start(self, host: str, port: int) -> None:
        server, self._thread = start_http_server(port, addr=host, registry=self.registry)
        self._server = server
        self.port = server.server_port
        log.info("metrics on http://%s:%d/metrics", host, self.port)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(5)
            self._server = None
