"""Shared bot-test fixtures: a real aiogram Bot polling the local Bot API double, a temp SQLite
file, and small fakes for the collaborators that live on other branches (feeds registry,
instrument catalog, engine flow). Kept small on purpose."""
from __future__ import annotations

import asyncio
import ipaddress
import socket
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode

from config.settings import Settings
from engine.core import Engine
from engine.flow import FlowSnapshot
from engine.signals import ListSink, SignalEngine
from storage import Database
from tests.botapi import TOKEN, BotAPIDouble, Call


# ---- no network in tests, ever: only loopback may be resolved or connected to ---------------
_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _loopback(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if host in (None, "", "localhost"):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _guarded_getaddrinfo(host, *args, **kwargs):
    if not _loopback(host):
        raise OSError(f"no network in tests: tried to resolve {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


def _check_address(address: object) -> None:
    if isinstance(address, tuple) and address and not _loopback(address[0]):
        raise OSError(f"no network in tests: tried to connect to {address!r}")


def _guarded_connect(self, address):
    _check_address(address)
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    _check_address(address)
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True, scope="session")
def _no_network():
    socket.getaddrinfo = _guarded_getaddrinfo
    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = _guarded_connect_ex
    try:
        yield
    finally:
        socket.getaddrinfo = _real_getaddrinfo
        socket.socket.connect = _real_connect
        socket.socket.connect_ex = _real_connect_ex

ADMIN = 1000
REPLY_METHODS = ("sendMessage", "editMessageText", "answerCallbackQuery", "sendPhoto", "editMessageMedia",
                 "editMessageCaption")


class FakeRegistry:
    """engine.feeds.registry.SubscriptionRegistry as the bot uses it."""

    def __init__(self, symbols=()) -> None:
        self.symbols: frozenset[str] = frozenset(symbols)
        self.log: list[tuple[str, object]] = []

    def add(self, symbol: str) -> bool:
        self.log.append(("add", symbol))
        changed = symbol not in self.symbols
        self.symbols = self.symbols | {symbol}
        return changed

    def remove(self, symbol: str) -> bool:
        self.log.append(("remove", symbol))
        changed = symbol in self.symbols
        self.symbols = self.symbols - {symbol}
        return changed

    def replace(self, symbols) -> bool:
        new = frozenset(symbols)
        self.log.append(("replace", new))
        changed, self.symbols = new != self.symbols, new
        return changed


class FakeCatalog:
    """engine.feeds.instruments.InstrumentCatalog: ``available`` False = lists could not load."""

    def __init__(self, bases=("BTC", "ETH", "SOL", "PEPE", "DOGE"), available: bool = True) -> None:
        self.bases = set(bases)
        self.available = available
        self.venues = ("binance", "bybit")

    def known(self, text: str) -> bool:
        return text.upper() in self.bases

    def suggest(self, text: str, n: int = 3) -> list[str]:
        import difflib

        return difflib.get_close_matches(text.upper(), sorted(self.bases), n=n, cutoff=0.5)


class FakeEngine(Engine):
    """A real Engine (thresholds, floors, stats) whose ``flow`` answers fixed snapshots that scale
    with the window, so the bot's /flow edits are visible and assertable."""

    def __init__(self) -> None:
        super().__init__(SignalEngine(ListSink()))
        self.symbols_with_data = {"BTC", "ETH"}
        self.calls: list = []
        self.chart_version = 1

    def flow(self, symbol: str, window: str = "5m") -> Any:
        self.calls.append((symbol, window))
        if symbol not in self.symbols_with_data:
            return None
        k = {"1m": 1, "5m": 5, "15m": 15, "1h": 60}[window]
        buy, sell = 1_000_000.0 * k, 600_000.0 * k
        return FlowSnapshot(
            symbol=symbol, window=window, buy_usd=buy, sell_usd=sell, buy_share=buy / (buy + sell),
            net_delta=buy - sell, cvd=12_345_678.0, large_buys=7 * k, large_sells=3 * k,
            large_threshold_usd=25_000.0, vwap=61_000.5, last_price=61_234.5, trades=1_000 * k,
            liq_long_usd=250_000.0, liq_short_usd=50_000.0,
            funding_8h={"binance": 0.0001, "bybit": 0.00012}, venues=("binance", "bybit"),
            ts=1_750_000_000_000,
        )

    def flow_chart(self, symbol: str, window: str = "5m") -> Any:
        """A fixed synthetic series (bot.charts) for symbols with data; its version moves with
        ``chart_version`` so tests can make a refresh render anew."""
        from dataclasses import replace as _replace

        from bot.charts import synthetic_series
        if symbol not in self.symbols_with_data:
            return None
        series = synthetic_series(symbol, window, n=20)
        return _replace(series, version=self.chart_version)


def make_settings(api_base: str, db_path: Path, *, access: str = "public",
                  admins: tuple[int, ...] = (ADMIN,), **extra: Any) -> Settings:
    return Settings(_env_file=None, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE=api_base,
                    ADMIN_IDS=admins, ACCESS=access, DATABASE_PATH=str(db_path), **extra)


class BotHarness:
    """The bot (build_dispatcher) polling the double, on a SQLite file; ``say``/``press`` return
    the replies the update produced (updates are handled one at a time, so the next getUpdates
    call with a higher offset means the previous update is fully handled)."""

    def __init__(self, api: BotAPIDouble, db_path: Path, *, access: str = "public",
                 admins: tuple[int, ...] = (ADMIN,), engine: Any = None, registry: Any = None,
                 catalog: Any = None, throttle_burst: int = 1000, throttle_rate: float = 1000.0,
                 with_delivery: bool = False, concurrent: bool = False, **deps: Any) -> None:
        self.api = api
        self.db_path = db_path
        self.settings = make_settings(api.base, db_path, access=access, admins=admins)
        self.engine = engine if engine is not None else FakeEngine()
        self.registry = registry if registry is not None else FakeRegistry()
        self.catalog = catalog if catalog is not None else FakeCatalog()
        self.throttle = (throttle_rate, throttle_burst)
        self.concurrent = concurrent  # updates handled as concurrent tasks, as in production
        self.with_delivery = with_delivery  # a real (started) bot.delivery.Delivery, fast pacing
        self.delivery = None
        self.deps = deps

    async def start(self) -> BotHarness:
        from bot.app import build_dispatcher

        self.db = await Database.open(self.db_path)
        self.bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(self.api.base)),
                       default=DefaultBotProperties(parse_mode=ParseMode.HTML))
        deps = dict(self.deps)
        if self.with_delivery:
            from bot.delivery import Delivery
            from tests.test_delivery_support import fast_config

            self.delivery = Delivery(self.bot, self.db, config=fast_config())
            await self.delivery.start()
            deps["delivery"] = self.delivery
        self.dp = build_dispatcher(settings=self.settings, db=self.db, engine=self.engine,
                                   registry=self.registry, catalog=self.catalog,
                                   throttle_rate=self.throttle[0], throttle_burst=self.throttle[1],
                                   **deps)
        self.charts = self.dp["charts"]
        before = len(self.api.calls_of("getUpdates"))
        self.task = asyncio.create_task(self.dp.start_polling(
            self.bot, polling_timeout=1, handle_signals=False, handle_as_tasks=self.concurrent,
            close_bot_session=True))
        assert await self.api.wait_for(lambda: len(self.api.calls_of("getUpdates")) > before)
        return self

    async def stop(self) -> None:
        if self.delivery is not None:  # before polling ends: that closes the bot's session
            await self.dp["background"].close()
            await self.delivery.stop()
        try:
            await self.dp.stop_polling()
        except RuntimeError:  # polling already ended
            pass
        await asyncio.wait_for(self.task, 5)
        await self.dp["background"].close()
        await self.db.close()

    async def _handled(self, update_id: int, timeout: float = 5.0) -> None:  # noqa: ASYNC109 — a polling helper's deadline, not an I/O call's timeout
        def done() -> bool:
            return any(int(c.params.get("offset", 0) or 0) > update_id
                       for c in self.api.calls_of("getUpdates"))
        assert await self.api.wait_for(done, timeout), f"update {update_id} was not handled"

    def _replies(self, start: int, chat_id: int) -> list[Call]:
        return [c for c in self.api.calls[start:] if c.method in REPLY_METHODS and
                (c.method == "answerCallbackQuery" or int(c.params.get("chat_id", 0)) == chat_id)]

    async def say(self, user_id: int, text: str, *, lang: str | None = "en") -> list[Call]:
        start = len(self.api.calls)
        await self._handled(self.api.send_text(user_id, text, language_code=lang))
        return self._replies(start, user_id)

    async def press(self, user_id: int, data: str, *, message: dict | None = None,
                    lang: str | None = "en") -> list[Call]:
        start = len(self.api.calls)
        await self._handled(self.api.press(user_id, data, message=message, language_code=lang))
        return self._replies(start, user_id)

    async def text(self, user_id: int, text: str, **kw: Any) -> str:
        """The text of the (single) message a command produced."""
        replies = [c for c in await self.say(user_id, text, **kw) if c.method in ("sendMessage", "sendPhoto")]
        assert len(replies) == 1, [c.params.get("text") for c in replies]
        params = replies[0].params
        return params["text"] if replies[0].method == "sendMessage" else params["caption"]  # a chart's caption


def texts(calls: list[Call]) -> list[str]:
    return [c.params.get("text", "") for c in calls if c.method in ("sendMessage", "editMessageText")]


def answers(calls: list[Call]) -> list[tuple[str, bool]]:
    """(text, shown as alert) of every answerCallbackQuery among ``calls``."""
    return [(c.params.get("text", ""), str(c.params.get("show_alert", "")).lower() == "true")
            for c in calls if c.method == "answerCallbackQuery"]


def buttons(call: Call) -> list[tuple[str, str]]:
    """(label, callback_data) of every inline button of a sent/edited message."""
    markup = call.params.get("reply_markup") or {}
    return [(b["text"], b.get("callback_data", "")) for row in markup.get("inline_keyboard", []) for b in row]


@pytest.fixture
async def api():
    async with BotAPIDouble(max_seconds=60, poll_cap_s=0.05) as double:
        yield double


@pytest.fixture
async def harness(api, tmp_path):
    h = await BotHarness(api, tmp_path / "bot.db").start()
    try:
        yield h
    finally:
        await h.stop()
