"""``Delivery``: the facade the app wires in — sink in, Telegram out, health figures.

    delivery = Delivery(bot, db, translator)
    engine = SignalEngine(delivery.sink)
    await delivery.start()      # requeue rows a crash left in flight, start the tasks
    ...
    await delivery.stop()       # persist what the sink holds, let started requests finish

Flow: ``sink.emit`` (non-blocking, bounded queue) -> router task (``OutboxWriter.accept``:
route by symbol, render, persist signal + rows in one transaction) -> the outbox (SQLite, the
only copy of every row) -> ``Sender``: woken when rows are added, it reads the due rows a page
at a time in send order (``OutboxRepo.due``), lets the ``Scheduler`` (pacing state only: per-chat
next times, one request in flight per chat, coalescing) and the ``GlobalLimiter`` pick the next
message, claims its rows atomically (``OutboxRepo.claim``), sends, and marks them 'sent' /
'failed' / back to 'pending' with a due time; a timer (the injectable clock) wakes it for the
next due retry or paced chat, nothing polls.

Routing survives storage faults: when persisting a signal fails with a storage error (the
database locked by another process past ``busy_timeout``, a full disk), the router keeps that
signal and retries it with capped backoff (``route_backoff_max_s``) until storage answers
again, while new signals wait in the bounded inbox. A signal the sink accepted is never dropped
because the disk hiccupped (only an inbox that overflows drops, counted and logged).

Figures for ``/health`` and a metrics exporter, all plain attributes/methods of ``Delivery``:
``counters`` (``DeliveryCounters``: signals in/routed/dropped, rows sent/failed/expired,
``sends_by_outcome`` {ok, retry_after, blocked, bad_request, server_error, undecodable,
network, timeout}, ``rate_limited`` = 429s, retries, edits), ``latency``
(``LatencyWindow``: receive->sent over the last hour), ``inbox_depth()``, ``queued()``,
``inflight()``, ``await outbox_depth()`` (rows by state: pending/sending/sent/failed) and
``health()`` (all of it flat). ``sender.sent_observers`` (callables ``(item, sent_ns)``) see
every alert row as it is sent, with ``item.exchange_ms`` and ``item.recv_ns``, for latency
histograms.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiogram import Bot

from bot.delivery.clock import REAL_CLOCK, Clock
from bot.delivery.outbox import (
    ADD_PREFIX,
    BROADCAST_PREFIX,
    OPS_PREFIX,
    OUTCOME_PREFIX,
    Accepted,
    OutboxWriter,
    Updated,
    inserted,
)
from bot.delivery.replies import ReplyLimiter
from bot.delivery.scheduler import GlobalLimiter, Scheduler
from bot.delivery.sender import OUTCOMES, RetryPolicy, Sender
from bot.delivery.stats import HOUR_NS, DeliveryCounters, LatencyWindow
from bot.groups import TopicRoutes
from engine.outcomes import Outcome
from engine.signals import Signal, Tier
from locales import Translator, translator as default_translator
from storage import ChatRepo, ConstraintError, Database, OutboxRepo, OutboxRow, StorageError, UserRepo

if TYPE_CHECKING:  # the chart module loads only when charts are enabled (bot.delivery.charts)
    from bot.delivery.charts import AlertCharts, HuntSeries, Render

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    global_per_s: float = 25.0  # Telegram allows ~30/s to different chats; keep headroom
    guard_s: float = 0.05  # jitter guard on every pacing window
    per_chat_per_s: float = 1.0  # private chats
    group_per_min: float = 20.0  # groups
    coalesce_window_s: float = 3.0  # low-tier alerts for one chat within this go out together
    # only INFO waits to be bundled: a WATCH alert (a cascade crossing your threshold) leaves at
    # once, paced only by the per-chat limit
    coalesce_tiers: tuple[str, ...] = ("INFO",)
    # retryable failures (5xx, network, undecodable answer, timeout) retry for this long after
    # the row was accepted, then it is given up ('failed', counted, logged)
    retry_budget_urgent_s: float = 3600.0
    retry_budget_watch_s: float = 3600.0
    retry_budget_info_s: float = 900.0
    retry_budget_broadcast_s: float = 6 * 3600.0  # an admin /broadcast
    # by row kind (signal-id prefix), whatever their tier: worthless hours later
    retry_budget_outcome_s: float = 3600.0  # the reply in an alert's thread ("✅ T1 reached")
    retry_budget_ops_s: float = 3600.0  # an operations notice to the admins (URGENT)
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    send_timeout_s: float = 60.0  # read timeout of a send (far above Telegram's usual worst case)
    resend_after_s: float = 60.0  # a send that timed out is not resent before this much later
    edit_interval_s: float = 3.0  # edits of one message: at most one per this
    retry_after_global: bool = True  # a 429 pauses every chat, not only the one it named
    max_inflight: int = 16  # concurrent sendMessage requests
    inbox_size: int = 10_000  # signals waiting to be routed
    # stop(): started requests get this long to finish and be recorded; one cut off stays
    # 'sending' and is sent again at the next start (it may then arrive twice)
    drain_timeout_s: float = 12.0
    fanout_page: int = 500  # subscribers routed and written per transaction
    route_backoff_max_s: float = 30.0  # routing retries after storage errors, capped backoff

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            budget_s={"URGENT": self.retry_budget_urgent_s, "WATCH": self.retry_budget_watch_s,
                      "INFO": self.retry_budget_info_s},
            broadcast_budget_s=self.retry_budget_broadcast_s,
            prefix_budget_s=((OUTCOME_PREFIX, self.retry_budget_outcome_s),
                             (OPS_PREFIX, self.retry_budget_ops_s),
                             # a watchlist confirmation: worthless hours later, like an INFO
                             (ADD_PREFIX, self.retry_budget_info_s)),
            backoff_base_s=self.backoff_base_s, backoff_max_s=self.backoff_max_s,
            send_timeout_s=self.send_timeout_s, resend_after_s=self.resend_after_s,
        )


@dataclass(frozen=True, slots=True)
class BroadcastTicket:
    signal_id: str  # the outbox signal_id of its rows
    users: int  # active users it was addressed to
    first_row: int  # lowest outbox id it added (0: none new)


@dataclass(frozen=True, slots=True)
class BroadcastProgress:
    sent: int
    failed: int
    open: int  # pending or being sent

    @property
    def done(self) -> bool:
        return self.open == 0


class QueueSink:
    """The ``AlertSink`` handed to the engine: ``emit`` never blocks (bounded queue)."""

    def __init__(self, queue: asyncio.Queue[Signal], counters: DeliveryCounters) -> None:
        self._queue = queue
        self._counters = counters
        self._last_drop_log = 0.0

    def emit(self, signal: Signal) -> None:
        self._counters.signals_in += 1
        try:
            self._queue.put_nowait(signal)
        except asyncio.QueueFull:
            self._counters.signals_dropped += 1
            now = time.monotonic()
            if now - self._last_drop_log > 10:
                self._last_drop_log = now
                log.error("delivery inbox full (%d signals): dropping %s; %d dropped so far",
                          self._queue.maxsize, signal.id, self._counters.signals_dropped)


class Delivery:
    def __init__(self, bot: Bot, db: Database, translator: Translator | None = None, *,
                 config: DeliveryConfig | None = None, clock: Clock = REAL_CLOCK) -> None:
        self.config = cfg = config or DeliveryConfig()
        self._db = db
        self._tr = translator or default_translator()
        self.clock = clock
        self._wall_ns = wall_ns = clock.wall_ns
        self._outbox = OutboxRepo(db)
        self._users = UserRepo(db)
        self.counters = DeliveryCounters()
        self.latency = LatencyWindow()
        # a group's forum topic routes (/topic), shared with the bot's handlers (bot.app)
        self.chats = ChatRepo(db)
        self.topic_routes = TopicRoutes(self.chats)
        self.writer = OutboxWriter(db, self._tr, wall_ns=wall_ns, topic_routes=self.topic_routes)
        self.scheduler = Scheduler(
            chat_interval_s=1.0 / cfg.per_chat_per_s + cfg.guard_s,
            group_interval_s=60.0 / cfg.group_per_min + cfg.guard_s,
            coalesce_window_s=cfg.coalesce_window_s, coalesce_tiers=cfg.coalesce_tiers,
        )
        self.limiter = GlobalLimiter(cfg.global_per_s, cfg.guard_s)
        self.sender = Sender(
            bot, self._outbox, UserRepo(db), self._tr, self.scheduler, self.limiter,
            self.counters, self.latency,
            retry=cfg.retry_policy(), max_inflight=cfg.max_inflight,
            retry_after_global=cfg.retry_after_global, edit_interval_s=cfg.edit_interval_s,
            clock=clock, chats=self.chats, topic_routes=self.topic_routes,
        )
        self._inbox: asyncio.Queue[Signal] = asyncio.Queue(maxsize=cfg.inbox_size)
        self.sink = QueueSink(self._inbox, self.counters)
        self._tasks: list[asyncio.Task[Any]] = []
        self.router_waiting = False  # the router is backing off after a storage error
        self._bot = bot
        # command replies share the global limit, ahead of alerts (registered while running)
        self.replies = ReplyLimiter(self.sender)
        self.charts: AlertCharts | None = None  # once enable_charts is called
        self._chart_task: asyncio.Task[Any] | None = None

    def enable_charts(self, engine: HuntSeries, render: Render) -> None:
        """Stop-hunt alerts get their chart as a reply after the text (bot.delivery.charts);
        ``render`` is ``ChartRenderer.render`` (or a test's stand-in)."""
        from bot.delivery.charts import AlertCharts

        self.charts = AlertCharts(self._bot, engine, render, translator=self._tr, outbox=self._outbox,
                                  users=self._users)
        self.sender.sent_observers.append(self.charts.on_sent)

    # ---- lifecycle -----------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return any(not t.done() for t in self._tasks)

    def tasks(self) -> list[asyncio.Task[Any]]:
        """The long-running tasks ``start`` started (for a supervisor to watch; ``stop`` ends them)."""
        return list(self._tasks)

    async def start(self) -> None:
        """Requeue rows a crash left 'sending', load the backlog, start router and sender."""
        if self.running:
            raise RuntimeError("delivery already started")
        requeued = await self._outbox.requeue_inflight()
        if requeued:
            log.warning("%d alerts were in flight at the last stop: sending them again", requeued)
        await self.writer.load_hourly()
        resumed = await self.writer.resume_unfinished(self._rows_added, page_size=self.config.fanout_page)
        if resumed:
            log.warning("%d signals had an interrupted fan-out: routed again", resumed)
        now_ns = self._wall_ns()
        for t in await self._outbox.delivery_timings_since(now_ns - HOUR_NS,
                                                           exclude_prefix=BROADCAST_PREFIX):
            start = t.recv_ns or t.enqueued_ns
            self.latency.add(t.sent_ns, t.sent_ns - start)
        self._bot.session.middleware.register(self.replies)
        self.sender.rows_added()  # what the outbox holds goes out first
        self._tasks = [
            asyncio.create_task(self._route_loop(), name="delivery-router"),
            asyncio.create_task(self.sender.run(), name="delivery-sender"),
        ]
        if self.charts is not None:
            self._chart_task = asyncio.create_task(self.charts.run(), name="delivery-charts")
        pending = (await self._outbox.counts_by_state())["pending"]
        log.info("delivery started: %d alerts pending, limit %.0f msg/s", pending, self.config.global_per_s)

    async def stop(self) -> None:
        """Persist signals still in the sink queue, stop dispatching, let started sends finish.

        Queued rows stay 'pending' in the outbox and go out after the next ``start``.
        """
        if not self._tasks:
            return
        router, sender = self._tasks
        # the router persists whatever the sink already accepted before it stops
        try:
            await asyncio.wait_for(self._inbox.join(), self.config.drain_timeout_s)
        except TimeoutError:
            log.error("delivery stop: %d signals not persisted in time", self._inbox.qsize())
        if self._chart_task is not None:  # a chart is an extra: replies not sent yet are dropped
            self._chart_task.cancel()
            await asyncio.gather(self._chart_task, return_exceptions=True)
            self._chart_task = None
        for task in (router, sender):
            task.cancel()
        await asyncio.gather(router, sender, return_exceptions=True)
        if self.replies in self._bot.session.middleware:
            self._bot.session.middleware.unregister(self.replies)
        cancelled = await self.sender.drain_inflight(self.config.drain_timeout_s)
        if cancelled:
            log.warning("delivery stop: %d requests cut off; they are re-sent at next start", cancelled)
        self._tasks = []

    # ---- routing -------------------------------------------------------------------------
    async def accept(self, signal: Signal) -> Accepted | Updated:
        """Persist and route one signal now (the router task calls this for each emitted one).

        An update (``signal.edits``) goes only to the recipients of the signal it updates."""
        c = self.counters
        if signal.edits:
            updated = await self.writer.accept_update(signal, self._rows_added)
            c.signals_routed += 1
            # a rewritten pending row goes out with its new text: the sender sends rows as claimed
            c.edits_merged += len(updated.rewritten)
            return updated
        if self.charts is not None:  # before routing: the series of the alert's moment
            self.charts.on_signal(signal)
        accepted = await self.writer.accept(signal, self._rows_added, page_size=self.config.fanout_page)
        c.signals_routed += 1
        for reason, n in accepted.skipped.items():
            c.skipped[reason] = c.skipped.get(reason, 0) + n
        return accepted

    def rows_changed(self) -> None:
        """Rows already in the outbox were changed outside delivery (a group's rows moved to
        its supergroup's id, ``ChatRepo.migrate``): the sender drops the due rows it read
        ahead and reads them again, so nothing leaves with what the outbox no longer says."""
        self.sender.rows_added()

    def _rows_added(self, rows: list[OutboxRow]) -> None:
        """Durable rows were added to the outbox: the sender takes them in send order and looks."""
        self.counters.rows_enqueued += len(rows)
        self.sender.rows_added(rows)

    async def _route_loop(self) -> None:
        while True:
            signal = await self._inbox.get()
            try:
                await self._route_until_stored(signal)
            finally:
                self._inbox.task_done()

    async def _route_until_stored(self, signal: Signal) -> None:
        """Route one signal; storage errors are retried (capped backoff) until storage returns.

        Anything else is a bug in routing or rendering: 3 attempts, then the signal is dropped
        with an ERROR (retrying forever would stall every later signal behind it)."""
        failures = bugs = 0
        while True:
            try:
                await self.accept(signal)
                if failures:
                    log.warning("signal %s routed after %d storage errors", signal.id, failures)
                return
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self.counters.route_errors += 1
                storage = isinstance(e, (StorageError, OSError)) and not isinstance(e, ConstraintError)
                if storage:
                    failures += 1
                    delay = min(self.config.route_backoff_max_s, 0.25 * 2 ** min(failures - 1, 16))
                    if failures == 1 or failures % 20 == 0:
                        log.error("routing signal %s: storage error (%s); retrying every <=%.0fs "
                                  "until storage answers (%d waiting)", signal.id, e,
                                  self.config.route_backoff_max_s, self._inbox.qsize())
                else:
                    bugs += 1
                    log.exception("routing signal %s failed (attempt %d/3)", signal.id, bugs)
                    if bugs >= 3:
                        self.counters.signals_lost += 1
                        return
                    delay = 0.5 * bugs
                self.counters.route_retries += 1
                self.router_waiting = True
                try:
                    await self.clock.sleep(delay)
                finally:
                    self.router_waiting = False

    # ---- admin broadcasts ----------------------------------------------------------------
    async def broadcast(self, broadcast_id: str, text: str, *, groups: bool = False) -> BroadcastTicket:
        """Queue ``text`` (Telegram HTML, already safe) for every active user, at INFO priority;
        subscribed groups too only with ``groups`` (an admin's explicit ``/broadcast +groups``).

        Each user gets an outbox row (signal_id ``broadcast:<broadcast_id>``) and it goes
        through the same pacing, global limiter and retry rules as alerts: durable across a
        restart, paced under the global limit, ``retry_after`` honoured exactly, a 403
        deactivates the user, and the same ``broadcast_id`` queued again adds nothing
        (``UNIQUE(user_id, signal_id)``). URGENT alerts still go first.
        """
        signal_id = BROADCAST_PREFIX + broadcast_id
        users = [u for u in await self._users.list_users(active_only=True) if groups or not u.is_group]
        priority = Tier.INFO.priority
        first_id = 0
        page = self.config.fanout_page
        for start in range(0, len(users), page):
            now_ns = self._wall_ns()
            rows = [
                OutboxRow(
                    user_id=u.id, chat_id=u.chat_id, signal_id=signal_id, tier=Tier.INFO.value,
                    priority=priority, text=text, silent=False, enqueued_ns=now_ns,
                    lang=self._tr.normalize(u.language),
                )
                for u in users[start:start + page]
            ]
            ids = await self._outbox.enqueue_many(rows)
            if not ids:
                continue  # queued before (same broadcast id): those rows are already on their way
            first_id = first_id or ids[0]
            self._rows_added(await inserted(self._outbox, ids, rows, now_ns))
        return BroadcastTicket(signal_id=signal_id, users=len(users), first_row=first_id)

    async def accept_outcome(self, outcome: Outcome) -> int:
        """A stop hunt's outcome became final: queue the silent reply in its thread for the
        users who got the alert (``OutboxWriter.accept_outcome``). Returns the rows added."""
        rows = await self.writer.accept_outcome(outcome)
        if rows:
            self._rows_added(rows)
        return len(rows)

    async def notify_admins(self, notice_id: str, admin_ids: Iterable[int],
                            render: Callable[[str], str]) -> int:
        """Queue an operations notice for the admins who started the bot (Telegram lets a bot
        write only to those): ``render(lang)`` gives each admin's text (Telegram HTML, safe).

        At URGENT priority, signal_id ``broadcast:ops:<notice_id>`` (see ``notify``).
        Returns the rows added (added for the operations monitor, bot/ops.py)."""
        return await self.notify(OPS_PREFIX.removeprefix(BROADCAST_PREFIX) + notice_id, admin_ids, render,
                                 tier=Tier.URGENT)

    async def notify(self, notice_id: str, user_ids: Iterable[int], render: Callable[[str], str], *,
                     tier: Tier = Tier.INFO) -> int:
        """Queue one notice (not an alert) for each listed user who is active: ``render(lang)``
        gives each user's text (Telegram HTML, safe).

        Rows are durable outbox rows like a broadcast's (signal_id ``broadcast:<notice_id>``:
        not timed as alerts, never coalesced, no alert buttons) at ``tier``'s priority, through
        the same limiter and retry rules; an inactive (blocked, denied) user gets nothing, and
        the same ``notice_id`` twice queues nothing twice (``UNIQUE(user_id, signal_id)``).
        Returns the rows added."""
        signal_id = BROADCAST_PREFIX + notice_id
        now_ns = self._wall_ns()
        rows = []
        for user_id in dict.fromkeys(int(a) for a in user_ids):
            user = await self._users.get(user_id)
            if user is None or not user.active:
                continue
            lang = self._tr.normalize(user.language)
            rows.append(OutboxRow(
                user_id=user.id, chat_id=user.chat_id, signal_id=signal_id, tier=tier.value,
                priority=tier.priority, text=render(lang), silent=False, enqueued_ns=now_ns, lang=lang))
        if not rows:
            return 0
        ids = await self._outbox.enqueue_many(rows)
        if ids:
            self._rows_added(await inserted(self._outbox, ids, rows, now_ns))
        return len(ids)

    async def broadcast_progress(self, ticket: BroadcastTicket) -> BroadcastProgress:
        """Where a broadcast stands: rows sent, failed (given up) and still open.

        While rows are open (a cheap count through the state index) sent/failed cover the rows
        this call added; once none is open, every row of the broadcast is counted (also rows an
        earlier call with the same id queued), so the final figures count each user once."""
        open_rows = await self._outbox.open_count(ticket.signal_id)
        counts = await self._outbox.counts_for_signal(
            ticket.signal_id, min_id=ticket.first_row if open_rows else 0)
        return BroadcastProgress(sent=counts["sent"], failed=counts["failed"], open=open_rows)

    # ---- figures -------------------------------------------------------------------------
    def inbox_depth(self) -> int:
        """Signals accepted by the sink, not yet routed."""
        return self._inbox.qsize()

    def queued(self) -> int:
        """Due outbox rows the sender has read and not started yet (waiting for their chat or
        the limit); ``outbox_depth()`` counts every pending row."""
        return self.sender.read_ahead

    def inflight(self) -> int:
        """Bot API requests of the sender on the wire."""
        return self.sender.inflight

    async def outbox_depth(self) -> dict[str, int]:
        """Outbox rows by state: pending, sending, sent, failed (one grouped query)."""
        return await self._outbox.counts_by_state()

    def health(self) -> dict[str, object]:
        """Queue depths, counters and receive->sent latency percentiles over the last hour.

        Flat (name -> number/bool/None) so ``/health`` can list it as is.
        """
        counters = self.counters.as_dict()
        del counters["skipped"], counters["sends_by_outcome"]
        skipped = self.counters.skipped
        outcomes = self.counters.sends_by_outcome
        latency = self.latency.summary(self._wall_ns())
        return {
            "running": self.running,
            "inbox": self._inbox.qsize(),
            "queued": self.sender.read_ahead,
            "inflight": self.sender.inflight,
            "global_per_s": self.config.global_per_s,
            "replies_sent": self.replies.sent,
            "replies_retried": self.replies.retried,
            "replies_failed": self.replies.failed,
            **counters,
            "skipped": sum(skipped.values()),
            **{f"skipped_{reason}": n for reason, n in sorted(skipped.items())},
            **{f"send_{outcome}": outcomes.get(outcome, 0) for outcome in OUTCOMES},
            "sent_last_hour": latency["count"],
            "p50_ms": latency["p50_ms"],
            "p95_ms": latency["p95_ms"],
            "p99_ms": latency["p99_ms"],
            "max_ms": latency["max_ms"],
        }
