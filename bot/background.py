"""Tasks a handler starts and does not wait for (a broadcast's progress report): referenced
until done, cancelled and awaited when the dispatcher shuts down (``bot.app``)."""
from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class Background:
    """A small task group: ``spawn`` keeps a reference to every task until it is done."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def __len__(self) -> int:
        return len(self._tasks)

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
