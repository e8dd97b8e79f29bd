"""Command replies under the same global limit as alerts, ahead of them, retried once.

``ReplyLimiter`` is an aiogram request middleware (``bot.session.middleware``): every message a
handler sends or edits (``message.answer``, callback edits, confirmations) outside the delivery
sender takes a slot of the sender's ``GlobalLimiter`` first — so replies and alerts together
stay under ``global_per_s`` — and it is served before any queued alert (the priority lane:
while a reply waits, the sender starts nothing new). A reply met by a 429 waits exactly
``retry_after`` (and pauses the sender too: Telegram's flood limit is per bot) and is sent
once more; a 5xx, an undecodable answer or a refused connection is retried once after
``retry_delay_s``. A second failure reaches the handler as before (aiogram's error).

The sender's own requests carry ``IN_SENDER`` and pass straight through.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import ClientDecodeError, TelegramRetryAfter

from bot.delivery.clock import wait_event
from bot.delivery.sender import IN_SENDER, classify

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import Response, TelegramMethod
    from aiogram.methods.base import TelegramType

    from bot.delivery.sender import Sender

log = logging.getLogger(__name__)

# methods that put or change a message in a chat: Telegram's flood limits count these
LIMITED_METHODS = frozenset({
    "sendMessage", "editMessageText", "editMessageReplyMarkup", "editMessageCaption",
    "sendPhoto", "sendDocument", "copyMessage", "forwardMessage", "sendMediaGroup",
})


class ReplyLimiter(BaseRequestMiddleware):
    def __init__(self, sender: Sender, *, retry_delay_s: float = 1.0,
                 max_retry_after_s: float = 30.0) -> None:
        self.sender = sender
        self.retry_delay_s = retry_delay_s
        self.max_retry_after_s = max_retry_after_s  # a longer 429 is not waited for inline
        self.waiting = 0
        self.sent = 0
        self.retried = 0
        self.failed = 0

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        if IN_SENDER.get() or method.__api_method__ not in LIMITED_METHODS:
            return await make_request(bot, method)
        try:
            response = await self._limited(make_request, bot, method)
        except Exception as e:
            outcome = classify(e)
            retry_after = float(e.retry_after) if isinstance(e, TelegramRetryAfter) else None
            if outcome in ("retry_after", "server_error", "undecodable", "network") and (
                    retry_after is None or retry_after <= self.max_retry_after_s):
                self.retried += 1
                wait = retry_after if retry_after is not None else self.retry_delay_s
                log.info("reply (%s) %s: once more in %.0fs", method.__api_method__, outcome, wait)
                await self.sender.clock.sleep(wait)
                try:
                    response = await self._limited(make_request, bot, method)
                except Exception:
                    self.failed += 1
                    raise
            else:
                if not isinstance(e, ClientDecodeError) and outcome != "bad_request":
                    self.failed += 1
                raise
        self.sent += 1
        return response

    async def _limited(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        sender = self.sender
        limiter, clock = sender.limiter, sender.clock
        limiter.replies_waiting += 1
        self.waiting += 1
        try:
            while True:
                wait = limiter.delay(clock.now(), reply=True)
                if wait <= 0:
                    break
                sender.slot_freed.clear()
                await wait_event(clock, sender.slot_freed, None if wait == float("inf") else wait)
        finally:
            limiter.replies_waiting -= 1
            self.waiting -= 1
        token = limiter.acquire()
        try:
            return await make_request(bot, method)
        except TelegramRetryAfter as e:
            until = clock.now() + float(e.retry_after)
            if sender.retry_after_global:
                limiter.pause_until(until)
            raise
        finally:
            limiter.release(token, clock.now())
            sender.wake()
