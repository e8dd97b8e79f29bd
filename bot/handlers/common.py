"""What every handler shares: the translate helper, the collaborator protocols, small helpers.

Collaborators are typed as Protocols so the bot can be tested with small fakes and the live
objects (feeds registry, instrument catalog, engine, delivery) are injected by ``bot.app``.
"""
from __future__ import annotations

import asyncio
import logging
import math
import zoneinfo
from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo, UTC
from typing import Any, Protocol

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.render import escape, html_to_text, utc_offset_text
from locales import Translator
from storage import ALL_SYMBOLS, ThresholdRepo, User, WatchlistRepo

log = logging.getLogger(__name__)

MAX_ARG_TEXT = 512  # longest command text we parse; longer is refused up front
MAX_SYMBOLS_PER_COMMAND = 10
MAX_WATCHLIST = 30


class Html(str):
    """Text that is already Telegram HTML (built from escaped parts): not escaped again."""


def clip(value: object, limit: int = 24) -> str:
    """User input echoed back is cut short (it is escaped by ``Texts`` like every argument)."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def esc(value: object, limit: int = 64) -> str:
    """HTML-escape a value for a message (``bot.render.escape``), cut to ``limit`` characters."""
    return escape(clip(value, limit))


def toast(callback_answer, text: str, *, alert: bool = False) -> None:
    """Answer the pressed button with ``text`` (CallbackAnswerMiddleware sends it once).
    Toasts are plain text: pass ``t.plain(...)``, never ``t(...)``."""
    callback_answer.text = text
    if alert:
        callback_answer.show_alert = True


def _arg(value: object) -> object:
    """A template argument: Html as is; a whole number as a number (nothing to escape), so
    plural selectors ({ $n -> [one] … *[other] … }) can pick a branch — Fluent then writes it
    the language's way (1,234 / Indonesian 1.234), so pass numbers only where a selector needs
    them and where they stay small; everything else HTML-escaped."""
    if isinstance(value, Html):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return esc(value, 4096)


class Texts:
    """``t(key, **args)`` in one language. Every argument is HTML-escaped unless it is ``Html``
    or an int (passed as a number, for plural selectors)."""

    __slots__ = ("tr", "lang")

    def __init__(self, tr: Translator, lang: str) -> None:
        self.tr = tr
        self.lang = lang

    def __call__(self, key: str, **args: object) -> Html:
        """Safe Telegram HTML: the template is ours and every plain-str argument is escaped, so
        the result can be nested into another ``t(...)`` call as is."""
        safe = {k: _arg(v) for k, v in args.items()}
        return Html(self.tr.get(self.lang, key, **safe))

    def plain(self, key: str, **args: object) -> str:
        """The same text for where Telegram shows PLAIN text — callback-query toasts
        (answerCallbackQuery) and inline button labels: no tags, no entities, so a '&' in a
        value or a template's '&amp;' reads '&', not '&amp;'."""
        return html_to_text(self(key, **args))


# ---------------------------------------------------------------------------- collaborators


class SymbolRegistry(Protocol):
    """engine.feeds.registry.SubscriptionRegistry: the live set of symbols the feeds stream."""

    @property
    def symbols(self) -> Any: ...

    def add(self, symbol: str) -> Any: ...

    def remove(self, symbol: str) -> Any: ...

    def replace(self, symbols: Iterable[str]) -> Any: ...


class InstrumentCatalog(Protocol):
    """engine.feeds.instruments.InstrumentCatalog: the venues' instrument lists (REST, cached)."""

    available: bool

    def known(self, base: str) -> bool: ...

    def suggest(self, text: str) -> str | None: ...


class FlowEngine(Protocol):
    """engine.core.Engine as the bot sees it: thresholds floor and live flow snapshots."""

    thresholds: Any  # engine.thresholds.ThresholdBook

    def flow(self, symbol: str, window: str = "5m") -> Any: ...


class DeliveryService(Protocol):
    """bot.delivery.Delivery as the handlers use it."""

    def health(self) -> Mapping[str, Any]: ...

    async def broadcast(self, broadcast_id: str, text: str) -> Any: ...

    async def broadcast_progress(self, ticket: Any) -> Any: ...


class Background:
    """Tasks handlers start (broadcasts): referenced until done, cancelled on shutdown."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()

    def spawn(self, coro, name: str) -> asyncio.Task:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def __len__(self) -> int:
        return len(self._tasks)

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


# ---------------------------------------------------------------------------- engine side effects


def lower_floor(engine: Any, symbol: str, key: str, value: float) -> None:
    """Let the detectors run at the lowest threshold any subscriber of ``symbol`` needs."""
    from bot.handlers.parsing import SPECS

    if engine is None or not math.isfinite(value):
        return
    # Engine.set_floor, not the ThresholdBook: the engine keeps a per-symbol copy for its hot
    # path and must refresh it (and the flow state's large-order size) for the change to apply.
    try:
        engine.set_floor(symbol, **{SPECS[key].field: value})
    except ValueError:
        # e.g. a minimum score of 0 ("show me everything"): valid for routing, but no detector
        # floor to lower, and a stored value must never stop start-up or a handler
        log.debug("floor for %s %s=%r left unchanged", symbol, key, value)


def user_floors(overrides: Mapping[tuple[str, str], float],
                symbols: Iterable[str]) -> list[tuple[str, str, float]]:
    """(symbol, key, value) the detectors must reach for one user: for each symbol the user
    WATCHES, the per-symbol value, else the user's global ('*') value — the same precedence
    routing uses, so a floor is never lower than some subscriber's effective threshold needs.
    Keys without an override are left out (the default floor stands)."""
    from bot.handlers.parsing import SPECS

    out = []
    for symbol in symbols:
        for key in SPECS:
            value = overrides.get((symbol, key), overrides.get((ALL_SYMBOLS, key)))
            if value is not None:
                out.append((symbol, key, value))
    return out


async def apply_user_floors(engine: Any, threshold_repo: ThresholdRepo, watchlist: WatchlistRepo,
                            user_id: int, symbols: Iterable[str] | None = None, *,
                            overrides: Mapping[tuple[str, str], float] | None = None) -> None:
    """Lower the detector floors to what one user's thresholds need, on the symbols they watch
    (all of them, or those of ``symbols`` they watch). The ONE place floors come from user
    thresholds: start-up (``bot.app.seed_floors``), /add and /thresholds all call it."""
    if overrides is None:
        overrides = await threshold_repo.get_all(user_id)
    if not overrides:
        return
    watched = [w.symbol for w in await watchlist.list_for_user(user_id)]
    if symbols is not None:
        wanted = set(symbols)
        watched = [s for s in watched if s in wanted]
    for symbol, key, value in user_floors(overrides, watched):
        lower_floor(engine, symbol, key, value)


# Every change to the feeds' symbol set goes through the helpers below, under ONE asyncio.Lock
# that the Dispatcher injects as ``registry_lock`` (handlers and the access middleware share
# it). Inside the lock the decision is taken from the database, never from the registry's own
# view: otherwise a /remove that saw "nobody else watches X" could drop X from streaming while
# a concurrent /add of X skipped registry.add because X was still there.


async def _watched(watchlist: WatchlistRepo, symbol: str) -> bool:
    """Does any active user watch ``symbol``? (one indexed row, not every symbol)"""
    return bool(await watchlist.users_for_symbol_page(symbol, 0, 1))


async def watch_symbol(registry: SymbolRegistry | None, registry_lock: asyncio.Lock,
                       watchlist: WatchlistRepo, user_id: int, symbol: str) -> bool:
    """Put ``symbol`` on the user's list and make the feeds stream it. False when it was on
    the list already; raises ValueError (the registry's RegistryFull) when the feeds are full,
    and then nothing is stored."""
    async with registry_lock:
        if registry is None or symbol in registry.symbols:
            return await watchlist.add(user_id, symbol)
        registry.add(symbol)  # the feeds start streaming it now
        try:
            return await watchlist.add(user_id, symbol)
        except BaseException:
            if not await _watched(watchlist, symbol):  # stored nothing: stream nothing
                registry.remove(symbol)
            raise


async def unwatch_symbol(registry: SymbolRegistry | None, registry_lock: asyncio.Lock,
                         watchlist: WatchlistRepo, user_id: int, symbol: str) -> bool:
    """Take ``symbol`` off the user's list; stop streaming it when no active user watches it."""
    async with registry_lock:
        removed = await watchlist.remove(user_id, symbol)
        if removed and registry is not None and not await _watched(watchlist, symbol):
            registry.remove(symbol)
        return removed


async def sync_registry(registry: SymbolRegistry | None, watchlist: WatchlistRepo,
                        registry_lock: asyncio.Lock) -> None:
    """Make the feeds' symbol set equal to what active users watch (after /deny, a user
    becoming active again...)."""
    if registry is not None:
        async with registry_lock:
            registry.replace(await watchlist.all_symbols())


# ---------------------------------------------------------------------------- replying


async def edit_or_send(callback: CallbackQuery, text: str,
                       markup: InlineKeyboardMarkup | None = None) -> None:
    """Edit the pressed message in place; when it cannot be edited, send a new one."""
    msg = callback.message
    if isinstance(msg, Message):
        try:
            await msg.edit_text(text, reply_markup=markup)
            return
        except TelegramBadRequest as e:
            if "not modified" in str(e):
                return
            log.info("cannot edit message %s: %s", msg.message_id, e)
    if callback.from_user is not None and callback.bot is not None:
        await send_here(callback, reply_chat(callback), text, reply_markup=markup)


def reply_thread(callback: CallbackQuery) -> int | None:
    """The forum topic of the pressed message (an answer stays in that topic), else None."""
    msg = callback.message
    if isinstance(msg, Message) and msg.is_topic_message:
        return msg.message_thread_id
    return None


async def send_here(callback: CallbackQuery, chat_id: int, text: str, **kwargs: Any) -> Any:
    """A new message answering a button: to ``chat_id`` (the subscriber's chat), in the topic of
    the pressed message when it is in a forum topic."""
    return await callback.bot.send_message(chat_id, text, message_thread_id=reply_thread(callback),
                                           **kwargs)


def reply_chat(callback: CallbackQuery) -> int:
    """Where an answer to a button goes: the chat of the pressed message (a group's buttons are
    answered in the group), else the user's private chat."""
    msg = callback.message
    return msg.chat.id if msg is not None else callback.from_user.id


def command_args(message: Message) -> list[str]:
    """Arguments after the command word (already length-checked by the access middleware)."""
    text = message.text or ""
    parts = text.split(maxsplit=1)
    return parts[1].replace(",", " ").split() if len(parts) > 1 else []


def user_tz(account: User | None):
    try:
        return zoneinfo.ZoneInfo(account.tz if account else "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


# ---------------------------------------------------------------------------- time zones as users read them
# /tz +7 stores the IANA zone "Etc/GMT-7", whose POSIX sign is the opposite of what it means
# (UTC+7), and tzdata names such zones "+07". Users only ever see "UTC+7" for them.


def tz_label(name: str, when: datetime | None = None) -> str:
    """A stored zone name as the user reads it: 'Etc/GMT-7' -> 'UTC+7', 'UTC' -> 'UTC',
    'Asia/Jakarta' -> 'Asia/Jakarta, UTC+7' (the offset ``when``, default now)."""
    try:
        zone = zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return name
    moment = (when or datetime.now(UTC)).astimezone(zone)
    offset = utc_offset_text(moment.utcoffset())
    if name in ("UTC", "GMT", "Zulu", "UCT", "Universal") or name.startswith("Etc/"):
        return offset
    return f"{name}, {offset}"


def zone_abbrev(moment: datetime) -> str:
    """The zone of an aware datetime in a time stamp: 'WIB', 'CET'... where tzdata has a name,
    'UTC+7' where it only has a number ('+07') — never the inverted 'Etc/GMT-7'."""
    name = moment.tzname() or ""
    if not name or name[0] in "+-" or name in ("UTC", "GMT"):
        return utc_offset_text(moment.utcoffset())
    return name


def local_time(epoch_s: float, tz: tzinfo, fmt: str = "%d %b %H:%M") -> str:
    """An epoch time in the user's zone with the zone after it: '21 Nov 15:17 UTC+7'."""
    moment = datetime.fromtimestamp(epoch_s, tz)
    return f"{moment.strftime(fmt)} {zone_abbrev(moment)}"
