"""Buttons under an alert: Flow (opens /flow for the symbol), Mute 1h (this symbol), Thresholds.

Pure functions; labels come from ``locales/<lang>/delivery.ftl``; callback data from
``bot.callbacks`` (handlers are the bot's). A coalesced message about several symbols gets a
Flow and a Mute button per symbol (at most ``MAX_SYMBOLS``) and one Thresholds button.
"""
from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import FlowCB, MuteCB, ThrCB
from bot.i18n import Texts
from locales import Translator

MUTE_MINUTES = 60
MAX_SYMBOLS = 4


def alert_keyboard(tr: Translator, lang: str, symbols: Sequence[str]) -> InlineKeyboardMarkup:
    """Keyboard for an alert about ``symbols`` (one symbol for a single alert)."""
    unique = list(dict.fromkeys(s for s in symbols if s))[:MAX_SYMBOLS]
    t = Texts(tr, lang)  # button labels are plain text: t.plain
    builder = InlineKeyboardBuilder()
    if len(unique) == 1:
        symbol = unique[0]
        builder.button(text=t.plain("delivery-btn-flow"), callback_data=FlowCB(symbol=symbol))
        builder.button(text=t.plain("delivery-btn-mute"),
                       callback_data=MuteCB(symbol=symbol, minutes=MUTE_MINUTES))
        builder.button(text=t.plain("delivery-btn-thresholds"),
                       callback_data=ThrCB(symbol=symbol, op="open"))
        builder.adjust(3)
        return builder.as_markup()
    for symbol in unique:
        builder.button(text=t.plain("delivery-btn-flow-symbol", symbol=symbol),
                       callback_data=FlowCB(symbol=symbol))
        builder.button(text=t.plain("delivery-btn-mute-symbol", symbol=symbol),
                       callback_data=MuteCB(symbol=symbol, minutes=MUTE_MINUTES))
    builder.button(text=t.plain("delivery-btn-thresholds"),
                   callback_data=ThrCB(symbol="*", op="open"))
    builder.adjust(*([2] * len(unique)), 1)
    return builder.as_markup()
