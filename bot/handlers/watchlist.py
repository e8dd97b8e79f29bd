"""/add, /remove, /list and the remove buttons (``bot.subscriptions`` does the work)."""
from __future__ import annotations

import logging
import time

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot.callbacks import MenuCB, WatchCB
from bot.handlers.replies import edit_or_send, send_here, toast
from bot.i18n import Html, Texts, clip, local_time, user_tz
from bot.keyboards.menus import confirm_remove, watchlist_keyboard
from bot.parsing import KEYS, MAX_SYMBOLS_PER_COMMAND
from bot.subscriptions import MAX_WATCHLIST, InstrumentCatalog, Subscriptions, WatchlistFull
from engine.symbols import SymbolError, normalize_symbol
from storage import ALL_SYMBOLS, ThresholdRepo, User, WatchlistRepo

log = logging.getLogger(__name__)


def canonical(text: str) -> str | None:
    """A canonical symbol from a callback (must already be canonical), else None."""
    try:
        symbol = normalize_symbol(text)
    except SymbolError:
        return None
    return symbol if symbol == text else None


def suggestion_for(catalog: InstrumentCatalog | None, text: str) -> str | None:
    """The catalog's closest listed coin(s) to ``text``, as one short string (or None)."""
    if catalog is None:
        return None
    try:
        found = catalog.suggest(text)
    except Exception:  # a suggestion is a nicety; never fail /add over it
        log.debug("suggest failed for %r", text, exc_info=True)
        return None
    return ", ".join(found[:3]) if found else None


async def cmd_add(message: Message, command: CommandObject, account: User, t: Texts,
                  subscriptions: Subscriptions,
                  catalog: InstrumentCatalog | None = None) -> None:
    args = (command.args or "").replace(",", " ").split()
    if not args:
        await message.answer(t("add-usage"))
        return
    if len(args) > MAX_SYMBOLS_PER_COMMAND:
        await message.answer(t("add-too-many", limit=str(MAX_SYMBOLS_PER_COMMAND)))
        return
    verified = catalog is not None and catalog.available
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
        if verified and catalog is not None and not catalog.known(symbol):
            suggestion = suggestion_for(catalog, raw)
            lines.append(t("add-unknown", symbol=symbol) if suggestion is None else
                         t("add-unknown-suggest", symbol=symbol, suggestion=suggestion))
            continue
        try:
            added = await subscriptions.watch(account.id, symbol)
        except WatchlistFull as full:  # the cap is the service's: every path obeys it
            lines.append(t("add-full", symbol=symbol, limit=str(full.limit)))
            continue
        except ValueError:  # the registry's own cap (RegistryFull)
            lines.append(t("add-registry-full", symbol=symbol))
            continue
        if not added:
            lines.append(t("add-already", symbol=symbol))
            continue
        if verified:
            lines.append(t("add-ok", symbol=symbol))
        else:  # not "✅ added": nothing has checked that the coin exists
            # simulator / replay sources: no venue list is fetched by design, none is "unavailable"
            key = "add-ok-offline" if catalog is not None and not catalog.venues else "add-ok-unverified"
            lines.append(t(key, symbol=symbol, minutes=str(subscriptions.pending.minutes)))
            subscriptions.pending.add(account.id, symbol)
    await message.answer("\n".join(lines))


async def cmd_remove(message: Message, command: CommandObject, account: User, t: Texts,
                     subscriptions: Subscriptions) -> None:
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
        if await subscriptions.unwatch(account.id, symbol):
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
        lines.append(t("list-all-muted", until=local_time(account.muted_until, tz)))
    for e in entries:
        marks = []
        if e.muted_until > now:
            marks.append(t("list-muted-until", until=local_time(e.muted_until, tz)))
        # the names /thresholds shows ("Cascade size"), in the order it shows them
        custom = [t("thr-key-name", what=k) for k in KEYS if (e.symbol, k) in overrides]
        if custom:
            marks.append(t("list-custom", keys=Html(", ".join(custom))))
        lines.append(t("list-line", symbol=e.symbol, marks=Html(" · ".join(marks))) if marks
                     else t("list-line-bare", symbol=e.symbol))
    if any(s == ALL_SYMBOLS for (s, _k) in overrides):
        lines.append(t("list-global-custom"))
    return "\n".join(lines), watchlist_keyboard(t, [e.symbol for e in entries])


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
                   subscriptions: Subscriptions) -> None:
    symbol = canonical(callback_data.symbol)
    if symbol is None or callback_data.op not in ("ask", "yes", "no"):
        toast(callback_answer, t.plain("button-invalid"), alert=True)
        return
    if callback_data.op == "ask":
        await edit_or_send(callback, t("remove-confirm", symbol=symbol), confirm_remove(t, symbol))
        return
    if callback_data.op == "yes":
        removed = await subscriptions.unwatch(account.id, symbol)
        toast(callback_answer, t.plain("remove-ok" if removed else "remove-missing", symbol=symbol))
    text, markup = await watchlist_view(account, t, watchlist, threshold_repo)
    await edit_or_send(callback, text, markup)


def build_router() -> Router:
    """A fresh Router (a Router can belong to one Dispatcher only)."""
    router = Router(name="watchlist")
    router.message.register(cmd_add, Command("add"))
    router.message.register(cmd_remove, Command("remove"))
    router.message.register(cmd_list, Command("list"))
    router.callback_query.register(cb_menu_list, MenuCB.filter(F.action == "list"))
    router.callback_query.register(cb_watch, WatchCB.filter())
    return router
