"""/flow SYMBOL [1m|5m|15m|1h]: a live order-flow snapshot with timeframe and Refresh buttons.

With data and a chart renderer the snapshot is ONE photo (price, volume, CVD: ``bot.charts``)
whose caption is the text trimmed to Telegram's 1,024 characters, with a "Details" button
(FlowTextCB) that sends the full text. The FlowCB button under alerts sends a NEW snapshot
message (the alert stays as it was); the FlowViewCB buttons under a snapshot edit that snapshot
in place (editMessageMedia under a photo, editMessageText under an older text snapshot). A
coin without data gets text only, and when rendering fails or the renderer is busy the text
goes alone: a chart never costs the user the snapshot.

A coin a venue quotes per 1000 (or per million) units — 1000PEPE on Binance and Bybit — is
shown the way its alerts show it (``bot.render`` / ``bot.charts.quote_unit``): the price line
and the chart's price panel in that unit, the unit and its venues stated, so the numbers can be
compared with the venue's chart and typed into its order ticket.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, Protocol

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, InputMediaPhoto, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot.callbacks import FlowCB, FlowTextCB, FlowViewCB
from bot.charts import ChartRenderer, chart_labels, render_flow_chart
from bot.handlers.replies import edit_or_send, reply_chat, reply_thread, send_here, toast
from bot.i18n import Texts, clip, local_time, user_tz
from bot.parsing import WINDOWS
from bot.handlers.watchlist import canonical
from bot.keyboards.flow import flow_keyboard
from bot.render import buy_sell_shares, fmt_price, fmt_rates_by_venue, fmt_signed_usd, fmt_usd
from engine.chartseries import ChartSeries
from engine.flow import FlowSnapshot
from engine.symbols import SymbolError, normalize_symbol, quoted_units, unit_name
from storage import User, WatchlistRepo

log = logging.getLogger(__name__)

BAR = 16
CAPTION_MAX = 1024  # Telegram's caption limit
FUNDING_DIGITS = 4
# the live snapshot shows rates to 0.0001 % (alerts round to 0.001 %): FUNDING_DIGITS above
STAMP = "%Y-%m-%d %H:%M:%S"  # then the zone: "UTC", "WIB", "UTC+7"


@dataclass(frozen=True, slots=True)
class QuotedUnit:
    """The unit prices are shown in: ``mult`` coins per unit (1 for a coin quoted per coin)."""
    mult: int
    name: str  # "PEPE", "1000PEPE", "1MBABYDOGE"
    venues: tuple[str, ...] = ()  # the venues quoting in it (none for a per-coin unit)


def quoted_unit(symbol: str) -> QuotedUnit:
    """The unit the coin's alerts and their charts use: the smallest multiplier a venue was seen
    quoting it in (``engine.symbols.quoted_units``, learnt by the feeds), else one coin."""
    quoted = quoted_units(symbol)
    if not quoted:
        return QuotedUnit(1, symbol)
    mult = min(quoted.values())
    name = unit_name(mult, symbol)
    return QuotedUnit(mult, name, tuple(sorted(v for v, m in quoted.items() if m == mult)))


def render_flow(t: Texts, snap: FlowSnapshot, account: User | None) -> str:
    s = buy_sell_shares(snap.buy_share, BAR)  # the engine reports 0.5 for an empty window
    unit = quoted_unit(snap.symbol)
    price = fmt_price(snap.last_price * unit.mult) if snap.last_price else "—"
    vwap = fmt_price(snap.vwap * unit.mult) if snap.vwap else "—"
    lines = [
        t("flow-title", symbol=snap.symbol, window=snap.window),
        t("flow-price", price=price, vwap=vwap) if unit.mult == 1 else
        t("flow-price-quoted", price=price, vwap=vwap, unit=unit.name, venues=", ".join(unit.venues)),
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


class FlowSource(Protocol):
    """engine.core.Engine as /flow reads it: running-sum snapshots and the chart's series."""

    def flow(self, symbol: str, window: str = "5m") -> FlowSnapshot | None: ...

    def flow_chart(self, symbol: str, window: str = "5m") -> ChartSeries | None: ...


@dataclass(frozen=True, slots=True)
class FlowView:
    text: str
    has_data: bool
    png: bytes | None = None  # the chart, when there is data and a renderer produced one


def caption_of(t: Texts, text: str) -> str:
    """The text as a photo caption: whole lines (tags stay balanced) up to 1,024 characters of
    HTML (never fewer visible characters than that), then a pointer to "Details"."""
    if len(text) <= CAPTION_MAX:
        return text
    more = str(t("flow-caption-more"))
    kept: list[str] = []
    used = len(more)
    for line in text.split("\n"):
        if used + len(line) + 1 > CAPTION_MAX:
            break
        kept.append(line)
        used += len(line) + 1
    return "\n".join([*kept, more])


async def flow_chart(engine: FlowSource, charts: ChartRenderer | None, t: Texts, account: User | None,
                     symbol: str, window: str) -> bytes | None:
    """The chart PNG, rendered in the renderer's worker (shared by everyone asking for the same
    symbol, window and engine second), or None: no renderer, no series, busy, or it failed."""
    if charts is None:
        return None
    series = engine.flow_chart(symbol, window)
    if series is None or series.empty:
        return None
    tz = user_tz(account)
    unit = quoted_unit(symbol)  # 1000PEPE: the price panel per 1000, as the alerts' charts draw it
    key = ("flow", symbol, window, series.version, t.lang, str(tz), unit.mult)
    try:
        return await charts.render(key, render_flow_chart, series, title=f"{unit.name} · {window}",
                                   labels=chart_labels(t), tz=tz, quote_mult=float(unit.mult))
    except Exception:  # a chart is an extra: the text still goes
        log.exception("flow chart for %s %s failed", symbol, window)
        return None


async def flow_view(account: User, t: Texts, engine: FlowSource, watchlist: WatchlistRepo, symbol: str,
                    window: str, charts: ChartRenderer | None = None) -> FlowView:
    """The snapshot text (and chart); without data no buttons (another timeframe or a refresh
    would show the same nothing), only what to do about it."""
    snap = engine.flow(symbol, window)
    if snap is None or (snap.trades == 0 and not snap.liq_long_usd and not snap.liq_short_usd):
        watched = any(e.symbol == symbol for e in await watchlist.list_for_user(account.id))
        return FlowView(t("flow-no-data-watched" if watched else "flow-no-data", symbol=symbol), False)
    png = await flow_chart(engine, charts, t, account, symbol, window)
    return FlowView(render_flow(t, snap, account), True, png)


def _photo(view: FlowView, symbol: str, window: str) -> BufferedInputFile:
    return BufferedInputFile(view.png or b"", filename=f"{symbol}-{window}.png")


class _SendText(Protocol):
    def __call__(self, text: str, *, reply_markup: InlineKeyboardMarkup | None = None) -> Awaitable[object]: ...


class _SendPhoto(Protocol):
    def __call__(self, photo: BufferedInputFile, *, caption: str | None = None,
                 reply_markup: InlineKeyboardMarkup | None = None) -> Awaitable[object]: ...


async def _answer(send_text: _SendText, send_photo: _SendPhoto, t: Texts, view: FlowView, symbol: str,
                  window: str) -> None:
    if view.png is not None:
        await send_photo(_photo(view, symbol, window), caption=caption_of(t, view.text),
                         reply_markup=flow_keyboard(t, symbol, window, details=True))
    else:
        await send_text(view.text, reply_markup=flow_keyboard(t, symbol, window) if view.has_data else None)


async def cmd_flow(message: Message, command: CommandObject, account: User, t: Texts,
                   engine: FlowSource, watchlist: WatchlistRepo, charts: ChartRenderer | None = None) -> None:
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
    view = await flow_view(account, t, engine, watchlist, symbol, window, charts)
    await _answer(message.answer, message.answer_photo, t, view, symbol, window)


def _checked(symbol: str, window: str) -> tuple[str, str] | None:
    sym = canonical(symbol)
    return (sym, window) if sym is not None and window in WINDOWS else None


async def cb_flow_new(callback: CallbackQuery, callback_data: FlowCB, callback_answer: CallbackAnswer,
                      account: User, t: Texts, engine: FlowSource, watchlist: WatchlistRepo,
                      bot: Bot, charts: ChartRenderer | None = None) -> None:
    checked = _checked(callback_data.symbol, callback_data.window)
    if checked is None:
        toast(callback_answer, t.plain("button-invalid"), alert=True)
        return
    view = await flow_view(account, t, engine, watchlist, *checked, charts)

    async def send_photo(photo: BufferedInputFile, **kwargs: Any) -> Any:
        return await bot.send_photo(account.id, photo, message_thread_id=reply_thread(callback),
                                             **kwargs)

    async def send_text(text: str, **kwargs: Any) -> Any:
        return await send_here(callback, account.id, text, **kwargs)
    await _answer(send_text, send_photo, t, view, *checked)


async def cb_flow_text(callback: CallbackQuery, callback_data: FlowTextCB,
                       callback_answer: CallbackAnswer, account: User, t: Texts, engine: FlowSource,
                       watchlist: WatchlistRepo) -> None:
    """"Details" under a chart: the full snapshot text (as of now) as a new message."""
    checked = _checked(callback_data.symbol, callback_data.window)
    if checked is None:
        toast(callback_answer, t.plain("button-invalid"), alert=True)
        return
    view = await flow_view(account, t, engine, watchlist, *checked)
    await send_here(callback, reply_chat(callback), view.text)


async def cb_flow_edit(callback: CallbackQuery, callback_data: FlowViewCB,
                       callback_answer: CallbackAnswer, account: User, t: Texts, engine: FlowSource,
                       watchlist: WatchlistRepo, charts: ChartRenderer | None = None) -> None:
    checked = _checked(callback_data.symbol, callback_data.window)
    if checked is None:
        toast(callback_answer, t.plain("button-invalid"), alert=True)
        return
    symbol, window = checked
    msg = callback.message
    is_photo = isinstance(msg, Message) and bool(msg.photo)
    view = await flow_view(account, t, engine, watchlist, symbol, window, charts if is_photo else None)
    toast(callback_answer, t.plain("flow-refreshed"))
    if not isinstance(msg, Message) or not msg.photo:
        # a text snapshot (no chart then, or from before charts) stays text
        await edit_or_send(callback, view.text, flow_keyboard(t, symbol, window) if view.has_data else None)
        return
    markup = flow_keyboard(t, symbol, window, details=True) if view.has_data else None
    try:
        if view.png is not None:
            await msg.edit_media(InputMediaPhoto(media=_photo(view, symbol, window),
                                                 caption=caption_of(t, view.text)), reply_markup=markup)
        else:  # no chart this time (no data, busy): the caption still updates
            await msg.edit_caption(caption=caption_of(t, view.text), reply_markup=markup)
    except TelegramBadRequest as e:
        if "not modified" not in str(e):
            log.info("cannot edit flow chart %s: %s", msg.message_id, e)
            await send_here(callback, reply_chat(callback), view.text, reply_markup=markup)


def build_router() -> Router:
    """A fresh Router (a Router can belong to one Dispatcher only)."""
    router = Router(name="flow")
    router.message.register(cmd_flow, Command("flow"))
    router.callback_query.register(cb_flow_new, FlowCB.filter())
    router.callback_query.register(cb_flow_edit, FlowViewCB.filter())
    router.callback_query.register(cb_flow_text, FlowTextCB.filter())
    return router
