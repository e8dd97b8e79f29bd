"""The flood-controlled sender: one dispatcher, a bounded number of requests in flight.

The dispatcher takes the next batch from the ``Scheduler`` only when the ``GlobalLimiter`` has
a slot, so a chat's pacing is measured from the moment its request starts. Each batch is
claimed in the outbox ('sending', attempts + 1) before the request and marked after it:

| answer                               | what happens                                              |
|--------------------------------------|-----------------------------------------------------------|
| ok                                   | rows 'sent' with sent_ns and message_id                   |
| 429 ``TelegramRetryAfter``            | rows back to pending; that chat AND the whole sender wait |
|                                      | exactly ``retry_after`` s; nothing is dropped             |
| 403 ``TelegramForbiddenError``        | user marked inactive (``/start`` reactivates), their rows |
|                                      | failed                                                    |
| 400 ``TelegramBadRequest``            | logged, that row failed; a coalesced message is split and |
|                                      | its alerts retried one by one                             |
| network errors, 5xx, other API errors | retried with exponential backoff, failed after the limit  |

An alert that continues a thread (``Item.reply_to_signal_id``) is sent alone, as a reply to the
user's message of the earlier signal (``allow_sending_without_reply``: a message the user deleted
does not block it). Its message id comes from routing, or is looked up here when the earlier row
was not sent yet at routing; still unsent now -> sent without a reply.
"""
from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.types import LinkPreviewOptions, ReplyParameters

from bot.delivery.compose import compose
from bot.delivery.outbox import is_broadcast
from bot.delivery.scheduler import GlobalLimiter, Item, Scheduler
from bot.delivery.stats import DeliveryCounters, LatencyWindow
from bot.keyboards.alerts import alert_keyboard
from locales import Translator
from storage import OutboxRepo, UserRepo

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5  # network/5xx failures before a row is given up
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0

    def backoff(self, failures: int) -> float:
        return min(self.backoff_max_s, self.backoff_base_s * 2 ** max(0, failures - 1))


class Sender:
    def __init__(self, bot: Bot, outbox: OutboxRepo, users: UserRepo, translator: Translator,
                 scheduler: Scheduler, limiter: GlobalLimiter, counters: DeliveryCounters,
                 latency: LatencyWindow, *, retry: RetryPolicy = RetryPolicy(),
                 max_inflight: int = 16, request_timeout_s: int = 10,
                 retry_after_global: bool = True,
                 wall_ns: Callable[[], int] = time.time_ns) -> None:
        self._bot = bot
        self._outbox = outbox
        self._users = users
        self._tr = translator
        self.scheduler = scheduler
        self.limiter = limiter
        self.counters = counters
        self.latency = latency
        self.retry = retry
        self.request_timeout_s = request_timeout_s
        self.retry_after_global = retry_after_global
        self._wall_ns = wall_ns
        self._slots = asyncio.Semaphore(max_inflight)
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task] = set()
        self._preview_off = LinkPreviewOptions(is_disabled=True)

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    def wake(self) -> None:
        """New items were queued (or a chat/limit opened): look again now."""
        self._wake.set()

    # ---- dispatcher ----------------------------------------------------------------------
    async def run(self) -> None:
        """Dispatch forever (cancel to stop; then ``drain_inflight``)."""
        loop = asyncio.get_running_loop()
        while True:
            await self._slots.acquire()
            try:
                batch = await self._next_batch(loop)
            except BaseException:
                self._slots.release()
                raise
            token = self.limiter.acquire()
            task = asyncio.create_task(self._send(batch, token), name=f"deliver-{batch[0].id}")
            self._inflight.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task) -> None:
        self._inflight.discard(task)
        self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task failed", exc_info=task.exception())

    async def _next_batch(self, loop: asyncio.AbstractEventLoop) -> list[Item]:
        while True:
            now = loop.time()
            wait = self.limiter.delay(now)
            if wait <= 0:
                batch = self.scheduler.pop_ready(now)
                if batch is not None:
                    return batch
                wake_at = self.scheduler.next_wakeup()
                wait = None if wake_at is None else max(0.0, wake_at - now)
            elif wait == math.inf:
                wait = None  # an answer releases a slot and wakes us
            self._wake.clear()
            if wait is None:
                await self._wake.wait()
            elif wait > 0:
                try:
                    await asyncio.wait_for(self._wake.wait(), wait)
                except TimeoutError:
                    pass

    async def drain_inflight(self, timeout: float) -> int:
        """Let requests already started finish and be recorded; cancel what outlives ``timeout``.

        Returns how many had to be cancelled (their rows stay 'sending' and are requeued at the
        next start: at-least-once for them).
        """
        pending = set(self._inflight)
        if not pending:
            return 0
        _done, still = await asyncio.wait(pending, timeout=timeout)
        for task in still:
            task.cancel()
        if still:
            await asyncio.gather(*still, return_exceptions=True)
        return len(still)

    # ---- one message ---------------------------------------------------------------------
    async def _send(self, batch: list[Item], token: list) -> None:
        try:
            await self._send_batch(batch)
        finally:
            self.limiter.release(token, asyncio.get_running_loop().time())
            self.wake()

    async def _send_batch(self, batch: list[Item]) -> None:
        claimed = await self._outbox.claim(it.id for it in batch)
        batch = [it for it in batch if it.id in claimed]
        if not batch:
            return
        first = batch[0]
        lang = first.lang or "en"
        text = compose(self._tr, lang, [it.text for it in batch])
        symbols = [it.symbol for it in batch if it.symbol]
        # alert buttons belong to alerts; a broadcast (no symbol) goes out without any
        markup = alert_keyboard(self._tr, lang, symbols) if symbols else None
        ids = [it.id for it in batch]
        reply = await self._reply_parameters(batch)
        try:
            message = await self._bot.send_message(
                chat_id=first.chat_id, text=text, parse_mode="HTML",
                disable_notification=all(it.silent for it in batch),
                reply_markup=markup, link_preview_options=self._preview_off,
                reply_parameters=reply, request_timeout=self.request_timeout_s,
            )
        except TelegramRetryAfter as e:
            await self._on_retry_after(batch, e)
        except TelegramForbiddenError as e:
            await self._on_forbidden(batch, e)
        except (TelegramBadRequest, TelegramMigrateToChat) as e:
            await self._on_bad_request(batch, e)
        except (TelegramNetworkError, TelegramAPIError, OSError, TimeoutError) as e:
            # TelegramServerError (5xx), network errors, and API errors that may pass
            # (401/404/409 while an operator fixes the setup): retry with backoff, then give up
            await self._on_transient(batch, e)
        else:
            sent_ns = self._wall_ns()
            await self._outbox.mark_sent_many(ids, sent_ns, message.message_id)
            c = self.counters
            c.messages_sent += 1
            c.rows_sent += len(batch)
            if len(batch) > 1:
                c.rows_coalesced += len(batch)
            if reply is not None:
                c.rows_threaded += 1
            for it in batch:
                if is_broadcast(it.signal_id):
                    continue  # paced admin text: not an alert's receive->sent latency
                start = it.recv_ns or it.enqueued_ns
                self.latency.add(sent_ns, sent_ns - start)

    async def _reply_parameters(self, batch: list[Item]) -> ReplyParameters | None:
        """Reply to the earlier alert of the thread (a single-alert message only)."""
        if len(batch) != 1 or batch[0].reply_to_signal_id is None:
            return None
        it = batch[0]
        if it.reply_to_message_id is None:
            # the earlier row was not sent yet when this one was routed: it may be by now
            found = await self._outbox.sent_message_id(it.user_id, it.reply_to_signal_id, it.chat_id)
            if found is None:
                return None
            it.reply_to_message_id = found
            await self._outbox.set_reply_to(it.id, found)
        return ReplyParameters(message_id=it.reply_to_message_id, allow_sending_without_reply=True)

    async def _on_retry_after(self, batch: list[Item], e: TelegramRetryAfter) -> None:
        loop = asyncio.get_running_loop()
        wait = float(e.retry_after)
        until = loop.time() + wait
        self.counters.rate_limited += 1
        self.counters.retries += 1
        log.warning("429 from Telegram for chat %s: waiting exactly %ss", batch[0].chat_id, e.retry_after)
        await self._outbox.mark_retry_many(
            (it.id for it in batch), e, self._wall_ns() + int(wait * 1e9)
        )
        self.scheduler.pause_chat(batch[0].chat_id, until)
        if self.retry_after_global:
            self.limiter.pause_until(until)
        self.scheduler.requeue(batch, until)
        self.wake()

    async def _on_forbidden(self, batch: list[Item], e: TelegramForbiddenError) -> None:
        user_id = batch[0].user_id
        self.counters.forbidden += 1
        log.info("user %s cannot be reached (%s): marked inactive until /start", user_id, e.message)
        others = self.scheduler.remove_user(user_id)
        await self._users.set_active(user_id, False)
        failed = await self._outbox.mark_failed_many([it.id for it in batch], e)
        failed += len(await self._outbox.fail_pending_for_user(user_id, e))
        self.counters.rows_failed += failed
        if others:
            log.info("gave up %d queued alerts of user %s", len(others), user_id)

    async def _on_bad_request(self, batch: list[Item], e: TelegramAPIError) -> None:
        self.counters.bad_requests += 1
        if len(batch) > 1:
            log.warning("coalesced message to chat %s refused (%s): sending its %d alerts one by one",
                        batch[0].chat_id, e.message, len(batch))
            await self._outbox.mark_retry_many((it.id for it in batch), e, 0)
            for it in batch:
                it.solo = True
            self.scheduler.requeue(batch, 0.0)
            self.wake()
            return
        it = batch[0]
        if it.reply_to_message_id is not None and "repl" in (e.message or "").lower():
            # the reply itself was refused: send the alert once more, without the reply
            log.warning("alert %s to chat %s: reply to message %s refused (%s); sending it without",
                        it.id, it.chat_id, it.reply_to_message_id, e.message)
            it.reply_to_signal_id = it.reply_to_message_id = None
            await self._outbox.mark_retry_many([it.id], e, 0)
            self.scheduler.requeue([it], 0.0)
            self.wake()
            return
        log.warning("alert %s to chat %s refused, given up: %s", batch[0].id, batch[0].chat_id, e.message)
        self.counters.rows_failed += await self._outbox.mark_failed_many([batch[0].id], e)

    async def _on_transient(self, batch: list[Item], e: BaseException) -> None:
        loop = asyncio.get_running_loop()
        retry, give_up = [], []
        for it in batch:
            it.failures += 1
            (give_up if it.failures >= self.retry.max_attempts else retry).append(it)
        if give_up:
            log.warning("gave up %d alert(s) to chat %s after %d attempts: %s",
                        len(give_up), batch[0].chat_id, self.retry.max_attempts, e)
            self.counters.rows_failed += await self._outbox.mark_failed_many(
                [it.id for it in give_up], e
            )
        if retry:
            delay = self.retry.backoff(max(it.failures for it in retry))
            self.counters.retries += 1
            log.info("send to chat %s failed (%s: %s); retry in %.1fs",
                     batch[0].chat_id, type(e).__name__, e, delay)
            await self._outbox.mark_retry_many(
                (it.id for it in retry), e, self._wall_ns() + int(delay * 1e9)
            )
            self.scheduler.requeue(retry, loop.time() + delay)
            self.wake()
