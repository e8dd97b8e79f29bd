"""Per-user token bucket for commands and button presses (in memory, bounded)."""
from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.i18n import Texts
from locales import Translator


class ThrottlingMiddleware(BaseMiddleware):
    """``burst`` updates at once, refilled at ``rate_per_s``. Over the limit: one polite
    reply, then silence until the bucket refills (a flood cannot make the bot flood back)."""

    def __init__(self, tr: Translator, *, rate_per_s: float = 2.0, burst: int = 10,
                 max_users: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.tr = tr
        self.rate = rate_per_s
        self.burst = burst
        self.max_users = max_users
        self.clock = clock
        # user id -> [tokens, last refill time, warned]
        self._buckets: OrderedDict[int, list] = OrderedDict()
        self.dropped = 0

    def _allow(self, user_id: int) -> tuple[bool, bool]:
        """(allowed, warn now)."""
        now = self.clock()
        b = self._buckets.get(user_id)
        if b is None:
            b = [float(self.burst), now, False]
            self._buckets[user_id] = b
            if len(self._buckets) > self.max_users:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(user_id)
            b[0] = min(float(self.burst), b[0] + (now - b[1]) * self.rate)
            b[1] = now
        if b[0] >= 1.0:
            b[0] -= 1.0
            b[2] = False
            return True, False
        warn = not b[2]
        b[2] = True
        return False, warn

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        user = data.get("event_from_user")
        if user is None:
            return await handler(event, data)
        allowed, warn = self._allow(user.id)
        if allowed:
            return await handler(event, data)
        self.dropped += 1
        lang = self.tr.normalize(user.language_code)
        if isinstance(event, CallbackQuery):  # a toast: plain text
            await event.answer(Texts(self.tr, lang).plain("throttled"))
        elif warn and isinstance(event, Message):
            await event.answer(self.tr.get(lang, "throttled"))
        return None
