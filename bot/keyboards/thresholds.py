"""/thresholds: a − value + row per key, a presets view per key, reset."""
from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import ThrCB
from bot.i18n import Texts
from bot.parsing import KEYS, SPECS, fmt_threshold


def _num(value: float) -> str:
    return f"{value:.10g}"


def thresholds_keyboard(t: Texts, symbol: str, values: dict[str, float]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for key in KEYS:
        kb.button(text="−", callback_data=ThrCB(symbol=symbol, op="dec", key=key))
        kb.button(text=t.plain("btn-thr-key", what=key, value=fmt_threshold(key, values[key])),
                  callback_data=ThrCB(symbol=symbol, op="key", key=key))
        kb.button(text="+", callback_data=ThrCB(symbol=symbol, op="inc", key=key))
    kb.button(text=t.plain("btn-reset"), callback_data=ThrCB(symbol=symbol, op="reset"))
    kb.adjust(*([3] * len(KEYS)), 1)
    return kb.as_markup()


def presets_keyboard(t: Texts, symbol: str, key: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    presets = SPECS[key].presets
    for value in presets:
        kb.button(text=fmt_threshold(key, value),
                  callback_data=ThrCB(symbol=symbol, op="preset", key=key, value=_num(value)))
    kb.button(text=t.plain("btn-default"), callback_data=ThrCB(symbol=symbol, op="reset", key=key))
    kb.button(text=t.plain("btn-back"), callback_data=ThrCB(symbol=symbol, op="view"))
    kb.adjust(len(presets), 2)
    return kb.as_markup()
