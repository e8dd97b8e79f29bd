"""What every feed shares: parse errors, per-feed counters, rate-limited logging."""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field


class ParseError(ValueError):
    """A frame that cannot be turned into events. Counted and skipped, never fatal."""


@dataclass(slots=True)
class FeedStats:
    """Per-feed counters, readable by the bot's health view."""

    name: str
    frames: int = 0
    events: int = 0
    parse_errors: int = 0
    ignored: int = 0  # well-formed frames we do not use (acks, book tickers, pongs...)
    reconnects: int = 0
    last_msg_ns: int = 0  # wall clock of the last frame received
    lag_ms: float = 0.0  # EWMA of receive time - exchange time
    connected: bool = False
    state: str = "idle"  # idle / connecting / live / backoff / stopped (fatal)
    last_error: str = ""
    started_ns: int = field(default_factory=time.time_ns)

    def age_s(self, now_ns: int | None = None) -> float:
        if not self.last_msg_ns:
            return math.inf
        return ((now_ns or time.time_ns()) - self.last_msg_ns) / 1e9

    def observe_lag(self, recv_ns: int, exchange_ms: int) -> None:
        lag = recv_ns / 1e6 - exchange_ms
        self.lag_ms = lag if self.lag_ms == 0.0 else 0.9 * self.lag_ms + 0.1 * lag


class RateLimitedLog:
    """Log at most ``per_minute`` messages per key; count the rest and say how many were dropped."""

    def __init__(self, logger: logging.Logger, per_minute: int = 6, clock=time.monotonic) -> None:
        self._log = logger
        self._per_minute = per_minute
        self._clock = clock
        self._window: dict[str, tuple[float, int, int]] = {}

    def warning(self, key: str, msg: str, *args: object) -> None:
        now = self._clock()
        start, shown, dropped = self._window.get(key, (now, 0, 0))
        if now - start >= 60:
            if dropped:
                self._log.warning("%s: %d similar messages suppressed in the last minute", key, dropped)
            start, shown, dropped = now, 0, 0
        if shown < self._per_minute:
            self._log.warning(msg, *args)
            shown += 1
        else:
            dropped += 1
        self._window[key] = (start, shown, dropped)
