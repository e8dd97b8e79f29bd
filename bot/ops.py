"""Operations: is the engine advancing (for the systemd watchdog, /health and admin alerts)."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class EngineProgress:
    """The engine advances while it drains its queue: stalled when batches wait in the queue and
    none was processed for ``stall_s`` (an empty queue is a quiet market, not a stall)."""

    def __init__(self, engine: Any, queue_depth: Callable[[], int], *, stall_s: float = 20.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self.queue_depth = queue_depth
        self.stall_s = stall_s
        self.clock = clock
        self._batches = -1
        self._since = clock()

    def stalled_for(self) -> float:
        """Seconds the engine has not advanced with work waiting (0.0 when it is fine)."""
        now = self.clock()
        batches = getattr(getattr(self.engine, "stats", None), "batches", 0)
        if batches != self._batches or self.queue_depth() == 0:
            self._batches = batches
            self._since = now
            return 0.0
        return now - self._since

    def advancing(self) -> bool:
        return self.stalled_for() <= self.stall_s
