"""Main menu, language picker, watchlist, mute and tier keyboards."""
from __future__ import annotations

from collections.abc import Iterable

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import LangCB, MenuCB, MuteCB, TierCB, WatchCB
from bot.i18n import Texts
from bot.parsing import MUTE_CHOICES, fmt_duration

MENU_ACTIONS = ("list", "signals", "thr", "tiers", "mute", "lang", "help")
LANGUAGES = ("en", "id")
TIERS = ("URGENT", "WATCH", "INFO")


def main_menu(t: Texts) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for action in MENU_ACTIONS:
        kb.button(text=t.plain(f"menu-{action}"), callback_data=MenuCB(action=action))
    kb.adjust(2)
    return kb.as_markup()


def language_picker(t: Texts) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for code in LANGUAGES:
        kb.button(text=t.plain("lang-name", code=code), callback_data=LangCB(lang=code))
    return kb.as_markup()


def watchlist_keyboard(t: Texts, symbols: Iterable[str]) -> InlineKeyboardMarkup | None:
    kb = InlineKeyboardBuilder()
    count = 0
    for symbol in symbols:
        kb.button(text=t.plain("btn-remove", symbol=symbol), callback_data=WatchCB(op="ask", symbol=symbol))
        count += 1
    if not count:
        return None
    kb.adjust(3)
    return kb.as_markup()


def confirm_remove(t: Texts, symbol: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=t.plain("btn-yes-remove", symbol=symbol), callback_data=WatchCB(op="yes", symbol=symbol))
    kb.button(text=t.plain("btn-no-keep"), callback_data=WatchCB(op="no", symbol=symbol))
    return kb.as_markup()


def mute_durations(t: Texts, symbol: str) -> InlineKeyboardMarkup:
    """``symbol`` '*' = everything."""
    kb = InlineKeyboardBuilder()
    for minutes in MUTE_CHOICES:
        kb.button(text=fmt_duration(minutes), callback_data=MuteCB(symbol=symbol, minutes=minutes))
    kb.button(text=t.plain("btn-unmute"), callback_data=MuteCB(symbol=symbol, minutes=0))
    kb.adjust(3, 3, 1)
    return kb.as_markup()


def unmute_button(t: Texts, symbol: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=t.plain("btn-unmute"), callback_data=MuteCB(symbol=symbol, minutes=0))
    return kb.as_markup()


def tiers_keyboard(t: Texts, tiers: Iterable[str], silent: Iterable[str],
                   outcome_replies: bool = True) -> InlineKeyboardMarkup:
    on, quiet = set(tiers), set(silent)
    kb = InlineKeyboardBuilder()
    for tier in TIERS:
        kb.button(text=t.plain("btn-tier-on", tier=tier, on="yes" if tier in on else "no"),
                  callback_data=TierCB(tier=tier, op="on"))
        kb.button(text=t.plain("btn-tier-sound", sound="no" if tier in quiet else "yes"),
                  callback_data=TierCB(tier=tier, op="silent"))
    # the silent reply under a stop-hunt alert when its outcome is final
    kb.button(text=t.plain("btn-tier-outcomes", on="yes" if outcome_replies else "no"),
              callback_data=TierCB(tier="-", op="outcomes"))
    kb.adjust(*([2] * len(TIERS)), 1)
    return kb.as_markup()
