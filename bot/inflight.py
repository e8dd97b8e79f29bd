"""Which updates are being handled right now, so shutdown can let them finish.

aiogram's polling runs every update as a task of its own (``handle_as_tasks``) and, when polling
stops, neither cancels nor waits for those tasks — and offers no public way to wait for them. An
outer middleware on ``dp.update`` sees every update from the start of its handling to the end:
``InflightUpdates`` counts them, and ``idle()`` returns once none is running, so ``run_app``
closes the database only after the last handler is done with it.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject


class InflightUpdates(BaseMiddleware):
    """Register first on ``dp.update.outer_middleware`` (outermost: it spans every other step)."""

    def __init__(self) -> None:
        self.running = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        self.running += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self.running -= 1
            if not self.running:
                self._idle.set()

    async def idle(self) -> None:
        """Return once no update is being handled (at once when none is). Bound it with a timeout."""
        await self._idle.wait()
