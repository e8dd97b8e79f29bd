"""A stop-hunt alert's chart: the alert's text goes first, the chart follows as a reply.

Why a reply and not the alert as a photo with a caption: the alert must stay a text message —
updates of its event rewrite it with ``editMessageText`` (a photo would need
``editMessageCaption`` and a 1,024-character limit), thread replies point at it, and a text is
readable the moment it lands. So the text NEVER waits for a chart (URGENT latency is exactly
what it is without charts), and the chart, once rendered, is sent with ``reply_parameters``
to the user's alert message (``allow_sending_without_reply``), silently, in the same forum
topic. The 300 ms budget the issue allows for a caption therefore is not needed: the chart is
always the follow-up.

The series is read from the engine when delivery accepts the signal (the picture of the alert's
moment); it is rendered once per (signal, language, zone) in the shared ``ChartRenderer`` worker
and reused for every recipient. Chart replies go through the bot session, so the ReplyLimiter
keeps them under the global limit. A chart is an extra: a failure is counted and logged, never
retried, and never touches the outbox. Bounded: at most ``max_signals`` signals remembered and
``max_pending`` replies queued (more are dropped and counted).
"""
from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, tzinfo
from typing import Protocol

from aiogram import Bot
from aiogram.types import BufferedInputFile, ReplyParameters

from bot.charts import chart_labels, quote_unit, render_hunt_chart
from bot.i18n import user_tz
from engine.chartseries import ChartSeries
from engine.signals import Kind, Signal
from locales import Translator
from storage import OutboxRepo, OutboxRow, UserRepo

log = logging.getLogger(__name__)

Render = Callable[..., Awaitable[bytes | None]]  # (key, fn, *args, **kwargs) -> PNG | None


class HuntSeries(Protocol):
    """Where a stop hunt's picture comes from (``engine.core.Engine``)."""

    def hunt_chart(self, symbol: str) -> ChartSeries | None: ...


class AlertCharts:
    def __init__(self, bot: Bot, engine: HuntSeries, render: Render, *, translator: Translator,
                 outbox: OutboxRepo, users: UserRepo, max_signals: int = 64, max_pending: int = 1024) -> None:
        self._bot = bot
        self._engine = engine
        self._render = render
        self._tr = translator
        self._outbox = outbox
        self._users = users
        self._max_signals = max_signals
        self._signals: OrderedDict[str, tuple[Signal, ChartSeries]] = OrderedDict()
        self._queue: asyncio.Queue[OutboxRow] = asyncio.Queue(maxsize=max_pending)
        self.sent = 0
        self.failed = 0
        self.dropped = 0

    # ---- hooks (delivery calls these) ---------------------------------------------------
    def on_signal(self, signal: Signal) -> None:
        """A new signal was accepted: remember a stop hunt's series (read now, O(300 s))."""
        if signal.kind is not Kind.STOP_HUNT or signal.edits or signal.levels is None:
            return
        series = self._engine.hunt_chart(signal.symbol)
        if series is None or series.empty:
            return
        self._signals[signal.id] = (signal, series)
        while len(self._signals) > self._max_signals:
            self._signals.popitem(last=False)

    def on_sent(self, item: OutboxRow, _sent_ns: int) -> None:
        """The sender's observer: an alert row went out; its chart (if any) follows."""
        if item.edit_of is not None or item.signal_id not in self._signals:
            return
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped += 1

    # ---- the worker ---------------------------------------------------------------------
    async def run(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                await self._reply(item)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # an extra: logged, counted, never retried
                self.failed += 1
                log.info("stop-hunt chart to chat %s not sent: %s", item.chat_id, e)
            finally:
                self._queue.task_done()

    async def _reply(self, item: OutboxRow) -> None:
        entry = self._signals.get(item.signal_id)
        if entry is None:
            return
        signal, series = entry
        lang = item.lang or "en"
        tz = await self._zone(item.user_id)
        mult, unit = quote_unit(signal)
        title = self._tr.get(lang, "chart-hunt-title", symbol=unit)
        labels = chart_labels(_Plain(self._tr, lang))
        key = ("hunt-alert", signal.id, lang, str(tz))
        if signal.levels is None:  # remembered only with levels (on_signal)
            return
        png = await self._render(key, render_hunt_chart, series, signal.levels, title=title,
                                 labels=labels, tz=tz, quote_mult=mult)
        if png is None:
            self.dropped += 1
            return
        message_id = await self._outbox.sent_message_id(item.user_id, item.signal_id, item.chat_id)
        reply = ReplyParameters(message_id=message_id, allow_sending_without_reply=True) \
            if message_id is not None else None
        await self._bot.send_photo(item.chat_id, BufferedInputFile(png, f"{signal.symbol}-stop-hunt.png"),
                                   reply_parameters=reply, message_thread_id=item.thread_id,
                                   disable_notification=True)
        self.sent += 1

    async def _zone(self, user_id: int) -> tzinfo:
        try:
            user = await self._users.get(user_id)
        except Exception:  # the picture still goes, its times in UTC
            return UTC
        return user_tz(user)


class _Plain:
    """``chart_labels`` wants ``t.plain(key)``: the translator's text without markup."""

    def __init__(self, tr: Translator, lang: str) -> None:
        self._tr, self._lang = tr, lang

    def plain(self, key: str, **args: object) -> str:
        return str(self._tr.get(self._lang, key, **args))
