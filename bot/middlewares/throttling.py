"""Per-user token bucket for commands and button presses (in memory, bounded)."""
from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.i18n import Texts
from locales import Translator


@dataclass(slots=True)
class _Bucket:
    tokens: float
    refilled: float  # when tokens were last topped up
    warned: bool = False  # told "too fast" since the last allowed message


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
        self._buckets: OrderedDict[int, _Bucket] = OrderedDict()  # user id -> their bucket
        self.dropped = 0

    def _allow(self, user_id: int) -> tuple[bool, bool]:
        """(allowed, warn now)."""
        now = self.clock()
        b = self._buckets.get(user_id)
        if b is None:
            b = _Bucket(float(self.burst), now)
            self._buckets[user_id] = b
            if len(self._buckets) > self.max_users:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(user_id)
            b.tokens = min(float(self.burst), b.tokens + (now - b.refilled) * self.rate)
            b.refilled = now
        if b.tokens >= 1.0:
            b.tokens -= 1.0
            b.warned = False
            return True, False
        warn = not b.warned
        b.warned = True
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
