"""The bot application: Dispatcher assembly (``build_dispatcher``, used by tests too) and the
production service (``run_app``: settings -> Database -> repositories -> engine -> feeds ->
dispatcher polling; everything closed again on shutdown).

Dependencies reach handlers through the Dispatcher (aiogram injects them by parameter name):
``settings, tr, users, access_repo, watchlist, threshold_repo, signal_repo, outcome_repo, engine,
subscriptions, catalog, delivery, health, counters, background`` — never
``storage``/``state``/``bot``/``i18n``, which aiogram reserves.
"""
from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, UTC
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from aiogram import Bot, Dispatcher
from apscheduler.events import EVENT_JOB_ERROR
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (TelegramNetworkError, TelegramNotFound, TelegramServerError,
                                TelegramUnauthorizedError)
from aiogram.types import (BotCommand, BotCommandScopeAllChatAdministrators, BotCommandScopeAllGroupChats,
                           BotCommandScopeAllPrivateChats, BotCommandScopeChat, BotCommandScopeDefault,
                           TelegramObject)
from aiogram.utils.callback_answer import CallbackAnswerMiddleware

from bot.errors import StartupError, network_error_detail
from bot.charts import ChartRenderer
from bot.handlers import get_routers
from bot.groups import GroupAdmins, TopicRoutes
from bot.handlers.start import ADMIN_COMMANDS, GROUP_ADMIN_COMMANDS, GROUP_READ_COMMANDS, USER_COMMANDS
from bot.background import Background
from bot.subscriptions import (InstrumentCatalog, PendingConfirmations, Subscriptions, SymbolRegistry,
                               engine_has_data)
from bot.health import BotCounters, FeedView, HealthMonitor
from bot.inflight import InflightUpdates
from bot.metrics import CountingSink
from bot.ops import EngineProgress, OpsMonitor
from bot.supervisor import Supervisor
from bot.systemd import notify, watchdog_loop, watchdog_period_s
from bot.middlewares import AccessMiddleware, LanguageMiddleware, ThrottlingMiddleware
from config.settings import Settings
from locales import Translator, translator
from storage import (
    AccessRepo,
    ChatRepo,
    Database,
    DatabaseLocked,
    OutboxRepo,
    OutcomeRepo,
    SignalRepo,
    ThresholdRepo,
    UserRepo,
    WatchlistRepo,
)

if TYPE_CHECKING:
    from bot.delivery import Delivery
    from bot.metrics import CountingSink, MetricsPump, MetricsServer
    from engine.core import Engine
    from engine.feeds.base import Feed
    from engine.feeds.instruments import InstrumentCatalog as Catalog
    from engine.feeds.registry import SubscriptionRegistry

log = logging.getLogger(__name__)

COMMAND_LANGUAGES = ("en", "id")
EVENT_QUEUE_SIZE = 1024  # event batches between the feeds and the engine


def build_dispatcher(*, settings: Settings, db: Database, engine: Engine, tr: Translator | None = None,
                     registry: SymbolRegistry | None = None, catalog: InstrumentCatalog | None = None,
                     feeds: Iterable[FeedView] = (),
                     delivery: Delivery | None = None, queue_depth: Callable[[], int] | None = None,
                     throttle_rate: float = 2.0, throttle_burst: int = 10, ops: OpsMonitor | None = None,
                     pending: PendingConfirmations | None = None,
                     subscriptions: Subscriptions | None = None,
                     group_admins: GroupAdmins | None = None, charts: ChartRenderer | None = None) -> Dispatcher:
    tr = tr or translator()
    # /flow charts: one worker thread, shared by every user (bot.charts); closed with the dispatcher
    charts = charts if charts is not None else ChartRenderer()
    users, access_repo = UserRepo(db), AccessRepo(db)
    watchlist = WatchlistRepo(db)
    threshold_repo = ThresholdRepo(db)
    # watchlists -> the feeds' symbol set (one lock), thresholds -> detector floors, pending
    # confirmations through delivery: one service for handlers and the access middleware
    if subscriptions is None:
        subscriptions = Subscriptions(watchlist=watchlist, thresholds=threshold_repo, users=users, tr=tr,
                                      engine=engine, registry=registry, notifier=delivery, pending=pending)
    chats = ChatRepo(db)
    group_admins = group_admins if group_admins is not None else GroupAdmins()
    # one cache of forum topic routes, shared with delivery when it keeps one
    topic_routes = delivery.topic_routes if delivery is not None else TopicRoutes(chats)
    counters = BotCounters()
    health = HealthMonitor(feeds=feeds, engine=engine, delivery=delivery, registry=registry,
                           queue_depth=queue_depth, counters=counters, ops=ops)
    dp = Dispatcher(
        settings=settings, tr=tr, users=users, access_repo=access_repo, watchlist=watchlist,
        threshold_repo=threshold_repo, signal_repo=SignalRepo(db), outcome_repo=OutcomeRepo(db),
        engine=engine,
        # no registry: the feeds' symbol set changes only through ``subscriptions`` (one lock)
        subscriptions=subscriptions, catalog=catalog, delivery=delivery,
        health=health, counters=counters, chats=chats, group_admins=group_admins,
        topic_routes=topic_routes, charts=charts,
        background=Background(),
    )

    async def count_updates(handler: Callable[[TelegramObject, dict], Awaitable[Any]],
                            event: TelegramObject, data: dict) -> Any:
        counters.updates += 1
        return await handler(event, data)

    dp["inflight"] = inflight = InflightUpdates()  # shutdown waits for the updates it sees running
    dp.update.outer_middleware(inflight)
    dp.update.outer_middleware(count_updates)
    dp.shutdown.register(charts.close)
    throttle = ThrottlingMiddleware(tr, rate_per_s=throttle_rate, burst=throttle_burst)
    access = AccessMiddleware(settings, users, access_repo, tr, subscriptions=subscriptions,
                              chats=chats, group_admins=group_admins)
    dp["told_strangers"] = access.told_strangers  # the join notice and commands: one "how to get access"
    language = LanguageMiddleware(tr)
    for observer in (dp.message, dp.callback_query):
        observer.outer_middleware(throttle)
        observer.outer_middleware(access)
        observer.outer_middleware(language)
    dp.callback_query.middleware(CallbackAnswerMiddleware())
    dp.include_routers(*get_routers())
    return dp


async def set_commands(bot: Bot, tr: Translator, admin_ids: Iterable[int] = ()) -> None:
    """The command menu in English (default) and Indonesian, per scope: private chats (every
    user command), group chats (what any member may do: read), group administrators (who may
    also change the group's settings and topics); admins' private chats also list the admin
    commands (a chat scope replaces the default list there, so it holds both)."""
    for lang in COMMAND_LANGUAGES:
        code = None if lang == "en" else lang

        def menu(names: Iterable[str], lang: str = lang) -> list[BotCommand]:
            return [BotCommand(command=name, description=tr.get(lang, f"cmd-{name}")) for name in names]

        commands = menu(USER_COMMANDS)
        await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=code)
        await bot.set_my_commands(commands, scope=BotCommandScopeAllPrivateChats(), language_code=code)
        await bot.set_my_commands(menu(GROUP_READ_COMMANDS), scope=BotCommandScopeAllGroupChats(),
                                  language_code=code)
        await bot.set_my_commands(menu(GROUP_ADMIN_COMMANDS), scope=BotCommandScopeAllChatAdministrators(),
                                  language_code=code)
        admin = commands + [BotCommand(command=name, description=tr.get(lang, f"cmd-{name}"))
                            for name in ADMIN_COMMANDS]
        for admin_id in admin_ids:
            await bot.set_my_commands(admin, scope=BotCommandScopeChat(chat_id=admin_id), language_code=code)


async def check_telegram(bot: Bot, settings: Settings) -> None:
    """getMe before anything else: a rejected token or an unreachable Bot API server is one clear
    line, not a traceback from the middle of start-up."""
    try:
        await bot.get_me(request_timeout=20)
    except TelegramUnauthorizedError:
        raise StartupError("TELEGRAM_BOT_TOKEN: Telegram rejected the token (401 Unauthorized); "
                           "copy it again from @BotFather", 2) from None
    except TelegramNotFound:
        raise StartupError(f"TELEGRAM_API_BASE: {settings.TELEGRAM_API_BASE} does not answer like a "
                           "Telegram Bot API server (404)", 2) from None
    except (TimeoutError, TelegramNetworkError, TelegramServerError) as exc:
        raise StartupError(f"TELEGRAM_API_BASE: cannot reach {settings.TELEGRAM_API_BASE} "
                           f"({network_error_detail(exc)}); "
                           "exit 1 so the service manager retries", 1) from None


def _bot_session(settings: Settings) -> AiohttpSession:
    return AiohttpSession(api=TelegramAPIServer.from_base(settings.TELEGRAM_API_BASE))


METRICS_PUMP_S = 15.0  # outbox depth and alert latencies are read from SQLite this often


class Metrics:
    def __init__(self, server: MetricsServer, pump: MetricsPump) -> None:
        self.server = server
        self.pump = pump


def start_metrics(listen: tuple[str, int], *, feeds: Iterable[Feed], engine: Engine, delivery: Delivery,
                  queue_depth: Callable[[], int], sink: CountingSink, outbox: OutboxRepo) -> Metrics:
    """The Prometheus endpoint on METRICS_ADDR: a collector reading existing counters at scrape
    time, plus the pump that reads outbox depth and alert latencies from SQLite."""
    from prometheus_client import CollectorRegistry

    from bot.metrics import MetricsPump, MetricsServer, TeleglasCollector

    registry = CollectorRegistry(auto_describe=False)
    pump = MetricsPump(outbox, registry, interval_s=METRICS_PUMP_S)
    registry.register(TeleglasCollector(feeds=feeds, engine=engine, delivery=delivery,
                                        queue_depth=queue_depth, sink=sink, pump=pump))
    server = MetricsServer(registry)
    host, port = listen
    try:
        server.start(host, port)
    except OSError as exc:  # port taken (the previous process still stopping?): worth a retry
        raise StartupError(f"METRICS_ADDR: cannot listen on {host}:{port} ({exc.strerror or exc}); "
                           "exit 1 so the service manager retries", 1) from None
    return Metrics(server, pump)


DB_LOCK_WAIT_S = 30.0  # start-up waits this long for another process's write lock, then exit 1


async def open_database(path: str, *, wait_s: float = DB_LOCK_WAIT_S, retry_s: float = 1.0,
                        attempt_ms: int = 1000,
                        clock: Callable[[], float] = time.monotonic,
                        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> Database:
    """``Database.open`` that waits up to ``wait_s`` for a lock held by another process (a
    second instance, a backup tool, an operator's sqlite3 shell). Still locked after that:
    ``StartupError`` with exit code 1 — a lock is temporary, so the service manager should try
    again (exit 2 is for settings that restarting cannot fix)."""
    deadline = clock() + wait_s
    warned = False
    while True:
        left_ms = max(0, int((deadline - clock()) * 1000))
        try:
            # each attempt waits at most attempt_ms inside SQLite, then we sleep retry_s
            return await Database.open(path, busy_timeout_ms=min(attempt_ms, left_ms))
        except DatabaseLocked as exc:
            if clock() >= deadline:
                raise StartupError(f"DATABASE_PATH: {exc} for {wait_s:g} s (is another teleglas "
                                   "running?); exit 1 so the service manager retries", 1) from None
            if not warned:
                warned = True
                log.warning("%s; waiting up to %g s for it", exc, wait_s)
            await sleep(min(retry_s, max(0.0, deadline - clock())))


async def run_app(settings: Settings, *, polling_timeout: int = 30, handle_signals: bool = True,
                  stop: asyncio.Event | None = None, db_lock_wait_s: float | None = None) -> int:
    """The long-running service (``teleglas run``) until SIGINT/SIGTERM (or ``stop`` is set).
    Returns an exit code: 0 stopped on request, 1 a supervised task died (restart me)."""
    from bot.delivery import Delivery, DeliveryConfig
    from bot.outcomes import OutcomeRecorder, load_calibration
    from engine.core import Engine, run_feeds
    from engine.signals import SignalEngine

    tr = translator()
    if settings.TELEGRAM_BOT_TOKEN is None:  # the CLI checks it first (config.settings); a caller may not
        raise StartupError("TELEGRAM_BOT_TOKEN: required for `teleglas run` (get one from @BotFather)", 2)
    bot = Bot(settings.TELEGRAM_BOT_TOKEN.get_secret_value(), session=_bot_session(settings),
              default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True))
    try:  # the token first: a wrong one must not leave a new, migrated database behind
        await check_telegram(bot, settings)
        db = await open_database(settings.DATABASE_PATH,
                                 wait_s=DB_LOCK_WAIT_S if db_lock_wait_s is None else db_lock_wait_s)
    except BaseException:
        await bot.session.close()
        raise
    supervisor = Supervisor()
    metrics = None
    delivery = None
    outcomes = None
    dp = None
    scheduler = None
    try:
        watchlist = WatchlistRepo(db)
        registry, catalog = await _registry_and_catalog(settings, await watchlist.all_symbols())
        # signals -> per-user routing -> SQLite outbox -> paced sender (bot/delivery)
        delivery = Delivery(bot, db, tr, config=DeliveryConfig(  # retry budgets: README's Settings
            retry_budget_urgent_s=settings.DELIVERY_RETRY_URGENT_S,
            retry_budget_watch_s=settings.DELIVERY_RETRY_WATCH_S,
            retry_budget_info_s=settings.DELIVERY_RETRY_INFO_S,
            retry_budget_broadcast_s=settings.DELIVERY_RETRY_BROADCAST_S,
            retry_budget_outcome_s=settings.DELIVERY_RETRY_OUTCOME_S,
            retry_budget_ops_s=settings.DELIVERY_RETRY_OPS_S))
        signal_counts = CountingSink(delivery.sink)  # signals by kind and tier, for the metrics
        # every signal's outcome followed on later trades and stored (bot/outcomes.py)
        outcomes = OutcomeRecorder(db, calibration=load_calibration(settings.CALIBRATION_PATH),
                                   max_reply_age_s=delivery.config.retry_budget_outcome_s)
        await outcomes.resume()
        engine = Engine(SignalEngine(outcomes.sink(signal_counts)))
        engine.track_outcomes(outcomes.tracker)
        outcomes.replies = delivery.accept_outcome  # final stop hunts: a reply in the alert's thread
        await outcomes.resume_replies()  # ... also those a crash left unqueued
        outcomes.start()
        subscriptions = Subscriptions(watchlist=watchlist, thresholds=ThresholdRepo(db), users=UserRepo(db),
                                      tr=tr, engine=engine, registry=registry, notifier=delivery)
        await subscriptions.seed_floors()  # the floors stored thresholds need, as live changes set them
        # a 403 (blocked the bot) makes a user inactive: their low thresholds stop holding floors down
        delivery.sender.on_user_deactivated = subscriptions.resync
        feeds = _build_feeds(settings, registry, catalog)
        # the feeds -> engine queue is ours, so /health can show its depth
        events: asyncio.Queue = asyncio.Queue(maxsize=EVENT_QUEUE_SIZE)
        progress = EngineProgress(engine, events.qsize)
        # admins hear of feeds down, a stalled engine, failing delivery or storage; /health too
        ops = OpsMonitor(feeds=feeds, progress=progress, delivery=delivery, db=db, tr=tr,
                         admin_ids=settings.ADMIN_IDS)
        # one chart worker for /flow and the stop-hunt alerts' chart replies (bot/charts.py)
        charts = ChartRenderer()
        delivery.enable_charts(engine, charts.render)
        dp = build_dispatcher(settings=settings, db=db, engine=engine, tr=tr, registry=registry,
                              catalog=catalog, feeds=feeds, delivery=delivery, subscriptions=subscriptions,
                              queue_depth=events.qsize, ops=ops, charts=charts)
        await set_commands(bot, tr, settings.ADMIN_IDS)
        if feeds:
            # replay files and feeds stopped for good (rejected key) may end: not a failure;
            # an exception out of the engine or a feed is
            supervisor.spawn(run_feeds(engine, feeds, queue=events, fail_fast=True), "engine", forever=False)
        supervisor.spawn(subscriptions.run_confirmations(lambda s: engine_has_data(engine, s)),
                         "confirmations")
        if delivery is not None:
            await delivery.start()
            for task in delivery.tasks():
                supervisor.watch(task)
        listen = settings.metrics_listen
        if listen is not None:
            metrics = start_metrics(listen, feeds=feeds, engine=engine, delivery=delivery,
                                    queue_depth=events.qsize, sink=signal_counts, outbox=OutboxRepo(db))
            supervisor.spawn(metrics.pump.run(), "metrics")
        supervisor.spawn(ops.run(), "ops")
        period = watchdog_period_s()
        if period:
            supervisor.spawn(watchdog_loop(lambda: progress.advancing() and not supervisor.failed, period),
                             "watchdog")

        async def ready() -> None:  # polling is about to start: bot, engine and delivery run
            notify(f"READY=1\nSTATUS=running: {len(feeds)} feeds, "
                   f"{len(registry.symbols) if registry is not None else 0} symbols")

        dp.startup.register(ready)
        scheduler = _housekeeping(catalog, OutboxRepo(db))
        scheduler.add_listener(supervisor.on_job_error, EVENT_JOB_ERROR)
        scheduler.start()

        async def stop_when_asked() -> None:
            waiters = [asyncio.ensure_future(supervisor.failure.wait())]
            if stop is not None:
                waiters.append(asyncio.ensure_future(stop.wait()))
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waiters:
                    w.cancel()
            while True:  # polling may not have started yet when a task dies early
                try:
                    await dp.stop_polling()
                    return
                except RuntimeError:
                    await asyncio.sleep(0.05)

        supervisor.spawn(stop_when_asked(), "stopper", forever=False)
        log.info("TELEGLAS running: %d feeds, %d symbols watched, access=%s", len(feeds),
                 len(registry.symbols) if registry is not None else 0, settings.ACCESS)
        await dp.start_polling(bot, polling_timeout=polling_timeout, handle_signals=handle_signals,
                               close_bot_session=False, tasks_concurrency_limit=64)
        if supervisor.failed:
            log.error("TELEGLAS stopping after a task failure (%s): exit 1",
                      "; ".join(f"{f.task}: {f.error}" for f in supervisor.failures))
            return 1
        return 0
    finally:
        notify("STOPPING=1")
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        await supervisor.stop()
        if metrics is not None:  # its HTTP thread's shutdown blocks for up to half a second
            await asyncio.to_thread(metrics.server.close)
        if dp is not None:
            try:  # updates still being handled finish before the database closes under them
                await asyncio.wait_for(dp["inflight"].idle(), 10)
            except TimeoutError:
                pass
            await dp["background"].close()
        if outcomes is not None:
            await outcomes.stop()
        if delivery is not None:
            await delivery.stop()
        await bot.session.close()
        await db.close()
        log.info("TELEGLAS stopped: feeds, delivery and database closed")


OUTBOX_KEEP_DAYS = 7
# a sent alert row stays (text blanked) as the receipt /stats reads for "alerts that reached me"
RECEIPT_KEEP_DAYS = 31


def _housekeeping(catalog: Catalog | None, outbox: OutboxRepo) -> AsyncIOScheduler:
    """Periodic upkeep: instrument lists retried/refreshed (a failed load at boot must not wait
    for a feed to reconnect), and sent/failed outbox rows older than a week deleted."""
    scheduler = AsyncIOScheduler(timezone="UTC")

    async def purge_outbox() -> None:
        now = time.time_ns()
        removed = await outbox.purge_finished(now - OUTBOX_KEEP_DAYS * 86_400 * 10**9,
                                              receipts_before_ns=now - RECEIPT_KEEP_DAYS * 86_400 * 10**9)
        if removed:
            log.info("outbox: %d finished rows older than %d days removed", removed, OUTBOX_KEEP_DAYS)

    if catalog is not None:
        scheduler.add_job(catalog.refresh_if_due, "interval", minutes=5, id="instruments",
                          max_instances=1, coalesce=True)
    scheduler.add_job(purge_outbox, "interval", hours=24, id="outbox-purge", max_instances=1,
                      coalesce=True, next_run_time=datetime.now(UTC))
    return scheduler


async def _registry_and_catalog(settings: Settings, symbols: set[str]) -> tuple[SubscriptionRegistry, Catalog]:
    """The feeds' SubscriptionRegistry (seeded with every watched symbol) and InstrumentCatalog."""
    from engine.feeds.instruments import VENUES, InstrumentCatalog
    from engine.feeds.registry import SubscriptionRegistry

    registry = SubscriptionRegistry(symbols)
    # instrument lists of the venues we stream from (CoinGlass spans them all); a simulator or
    # replay run asks no exchange anything, and /add then accepts well-formed symbols
    sources = set(settings.MARKET_SOURCES)
    venues = tuple(v for v in VENUES if v in sources or "coinglass" in sources)
    catalog = InstrumentCatalog.from_settings(settings, venues=venues)
    if not venues:
        return registry, catalog
    try:
        await asyncio.wait_for(catalog.load(), timeout=30)
    except (TimeoutError, OSError) as e:  # degraded mode: /add accepts well-formed symbols
        log.warning("instrument lists not loaded (%s): /add accepts well-formed symbols", e)
    return registry, catalog


def _build_feeds(settings: Settings, registry: SubscriptionRegistry, catalog: Catalog) -> list[Feed]:
    """One feed per MARKET_SOURCES entry: live venues, the simulator, replay files."""
    from engine.feeds.live import build_live_feeds

    return build_live_feeds(settings, registry, catalog)

