"""Operations: is the engine advancing (for the systemd watchdog, /health and admin alerts),
and the monitor that tells the admins when a feed, the engine, delivery or storage is in trouble."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from bot.i18n import Texts
from engine.feeds.base import Feed
from locales import Translator
from storage import Database

log = logging.getLogger(__name__)

Details = dict[str, Any]  # an incident's figures: the placeholders of its notice texts


class _Batches(Protocol):
    @property
    def batches(self) -> int: ...


class Progressing(Protocol):
    """What the engine shows of its progress (``engine.core.Engine``)."""

    @property
    def stats(self) -> _Batches: ...


class _RouteErrors(Protocol):
    @property
    def route_errors(self) -> int: ...


class OpsDelivery(Protocol):
    """What the monitor reads of delivery and queues through it (``bot.delivery.Delivery``)."""

    @property
    def counters(self) -> _RouteErrors: ...

    def health(self) -> Mapping[str, object]: ...

    def outbox_depth(self) -> Awaitable[Mapping[str, int]]: ...

    def notify_admins(self, notice_id: str, admin_ids: Iterable[int],
                      render: Callable[[str], str]) -> Awaitable[int]: ...


class EngineProgress:
    """The engine advances while it drains its queue: stalled when batches wait in the queue and
    none was processed for ``stall_s`` (an empty queue is a quiet market, not a stall)."""

    def __init__(self, engine: Progressing, queue_depth: Callable[[], int], *, stall_s: float = 20.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self.queue_depth = queue_depth
        self.stall_s = stall_s
        self.clock = clock
        self._batches = -1
        self._since = clock()

    def stalled_for(self) -> float:
        """Seconds the engine has not advanced with work waiting (0.0 when it is fine)."""
        now = self.clock()
        batches = self.engine.stats.batches
        if batches != self._batches or self.queue_depth() == 0:
            self._batches = batches
            self._since = now
            return 0.0
        return now - self._since

    def advancing(self) -> bool:
        return self.stalled_for() <= self.stall_s


# ---- admin alerts ---------------------------------------------------------------------------
FEED_DOWN_S = 60.0  # a feed down or stale this long is an incident
ENGINE_STALL_S = 60.0
DELIVERY_FAILING_S = 120.0
STORAGE_FAILING_S = 60.0
MAX_NOTICES_PER_HOUR = 30  # a flapping system must not flood the admins
_FEED_BAD = frozenset({"stale", "backoff", "connecting", "stopped", "idle", "degraded"})


@dataclass(slots=True)
class Incident:
    key: str  # "feed:binance", "engine", "delivery", "storage"
    since: float  # monotonic time the condition was first seen
    threshold_s: float
    detail: Details = field(default_factory=dict)  # placeholders for the texts
    announced: bool = False  # the admins were told (so they get "recovered" too)
    seq: int = 0  # incident number of this key (notice ids stay unique)

    def open_for(self, now: float) -> float:
        return now - self.since

    @property
    def kind(self) -> str:
        return self.key.split(":", 1)[0]


class OpsMonitor:
    """Watches feeds, the engine, delivery and storage; tells the admins (through the delivery
    outbox, so the notice is durable and paced like everything else) once per incident when a
    condition has lasted its threshold, and once more when it is over. ``/health`` lists the
    open incidents (``open_incidents``). Every clock is injectable; ``check`` is one round."""

    def __init__(self, *, feeds: Iterable[Feed] = (), progress: EngineProgress | None = None,
                 delivery: OpsDelivery | None = None, db: Database | None = None,
                 tr: Translator | None = None, admin_ids: Iterable[int] = (),
                 clock: Callable[[], float] = time.monotonic, wall_ns: Callable[[], int] = time.time_ns,
                 interval_s: float = 15.0) -> None:
        self.feeds = list(feeds)
        self.progress = progress
        self.delivery = delivery
        self.db = db
        self.tr = tr
        self.admin_ids = tuple(admin_ids)
        self.clock = clock
        self.wall_ns = wall_ns
        self.interval_s = interval_s
        self.incidents: dict[str, Incident] = {}
        self.notices_sent = 0
        self._seq: dict[str, int] = {}
        self._outbox_pending: list[tuple[str, str, Details]] = []  # (notice id, text key, args) not queued yet
        self._sent_times: list[float] = []
        self._delivery_mark: tuple[int, int, float] | None = None  # (rows_sent, trouble, since)
        self._route_errors = 0
        self._storage_error = ""

    # ---- conditions ------------------------------------------------------------------------
    def _feed_conditions(self, now_ns: int) -> dict[str, Details]:
        out = {}
        for feed in self.feeds:
            state = feed.stats.health_state(now_ns)
            if state in _FEED_BAD:
                name = feed.name
                out[f"feed:{name}"] = {"feed": name, "state": state,
                                       "error": str(feed.stats.last_error or "—")[:160]}
        return out

    async def _delivery_condition(self, now: float) -> Details | None:
        """Failing = nothing sent while sends keep failing (retries, 429s, give-ups), or the
        delivery tasks are not running. A queue that waits on quiet hours is not failing."""
        d = self.delivery
        if d is None:
            return None
        try:
            h = dict(d.health())
        except Exception as exc:  # noqa: BLE001
            return {"retries": "?", "queued": "?", "error": str(exc)[:120]}
        sent = _count(h.get("rows_sent")) + _count(h.get("messages_sent"))
        trouble = sum(_count(h.get(k)) for k in ("retries", "rate_limited", "rows_failed"))
        running = h.get("running", True) is not False
        mark = self._delivery_mark
        if mark is None or sent != mark[0]:
            self._delivery_mark = (sent, trouble, now)  # it sends: all fine from here
            return None if running else {"retries": trouble, "queued": await self._backlog()}
        if not running or trouble > mark[1]:
            return {"retries": trouble - mark[1], "queued": await self._backlog()}
        return None

    async def _backlog(self) -> int | str:
        """Alerts waiting in the outbox (pending or being sent): the table is the truth."""
        if self.delivery is None:
            return 0
        try:
            depth = await self.delivery.outbox_depth()
        except Exception as exc:  # noqa: BLE001 — storage may be what is failing
            log.warning("ops: outbox depth unknown: %s", exc)
            return "?"
        return int(depth.get("pending", 0)) + int(depth.get("sending", 0))

    async def _storage_condition(self) -> Details | None:
        errors = 0
        if self.delivery is not None:
            errors = self.delivery.counters.route_errors
        grew = errors > self._route_errors
        self._route_errors = errors
        probe_error = ""
        if self.db is not None:
            try:
                async with self.db.transaction():  # takes the write lock: locked / I/O errors show
                    pass
            except Exception as exc:  # noqa: BLE001
                probe_error = str(exc)[:160]
        if probe_error or grew:
            return {"error": probe_error or "routing of signals failed (see the log)"}
        return None

    async def conditions(self) -> tuple[dict[str, Details], dict[str, float]]:
        now = self.clock()
        found = self._feed_conditions(self.wall_ns())
        thresholds = {k: FEED_DOWN_S for k in found}
        if self.progress is not None:
            stalled = self.progress.stalled_for()
            if stalled > 0:
                found["engine"] = {"queue": self.progress.queue_depth()}
                thresholds["engine"] = ENGINE_STALL_S
        failing = await self._delivery_condition(now)
        if failing is not None:
            found["delivery"] = failing
            thresholds["delivery"] = DELIVERY_FAILING_S
        storage = await self._storage_condition()
        if storage is not None:
            found["storage"] = storage
            thresholds["storage"] = STORAGE_FAILING_S
        return found, thresholds

    # ---- one round -------------------------------------------------------------------------
    async def check(self) -> None:
        found, thresholds = await self.conditions()
        now = self.clock()
        if self.progress is not None and "engine" in found:
            # the engine's stall started when EngineProgress last saw it advance
            found["engine"]["since"] = now - self.progress.stalled_for()
        for key, detail in found.items():
            inc = self.incidents.get(key)
            if inc is None:
                since = detail.pop("since", now)
                seq = self._seq[key] = self._seq.get(key, 0) + 1
                inc = self.incidents[key] = Incident(key, since, thresholds[key], detail, seq=seq)
            else:
                detail.pop("since", None)
                inc.detail.update(detail)
            if not inc.announced and inc.open_for(now) >= inc.threshold_s:
                inc.announced = True
                self._queue_notice(inc, "down", now)
        for key in [k for k in self.incidents if k not in found]:
            inc = self.incidents.pop(key)
            if inc.announced:
                self._queue_notice(inc, "recovered", now)
        await self._flush()

    def open_incidents(self) -> list[Incident]:
        """Incidents past their threshold (what the admins were told), oldest first."""
        now = self.clock()
        return sorted((i for i in self.incidents.values() if i.open_for(now) >= i.threshold_s),
                      key=lambda i: i.since)

    def describe(self, inc: Incident, phase: str = "down") -> tuple[str, Details]:
        """(locale key, placeholders) of an incident's text, for /health."""
        minutes = max(1, round(inc.open_for(self.clock()) / 60))
        return f"ops-{inc.kind}-{phase}", {**inc.detail, "minutes": minutes}

    def _queue_notice(self, inc: Incident, phase: str, now: float) -> None:
        self._sent_times = [t for t in self._sent_times if now - t < 3600]
        if len(self._sent_times) >= MAX_NOTICES_PER_HOUR:
            log.warning("ops: %s %s not sent to the admins (more than %d notices this hour)",
                        inc.key, phase, MAX_NOTICES_PER_HOUR)
            return
        self._sent_times.append(now)
        minutes = max(1, round(inc.open_for(now) / 60))
        args = {**inc.detail, "minutes": minutes}
        log.warning("ops: %s %s after %d min (%s)", inc.key, phase, minutes, inc.detail)
        self._outbox_pending.append((f"{inc.key}:{inc.seq}:{phase}", f"ops-{inc.kind}-{phase}", args))

    async def _flush(self) -> None:
        """Queue pending notices in the outbox; kept for the next round if storage fails now."""
        tr = self.tr
        if self.delivery is None or tr is None or not self.admin_ids:
            self._outbox_pending.clear()
            return
        while self._outbox_pending:
            notice_id, key, args = self._outbox_pending[0]
            try:
                # Texts escapes every str argument (a feed's last error may hold '<')
                await self.delivery.notify_admins(notice_id, self.admin_ids,
                                                  partial(_render_notice, tr, key, args))
            except Exception as exc:  # noqa: BLE001 — storage may be what is failing: try later
                log.warning("ops: notice %s not queued yet: %s", notice_id, exc)
                return
            self._outbox_pending.pop(0)
            self.notices_sent += 1

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 — the monitor must not take the service down
                log.exception("ops monitor round failed")


def _render_notice(tr: Translator, key: str, args: Details, lang: str) -> str:
    return str(Texts(tr, lang)(key, **args))


def _count(value: object) -> int:
    """A counter from ``Delivery.health()`` (absent or not a number: 0)."""
    return int(value) if isinstance(value, int | float) else 0
