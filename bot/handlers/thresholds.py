"""/thresholds: per-user alert thresholds, global ('*') or per symbol, with −/+ and presets.

Values go to ``bot.subscriptions`` (which checks the range, stores them and moves the
detector floors both ways), so detectors run at the lowest value any subscriber needs and
delivery compares each alert with each user's own values.
"""
from __future__ import annotations

from collections.abc import Mapping

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot.callbacks import MenuCB, ThrCB
from bot.handlers.replies import edit_or_send, send_here, toast
from bot.i18n import Texts, clip
from bot.parsing import (
    KEYS,
    SPECS,
    fmt_range,
    fmt_threshold,
    parse_key,
    parse_threshold_value,
    step,
)
from bot.handlers.watchlist import canonical
from bot.keyboards.thresholds import presets_keyboard, thresholds_keyboard
from engine.symbols import SymbolError, normalize_symbol
from bot.subscriptions import Subscriptions
from engine.thresholds import MAJOR, MID, SMALL, OutOfRange, defaults_for
from storage import ALL_SYMBOLS, ThresholdRepo, User

OPS = ("open", "view", "key", "inc", "dec", "preset", "reset")


def default_value(symbol: str, key: str) -> float:
    base = MAJOR if symbol == ALL_SYMBOLS else defaults_for(symbol)
    return float(getattr(base, SPECS[key].field))


def class_defaults(key: str) -> tuple[str, str, str] | None:
    """(BTC/ETH, large caps, others) defaults of ``key`` as shown, or None when every class
    has the same default."""
    field = SPECS[key].field
    values = [float(getattr(cls, field)) for cls in (MAJOR, MID, SMALL)]
    if len(set(values)) == 1:
        return None
    return tuple(fmt_threshold(key, v) for v in values)  # type: ignore[return-value]


def effective(overrides: Mapping[tuple[str, str], float], symbol: str, key: str) -> tuple[float, str]:
    """(value, source) where source is symbol | global | default."""
    if symbol != ALL_SYMBOLS and (symbol, key) in overrides:
        return overrides[(symbol, key)], "symbol"
    if (ALL_SYMBOLS, key) in overrides:
        return overrides[(ALL_SYMBOLS, key)], "global"
    return default_value(symbol, key), "default"


async def thresholds_view(account: User, t: Texts, threshold_repo: ThresholdRepo,
                          symbol: str) -> tuple[str, InlineKeyboardMarkup]:
    overrides = await threshold_repo.get_all(account.id)
    values: dict[str, float] = {}
    title = t("thr-title-global") if symbol == ALL_SYMBOLS else t("thr-title-symbol", symbol=symbol)
    lines = [title, ""]
    for key in KEYS:
        value, source = effective(overrides, symbol, key)
        values[key] = value
        default = fmt_threshold(key, default_value(symbol, key))
        by_class = class_defaults(key) if symbol == ALL_SYMBOLS else None
        if by_class is not None:  # "all coins": BTC/ETH's default is not a small coin's
            major, mid, small = by_class
            if source == "default":
                source, default = "classes", t("thr-default-smaller", mid=mid, small=small)
            else:
                default = t("thr-default-classes", major=major, mid=mid, small=small)
        lines.append(t("thr-line", what=t("thr-key-name", what=key), value=fmt_threshold(key, value),
                       source=source, default=default))
    lines.append("")
    lines.append(t("thr-contract"))
    lines.append(t("thr-note-global") if symbol == ALL_SYMBOLS else t("thr-note-symbol", symbol=symbol))
    lines.append(t("thr-hint"))
    return "\n".join(lines), thresholds_keyboard(t, symbol, values)


def _target(t: Texts, symbol: str) -> str:
    return t("thr-target-all") if symbol == ALL_SYMBOLS else t("thr-target-symbol", symbol=symbol)


def _range_text(t: Texts, key: str, *, plain: bool = False) -> str:
    low, high = fmt_range(key)
    args = dict(what=t("thr-key-name", what=key), low=low, high=high)
    return t.plain("thr-out-of-range", **args) if plain else t("thr-out-of-range", **args)


async def cmd_thresholds(message: Message, command: CommandObject, account: User, t: Texts,
                         threshold_repo: ThresholdRepo, subscriptions: Subscriptions) -> None:
    args = (command.args or "").split()
    symbol = ALL_SYMBOLS
    if args and args[0].lower() not in ("reset", "all", "*"):
        try:
            parse_key(args[0])
        except ValueError:
            try:
                symbol = normalize_symbol(args[0])
            except SymbolError:
                await message.answer(t("thr-bad-target", value=clip(args[0])))
                return
            args = args[1:]
    elif args and args[0].lower() in ("all", "*"):
        args = args[1:]
    if not args:
        text, markup = await thresholds_view(account, t, threshold_repo, symbol)
        await message.answer(text, reply_markup=markup)
        return
    if len(args) == 1 and args[0].lower() == "reset":
        await subscriptions.reset_thresholds(account.id, None if symbol == ALL_SYMBOLS else symbol)
        text, markup = await thresholds_view(account, t, threshold_repo, symbol)
        await message.answer(t("thr-reset-done") + "\n\n" + text, reply_markup=markup)
        return
    if len(args) != 2:
        await message.answer(t("thr-usage"))
        return
    try:
        key = parse_key(args[0])
    except ValueError:
        await message.answer(t("thr-bad-key", value=clip(args[0]), keys=", ".join(KEYS)))
        return
    if args[1].lower() in ("reset", "default"):
        await subscriptions.reset_thresholds(account.id, symbol, key)
        await message.answer(t("thr-key-reset", what=t("thr-key-name", what=key),
                               target=_target(t, symbol)))
        return
    try:
        value = parse_threshold_value(key, args[1])
    except ValueError:
        await message.answer(t("thr-bad-value", value=clip(args[1]), what=t("thr-key-name", what=key),
                               example=t("thr-example", what=key)))
        return
    try:
        value = await subscriptions.set_threshold(account.id, symbol, key, value)
    except OutOfRange:
        await message.answer(_range_text(t, key))
        return
    await message.answer(t("thr-set", what=t("thr-key-name", what=key), value=fmt_threshold(key, value),
                           target=_target(t, symbol)))


async def cb_menu_thr(callback: CallbackQuery, account: User, t: Texts,
                      threshold_repo: ThresholdRepo) -> None:
    text, markup = await thresholds_view(account, t, threshold_repo, ALL_SYMBOLS)
    await send_here(callback, account.id, text, reply_markup=markup)


async def cb_thresholds(callback: CallbackQuery, callback_data: ThrCB, callback_answer: CallbackAnswer,
                        account: User, t: Texts, threshold_repo: ThresholdRepo,
                        subscriptions: Subscriptions) -> None:
    cb = callback_data
    symbol = ALL_SYMBOLS if cb.symbol == ALL_SYMBOLS else canonical(cb.symbol)
    needs_key = cb.op in ("key", "inc", "dec", "preset")
    if symbol is None or cb.op not in OPS or (needs_key and cb.key not in SPECS) or \
            (cb.key and cb.key not in SPECS):
        toast(callback_answer, t.plain("button-invalid"), alert=True)
        return
    if cb.op == "open":
        text, markup = await thresholds_view(account, t, threshold_repo, symbol)
        await send_here(callback, account.id, text, reply_markup=markup)
        return
    if cb.op == "key":
        value, _source = effective(await threshold_repo.get_all(account.id), symbol, cb.key)
        low, high = fmt_range(cb.key)
        await edit_or_send(callback, t("thr-presets", what=t("thr-key-name", what=cb.key),
                                       value=fmt_threshold(cb.key, value), low=low, high=high,
                                       target=_target(t, symbol)),
                           presets_keyboard(t, symbol, cb.key))
        return
    if cb.op in ("inc", "dec"):
        current, _source = effective(await threshold_repo.get_all(account.id), symbol, cb.key)
        new = step(cb.key, current, cb.op == "inc")
        if new == current:
            toast(callback_answer, t.plain("thr-limit"))
            return
        await subscriptions.set_threshold(account.id, symbol, cb.key, new)
        toast(callback_answer, t.plain("thr-toast", what=t("thr-key-name", what=cb.key),
                                 value=fmt_threshold(cb.key, new)))
    elif cb.op == "preset":
        try:
            value = await subscriptions.set_threshold(account.id, symbol, cb.key, float(cb.value))
        except OutOfRange:
            toast(callback_answer, _range_text(t, cb.key, plain=True), alert=True)
            return
        except ValueError:  # not a number at all
            toast(callback_answer, t.plain("button-invalid"), alert=True)
            return
        toast(callback_answer, t.plain("thr-toast", what=t("thr-key-name", what=cb.key),
                                 value=fmt_threshold(cb.key, value)))
    elif cb.op == "reset":
        if cb.key:
            await subscriptions.reset_thresholds(account.id, symbol, cb.key)
        else:
            await subscriptions.reset_thresholds(account.id, None if symbol == ALL_SYMBOLS else symbol)
        toast(callback_answer, t.plain("thr-reset-done"))
    text, markup = await thresholds_view(account, t, threshold_repo, symbol)
    await edit_or_send(callback, text, markup)


def build_router() -> Router:
    """A fresh Router (a Router can belong to one Dispatcher only)."""
    router = Router(name="thresholds")
    router.message.register(cmd_thresholds, Command("thresholds"))
    router.callback_query.register(cb_menu_thr, MenuCB.filter(F.action == "thr"))
    router.callback_query.register(cb_thresholds, ThrCB.filter())
    return router
