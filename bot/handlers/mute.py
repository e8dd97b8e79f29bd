"""/mute, /unmute (with duration buttons; also the Mute button under alerts), /quiet, /tz."""
from __future__ import annotations

import time
from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot.callbacks import MenuCB, MuteCB
from bot.handlers.replies import send_here, toast
from bot.i18n import Texts, clip, local_time, tz_label, user_tz
from bot.parsing import (
    MAX_MUTE_MINUTES,
    fmt_duration,
    looks_like_duration,
    parse_duration,
    parse_quiet_command,
    parse_tz,
)
from bot.handlers.watchlist import canonical
from bot.keyboards.menus import mute_durations, unmute_button
from engine.symbols import SymbolError, normalize_symbol
from storage import ALL_SYMBOLS, User, UserRepo, WatchlistRepo


_ALL_WORDS = ("all", "*", "semua", "everything")


def _until_text(account: User, until_s: int) -> str:
    return local_time(until_s, user_tz(account))


async def apply_mute(account: User, symbol: str, minutes: int, t: Texts, users: UserRepo,
                     watchlist: WatchlistRepo) -> str:
    """Mute (minutes > 0) or unmute (0) ``symbol`` ('*' = everything); returns the reply text."""
    until = int(time.time()) + minutes * 60 if minutes else 0
    if symbol == ALL_SYMBOLS:
        await users.set_mute(account.id, until)
        if not minutes:
            for e in await watchlist.list_for_user(account.id):
                if e.muted_until:
                    await watchlist.set_symbol_mute(account.id, e.symbol, 0)
            return t("unmute-all-ok")
        return t("mute-all-ok", duration=fmt_duration(minutes), until=_until_text(account, until))
    if not await watchlist.set_symbol_mute(account.id, symbol, until):
        return t("mute-not-watched", symbol=symbol)
    if not minutes:
        return t("unmute-ok", symbol=symbol)
    return t("mute-ok", symbol=symbol, duration=fmt_duration(minutes), until=_until_text(account, until))


def _target(text: str) -> str:
    """'all' -> '*', a symbol -> canonical symbol; raises SymbolError."""
    if text.lower() in _ALL_WORDS:
        return ALL_SYMBOLS
    return normalize_symbol(text)


async def cmd_mute(message: Message, command: CommandObject, account: User, t: Texts,
                   users: UserRepo, watchlist: WatchlistRepo) -> None:
    args = (command.args or "").split()
    if len(args) > 2:
        await message.answer(t("mute-usage"))
        return
    symbol, minutes = ALL_SYMBOLS, None
    for arg in args:
        try:
            minutes = parse_duration(arg) if minutes is None else minutes
            continue
        except ValueError:
            pass
        if looks_like_duration(arg):
            await message.answer(t("mute-bad-duration", value=clip(arg), max_days=str(MAX_MUTE_MINUTES // 1440)))
            return
        try:
            symbol = _target(arg)
        except SymbolError:
            await message.answer(t("add-invalid", text=clip(arg)))
            return
    if minutes is None:
        label = t("mute-everything") if symbol == ALL_SYMBOLS else symbol
        await message.answer(t("mute-choose", target=label), reply_markup=mute_durations(t, symbol))
        return
    text = await apply_mute(account, symbol, minutes, t, users, watchlist)
    await message.answer(text, reply_markup=unmute_button(t, symbol))


async def cmd_unmute(message: Message, command: CommandObject, account: User, t: Texts,
                     users: UserRepo, watchlist: WatchlistRepo) -> None:
    args = (command.args or "").split()
    if len(args) > 1:
        await message.answer(t("unmute-usage"))
        return
    try:
        symbol = _target(args[0]) if args else ALL_SYMBOLS
    except SymbolError:
        await message.answer(t("add-invalid", text=clip(args[0])))
        return
    await message.answer(await apply_mute(account, symbol, 0, t, users, watchlist))


async def cb_mute(callback: CallbackQuery, callback_data: MuteCB, callback_answer: CallbackAnswer,
                  account: User, t: Texts, users: UserRepo, watchlist: WatchlistRepo) -> None:
    symbol = callback_data.symbol if callback_data.symbol == ALL_SYMBOLS else canonical(callback_data.symbol)
    minutes = callback_data.minutes
    if symbol is None or not 0 <= minutes <= MAX_MUTE_MINUTES:
        toast(callback_answer, t.plain("button-invalid"), alert=True)
        return
    text = await apply_mute(account, symbol, minutes, t, users, watchlist)
    toast(callback_answer, t.plain("mute-toast-on" if minutes else "mute-toast-off"))
    # a new message: the button may sit under an alert, which must stay as it is
    await send_here(callback, account.id, text,
                                    reply_markup=unmute_button(t, symbol) if minutes else None)


async def cb_menu_mute(callback: CallbackQuery, account: User, t: Texts) -> None:
    await send_here(callback, account.id, t("mute-choose", target=t("mute-everything")),
                                    reply_markup=mute_durations(t, ALL_SYMBOLS))


def urgent_word(pierces: bool) -> str:
    """The selector value the locales use for the user's URGENT-in-quiet-hours choice."""
    return "on" if pierces else "off"


def quiet_summary(t: Texts, account: User) -> str:
    """One line: the quiet hours (or none) and whether URGENT alerts come through them."""
    urgent = urgent_word(account.quiet_urgent_pierces)
    if account.quiet_start and account.quiet_end:
        return t("quiet-current", start=account.quiet_start, end=account.quiet_end, tz=tz_label(account.tz),
                 urgent=urgent)
    return t("quiet-none", tz=tz_label(account.tz), urgent=urgent)


async def cmd_quiet(message: Message, command: CommandObject, account: User, t: Texts,
                    users: UserRepo) -> None:
    arg = (command.args or "").strip()
    if not arg:
        await message.answer(quiet_summary(t, account))
        return
    try:
        wanted = parse_quiet_command(arg)
    except ValueError:
        await message.answer(t("quiet-bad", value=clip(arg)))
        return
    # an unchanged part keeps the stored value: setting a window must not reset the choice
    pierces = account.quiet_urgent_pierces if wanted.urgent is None else wanted.urgent
    if wanted.clear:
        await users.set_quiet(account.id, None, None, urgent_pierces=pierces)
        await message.answer(t("quiet-off"))
    elif wanted.start is not None:
        await users.set_quiet(account.id, wanted.start, wanted.end, urgent_pierces=pierces)
        await message.answer(t("quiet-set", start=wanted.start, end=wanted.end, tz=tz_label(account.tz),
                               urgent=urgent_word(pierces)))
    else:
        await users.set_quiet(account.id, account.quiet_start, account.quiet_end,
                              urgent_pierces=pierces)
        await message.answer(t("quiet-urgent-set", urgent=urgent_word(pierces)))


async def cmd_tz(message: Message, command: CommandObject, account: User, t: Texts,
                 users: UserRepo) -> None:
    arg = (command.args or "").strip()
    if not arg:
        now = datetime.now(user_tz(account)).strftime("%H:%M")
        await message.answer(t("tz-current", tz=tz_label(account.tz), now=now))
        return
    try:
        name = parse_tz(arg)
    except ValueError:
        await message.answer(t("tz-bad", value=clip(arg, 40)))
        return
    await users.set_tz(account.id, name)
    account_tz = user_tz(await users.get(account.id))
    await message.answer(t("tz-set", tz=tz_label(name), now=datetime.now(account_tz).strftime("%H:%M")))


def build_router() -> Router:
    """A fresh Router (a Router can belong to one Dispatcher only)."""
    router = Router(name="mute")
    router.message.register(cmd_mute, Command("mute"))
    router.message.register(cmd_unmute, Command("unmute"))
    router.callback_query.register(cb_mute, MuteCB.filter())
    router.callback_query.register(cb_menu_mute, MenuCB.filter(F.action == "mute"))
    router.message.register(cmd_quiet, Command("quiet"))
    router.message.register(cmd_tz, Command("tz"))
    return router
