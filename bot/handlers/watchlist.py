"""/add, /remove, /list and the remove buttons; pending confirmation of unverified symbols."""
from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot.callbacks import MenuCB, WatchCB
from bot.handlers.common import (
    MAX_SYMBOLS_PER_COMMAND,
    MAX_WATCHLIST,
    Html,
    Texts,
    apply_user_floors,
    clip,
    edit_or_send,
    local_time,
    send_here,
    toast,
    unwatch_symbol,
    user_tz,
    watch_symbol,
)
from bot.handlers.parsing import KEYS
from bot.keyboards.menus import confirm_remove, watchlist_keyboard
from engine.symbols import SymbolError, normalize_symbol
from locales import Translator
from storage import ALL_SYMBOLS, ThresholdRepo, User, WatchlistRepo

log = logging.getLogger(__name__)


def canonical(text: str) -> str | None:
    """A canonical symbol from a callback (must already be canonical), else None."""
    try:
        symbol = normalize_symbol(text)
    except SymbolError:
        return None
    return symbol if symbol == text else None


Unwatch = Callable[[int, str], Awaitable[bool]]


class PendingConfirmations:
    """Symbols accepted without an instrument list: tell the user once data arrives — or, when
    no venue sent any within ``timeout_s``, take the symbol off their watchlist (and off the
    feeds when nobody else watches it) and tell them to check the spelling. Without that a typo
    would sit on the list, and be subscribed on every venue, forever.

    Bounded; checked by ``run`` every ``interval_s``. ``has_data(symbol)`` asks the engine.
    ``unwatch(user_id, symbol)`` removes it (``common.unwatch_symbol`` under the registry lock;
    bound when the dispatcher starts, see ``bind_pending``); unbound, the user is only told.
    """

    def __init__(self, *, timeout_s: float = 600.0, max_items: int = 1000,
                 unwatch: Unwatch | None = None) -> None:
        self.timeout_s = timeout_s
        self.max_items = max_items
        self.unwatch = unwatch
        self._items: OrderedDict[tuple[int, str], tuple[float, str]] = OrderedDict()

    @property
    def minutes(self) -> int:
        """The wait as users read it ("in 10 min")."""
        return max(1, round(self.timeout_s / 60))

    def add(self, user_id: int, symbol: str, lang: str) -> None:
        self._items[(user_id, symbol)] = (time.monotonic(), lang)
        while len(self._items) > self.max_items:
            self._items.popitem(last=False)

    def discard(self, user_id: int, symbol: str) -> None:
        self._items.pop((user_id, symbol), None)

    def __len__(self) -> int:
        return len(self._items)

    async def check(self, send, has_data, tr: Translator) -> None:
        now = time.monotonic()
        for (user_id, symbol), (since, lang) in list(self._items.items()):
            t = Texts(tr, lang)
            if has_data(symbol):
                text = t("add-confirmed", symbol=symbol)
            elif now - since >= self.timeout_s:
                text = await self._give_up(t, user_id, symbol)
            else:
                continue
            self._items.pop((user_id, symbol), None)
            if text is None:
                continue
            try:
                await send(user_id, text)
            except Exception as e:  # a blocked user must not stop the others
                log.info("confirmation to %s failed: %s", user_id, e)

    async def _give_up(self, t: Texts, user_id: int, symbol: str) -> str | None:
        """No data in time: remove the symbol; the text to send (None: nothing to say)."""
        if self.unwatch is None:
            return t("add-no-data", symbol=symbol, minutes=str(self.minutes))
        try:
            removed = await self.unwatch(user_id, symbol)
        except Exception as e:  # the database is busy or gone: say so, keep the rest going
            log.warning("could not remove unconfirmed %s for %s: %s", symbol, user_id, e)
            return t("add-no-data", symbol=symbol, minutes=str(self.minutes))
        if not removed:  # the user removed it meanwhile (then it was discarded) or re-added
            return None
        return t("add-no-data-removed", symbol=symbol, minutes=str(self.minutes))

    async def run(self, send, has_data, tr: Translator, interval_s: float = 5.0) -> None:
        while True:
            await asyncio.sleep(interval_s)
            await self.check(send, has_data, tr)


def suggestion_for(catalog: Any, text: str) -> str | None:
    """The catalog's closest listed coin(s) to ``text``, as one short string (or None)."""
    if catalog is None:
        return None
    try:
        found = catalog.suggest(text)
    except Exception:  # a suggestion is a nicety; never fail /add over it
        log.debug("suggest failed for %r", text, exc_info=True)
        return None
    if not found:
        return None
    if isinstance(found, str):
        return found
    return ", ".join(list(found)[:3])


def engine_has_data(engine: Any, symbol: str) -> bool:
    states = getattr(engine, "states", None)
    if isinstance(states, dict):
        st = states.get(symbol)
        if st is not None and getattr(st, "trades", 0):
            return True
    flow = getattr(engine, "flow", None)
    if flow is not None:
        snap = flow(symbol, "1h")
        return snap is not None and getattr(snap, "trades", 0) > 0
    return False


async def cmd_add(message: Message, command: CommandObject, account: User, t: Texts, lang: str,
                  watchlist: WatchlistRepo, threshold_repo: ThresholdRepo, engine: Any,
                  registry_lock: asyncio.Lock, registry: Any = None, catalog: Any = None,
                  pending: PendingConfirmations | None = None) -> None:
    args = (command.args or "").replace(",", " ").split()
    if not args:
        await message.answer(t("add-usage"))
        return
    if len(args) > MAX_SYMBOLS_PER_COMMAND:
        await message.answer(t("add-too-many", limit=str(MAX_SYMBOLS_PER_COMMAND)))
        return
    have = await watchlist.count_for_user(account.id)
    verified = catalog is not None and getattr(catalog, "available", False)
    lines: list[str] = []
    seen: set[str] = set()
    for raw in args:
        try:
            symbol = normalize_symbol(raw)
        except SymbolError:
            suggestion = suggestion_for(catalog, raw)
            lines.append(t("add-invalid", text=clip(raw)) if suggestion is None else
                         t("add-invalid-suggest", text=clip(raw), suggestion=suggestion))
            continue
        if symbol in seen:
            continue
        seen.add(symbol)
        if verified and not catalog.known(symbol):
            suggestion = suggestion_for(catalog, raw)
            lines.append(t("add-unknown", symbol=symbol) if suggestion is None else
                         t("add-unknown-suggest", symbol=symbol, suggestion=suggestion))
            continue
        if have >= MAX_WATCHLIST:
            lines.append(t("add-full", symbol=symbol, limit=str(MAX_WATCHLIST)))
            continue
        try:
            added = await watch_symbol(registry, registry_lock, watchlist, account.id, symbol)
        except ValueError:  # the registry's own cap (RegistryFull)
            lines.append(t("add-registry-full", symbol=symbol))
            continue
        if not added:
            lines.append(t("add-already", symbol=symbol))
            continue
        have += 1
        await apply_user_floors(engine, threshold_repo, watchlist, account.id, [symbol])
        if verified:
            lines.append(t("add-ok", symbol=symbol))
        else:  # not "✅ added": nothing has checked that the coin exists
            minutes = pending.minutes if pending is not None else 10
            # simulator / replay sources: no venue list is fetched by design, none is "unavailable"
            key = "add-ok-offline" if catalog is not None and not getattr(catalog, "venues", True) \
                else "add-ok-unverified"
            lines.append(t(key, symbol=symbol, minutes=str(minutes)))
            if pending is not None:
                pending.add(account.id, symbol, lang)
    await message.answer("\n".join(lines))


async def remove_symbol(account: User, symbol: str, watchlist: WatchlistRepo, registry: Any,
                        registry_lock: asyncio.Lock, pending: PendingConfirmations | None) -> bool:
    removed = await unwatch_symbol(registry, registry_lock, watchlist, account.id, symbol)
    if removed and pending is not None:
        pending.discard(account.id, symbol)
    return removed


async def cmd_remove(message: Message, command: CommandObject, account: User, t: Texts,
                     watchlist: WatchlistRepo, registry_lock: asyncio.Lock, registry: Any = None,
                     pending: PendingConfirmations | None = None) -> None:
    args = (command.args or "").replace(",", " ").split()
    if not args:
        await message.answer(t("remove-usage"))
        return
    lines = []
    for raw in args[:MAX_SYMBOLS_PER_COMMAND]:
        try:
            symbol = normalize_symbol(raw)
        except SymbolError:
            lines.append(t("add-invalid", text=clip(raw)))
            continue
        if await remove_symbol(account, symbol, watchlist, registry, registry_lock, pending):
            lines.append(t("remove-ok", symbol=symbol))
        else:
            lines.append(t("remove-missing", symbol=symbol))
    await message.answer("\n".join(lines))


async def watchlist_view(account: User, t: Texts, watchlist: WatchlistRepo,
                         threshold_repo: ThresholdRepo) -> tuple[str, InlineKeyboardMarkup | None]:
    entries = await watchlist.list_for_user(account.id)
    if not entries:
        return t("list-empty"), None
    overrides = await threshold_repo.get_all(account.id)
    now = int(time.time())
    tz = user_tz(account)
    lines = [t("list-title", count=str(len(entries)), limit=str(MAX_WATCHLIST))]
    if account.is_muted(now):
        lines.append(t("list-all-muted", until=_local(account.muted_until, tz)))
    for e in entries:
        marks = []
        if e.muted_until > now:
            marks.append(t("list-muted-until", until=_local(e.muted_until, tz)))
        # the names /thresholds shows ("Cascade size"), in the order it shows them
        custom = [t("thr-key-name", what=k) for k in KEYS if (e.symbol, k) in overrides]
        if custom:
            marks.append(t("list-custom", keys=Html(", ".join(custom))))
        lines.append(t("list-line", symbol=e.symbol, marks=Html(" · ".join(marks))) if marks
                     else t("list-line-bare", symbol=e.symbol))
    if any(s == ALL_SYMBOLS for (s, _k) in overrides):
        lines.append(t("list-global-custom"))
    return "\n".join(lines), watchlist_keyboard(t, [e.symbol for e in entries])


def _local(epoch_s: int, tz) -> str:
    return local_time(epoch_s, tz)


async def cmd_list(message: Message, account: User, t: Texts, watchlist: WatchlistRepo,
                   threshold_repo: ThresholdRepo) -> None:
    text, markup = await watchlist_view(account, t, watchlist, threshold_repo)
    await message.answer(text, reply_markup=markup)


async def cb_menu_list(callback: CallbackQuery, account: User, t: Texts, watchlist: WatchlistRepo,
                       threshold_repo: ThresholdRepo) -> None:
    text, markup = await watchlist_view(account, t, watchlist, threshold_repo)
    await send_here(callback, account.id, text, reply_markup=markup)


async def cb_watch(callback: CallbackQuery, callback_data: WatchCB, callback_answer: CallbackAnswer,
                   account: User, t: Texts, watchlist: WatchlistRepo, threshold_repo: ThresholdRepo,
                   registry_lock: asyncio.Lock, registry: Any = None,
                   pending: PendingConfirmations | None = None) -> None:
    symbol = canonical(callback_data.symbol)
    if symbol is None or callback_data.op not in ("ask", "yes", "no"):
        toast(callback_answer, t.plain("button-invalid"), alert=True)
        return
    if callback_data.op == "ask":
        await edit_or_send(callback, t("remove-confirm", symbol=symbol), confirm_remove(t, symbol))
        return
    if callback_data.op == "yes":
        removed = await remove_symbol(account, symbol, watchlist, registry, registry_lock, pending)
        toast(callback_answer, t.plain("remove-ok" if removed else "remove-missing", symbol=symbol))
    text, markup = await watchlist_view(account, t, watchlist, threshold_repo)
    await edit_or_send(callback, text, markup)


async def bind_pending(pending: PendingConfirmations | None = None, watchlist: WatchlistRepo | None = None,
                       registry_lock: asyncio.Lock | None = None, registry: Any = None) -> None:
    """Dispatcher start-up: unconfirmed symbols are removed the way /remove removes them —
    the same repository, registry and registry lock the handlers get."""
    if pending is not None and watchlist is not None and registry_lock is not None:
        pending.unwatch = functools.partial(unwatch_symbol, registry, registry_lock, watchlist)


def build_router() -> Router:
    """A fresh Router (a Router can belong to one Dispatcher only)."""
    router = Router(name="watchlist")
    router.startup.register(bind_pending)
    router.message.register(cmd_add, Command("add"))
    router.message.register(cmd_remove, Command("remove"))
    router.message.register(cmd_list, Command("list"))
    router.callback_query.register(cb_menu_list, MenuCB.filter(F.action == "list"))
    router.callback_query.register(cb_watch, WatchCB.filter())
    return router
