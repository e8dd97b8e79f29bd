"""Timeframe and Refresh buttons under a /flow message (edit that message in place)."""
from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import FlowTextCB, FlowViewCB
from bot.i18n import Texts
from bot.parsing import WINDOWS


def flow_keyboard(t: Texts, symbol: str, window: str, *, details: bool = False) -> InlineKeyboardMarkup:
    """Timeframes, Refresh; under a chart also "Details" (the full text as a message)."""
    kb = InlineKeyboardBuilder()
    for w in WINDOWS:
        label = f"· {w} ·" if w == window else w
        kb.button(text=label, callback_data=FlowViewCB(symbol=symbol, window=w))
    kb.button(text=t.plain("btn-refresh"), callback_data=FlowViewCB(symbol=symbol, window=window))
    if details:
        kb.button(text=t.plain("flow-details"), callback_data=FlowTextCB(symbol=symbol, window=window))
    kb.adjust(len(WINDOWS), 2 if details else 1)
    return kb.as_markup()
