"""/flow SYMBOL [1m|5m|15m|1h]: a live order-flow snapshot with timeframe and Refresh buttons.

The FlowCB button under alerts sends a NEW snapshot message (the alert stays as it was); the
FlowViewCB buttons under a snapshot edit that snapshot in place.
"""
from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot.callbacks import FlowCB, FlowViewCB
from bot.handlers.common import Texts, clip, edit_or_send, local_time, send_here, toast, user_tz
from bot.handlers.parsing import WINDOWS
from bot.handlers.watchlist import canonical
from bot.keyboards.flow import flow_keyboard
from bot.render import buy_sell_shares, fmt_price, fmt_rates_by_venue, fmt_signed_usd, fmt_usd
from engine.symbols import SymbolError, normalize_symbol
from storage import User, WatchlistRepo

BAR = 16
FUNDING_DIGITS = 4
STAMP = "%Y-%m-%d %H:%M:%S"  # then the zone: "UTC", "WIB", "UTC+7"  # the live snapshot shows rates to 0.0001 % (alerts round to 0.001 %)


def render_flow(t: Texts, snap: Any, account: User | None) -> str:
    s = buy_sell_shares(snap.buy_share, BAR)  # the engine reports 0.5 for an empty window
    lines = [
        t("flow-title", symbol=snap.symbol, window=snap.window),
        t("flow-price", price=fmt_price(snap.last_price) if snap.last_price else "—",
          vwap=fmt_price(snap.vwap) if snap.vwap else "—"),
        "",
        t("flow-buy", usd=fmt_usd(snap.buy_usd), share=s["buy_share"], bar=s["buy_bar"]),
        t("flow-sell", usd=fmt_usd(snap.sell_usd), share=s["sell_share"], bar=s["sell_bar"]),
        t("flow-delta", delta=fmt_signed_usd(snap.net_delta), cvd=fmt_signed_usd(snap.cvd)),
        t("flow-large", threshold=fmt_usd(snap.large_threshold_usd), buys=int(snap.large_buys),
          sells=int(snap.large_sells)),
        t("flow-liq", longs=fmt_usd(snap.liq_long_usd), shorts=fmt_usd(snap.liq_short_usd)),
    ]
    if snap.funding_8h:
        lines.append(t("flow-funding", rates=fmt_rates_by_venue(snap.funding_8h, FUNDING_DIGITS)))
    else:
        lines.append(t("flow-funding-none"))
    lines.append(t("flow-trades", trades=f"{snap.trades:,}",
                   venues=", ".join(snap.venues) if snap.venues else "—"))
    if "binance" in (snap.venues or ()):
        lines.append(t("flow-binance-caveat"))
    lines.append(t("flow-time", time=local_time(snap.ts / 1000, user_tz(account), STAMP) if snap.ts else "—"))
    return "\n".join(lines)


def _snapshot(engine: Any, symbol: str, window: str) -> Any:
    flow = getattr(engine, "flow", None)
    if flow is None:  # an engine without order-flow windows (older build)
        return None
    return flow(symbol, window)


async def flow_view(account: User, t: Texts, engine: Any, watchlist: WatchlistRepo, symbol: str,
                    window: str):
    """The snapshot text and its buttons; without data no buttons (another timeframe or a
    refresh would show the same nothing), only what to do about it."""
    snap = _snapshot(engine, symbol, window)
    if snap is None or (snap.trades == 0 and not snap.liq_long_usd and not snap.liq_short_usd):
        watched = any(e.symbol == symbol for e in await watchlist.list_for_user(account.id))
        return t("flow-no-data-watched" if watched else "flow-no-data", symbol=symbol), None
    return render_flow(t, snap, account), flow_keyboard(t, symbol, window)


async def cmd_flow(message: Message, command: CommandObject, account: User, t: Texts,
                   engine: Any, watchlist: WatchlistRepo) -> None:
    args = (command.args or "").split()
    if not args or len(args) > 2:
        await message.answer(t("flow-usage", windows=", ".join(WINDOWS)))
        return
    try:
        symbol = normalize_symbol(args[0])
    except SymbolError:
        await message.answer(t("add-invalid", text=clip(args[0])))
        return
    window = args[1].lower() if len(args) == 2 else "5m"
    if window not in WINDOWS:
        await message.answer(t("flow-bad-window", value=clip(args[1], 8), windows=", ".join(WINDOWS)))
        return
    text, markup = await flow_view(account, t, engine, watchlist, symbol, window)
    await message.answer(text, reply_markup=markup)


def _checked(symbol: str, window: str) -> tuple[str, str] | None:
    sym = canonical(symbol)
    return (sym, window) if sym is not None and window in WINDOWS else None


async def cb_flow_new(callback: CallbackQuery, callback_data: FlowCB, callback_answer: CallbackAnswer,
                      account: User, t: Texts, engine: Any, watchlist: WatchlistRepo) -> None:
    checked = _checked(callback_data.symbol, callback_data.window)
    if checked is None:
        toast(callback_answer, t.plain("button-invalid"), alert=True)
        return
    text, markup = await flow_view(account, t, engine, watchlist, *checked)
    await send_here(callback, account.id, text, reply_markup=markup)


async def cb_flow_edit(callback: CallbackQuery, callback_data: FlowViewCB,
                       callback_answer: CallbackAnswer, account: User, t: Texts, engine: Any,
                       watchlist: WatchlistRepo) -> None:
    checked = _checked(callback_data.symbol, callback_data.window)
    if checked is None:
        toast(callback_answer, t.plain("button-invalid"), alert=True)
        return
    text, markup = await flow_view(account, t, engine, watchlist, *checked)
    toast(callback_answer, t.plain("flow-refreshed"))
    await edit_or_send(callback, text, markup)


def build_router() -> Router:
    """A fresh Router (a Router can belong to one Dispatcher only)."""
    router = Router(name="flow")
    router.message.register(cmd_flow, Command("flow"))
    router.callback_query.register(cb_flow_new, FlowCB.filter())
    router.callback_query.register(cb_flow_edit, FlowViewCB.filter())
    return router
