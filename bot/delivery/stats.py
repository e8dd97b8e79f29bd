"""Delivery counters and the receive->sent latency window behind ``/health``."""
from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

HOUR_NS = 3_600_000_000_000


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (q in 0..100)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


class LatencyWindow:
    """(sent_ns, latency_ns) samples of the last ``window_ns``; bounded by ``max_samples``."""

    def __init__(self, window_ns: int = HOUR_NS, max_samples: int = 200_000) -> None:
        self.window_ns = window_ns
        self._samples: deque[tuple[int, int]] = deque(maxlen=max_samples)

    def add(self, sent_ns: int, latency_ns: int) -> None:
        self._samples.append((sent_ns, latency_ns))

    def _prune(self, now_ns: int) -> None:
        horizon = now_ns - self.window_ns
        samples = self._samples
        while samples and samples[0][0] < horizon:
            samples.popleft()

    def summary(self, now_ns: int) -> dict[str, float | int | None]:
        """{'count', 'p50_ms', 'p95_ms', 'p99_ms', 'max_ms'} over the window (None when empty)."""
        self._prune(now_ns)
        values = sorted(lat for _, lat in self._samples)
        if not values:
            return {"count": 0, "p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}
        ms = lambda ns: round(ns / 1e6, 1)  # noqa: E731
        return {
            "count": len(values),
            "p50_ms": ms(percentile(values, 50)),
            "p95_ms": ms(percentile(values, 95)),
            "p99_ms": ms(percentile(values, 99)),
            "max_ms": ms(values[-1]),
        }


@dataclass(slots=True)
class DeliveryCounters:
    """Plain counters since start (a metrics exporter may read them as they are).

    ``sends_by_outcome``: Bot API calls of the sender by outcome (``sender.OUTCOMES``: ok,
    retry_after, blocked, bad_request, server_error, undecodable, network, timeout).
    """

    signals_in: int = 0  # handed to the sink
    signals_dropped: int = 0  # sink queue full (not accepted; logged)
    signals_routed: int = 0  # persisted and routed
    route_errors: int = 0
    rows_enqueued: int = 0  # (user, signal) rows accepted into the outbox
    messages_sent: int = 0  # Telegram messages (a coalesced message counts once)
    rows_sent: int = 0
    rows_coalesced: int = 0  # rows that went out inside a coalesced message
    rows_threaded: int = 0  # alerts sent as a reply to the earlier alert of their thread
    rows_failed: int = 0  # given up explicitly
    rows_expired: int = 0  # ... of them: retryable failures past the tier's retry budget
    record_errors: int = 0  # storage errors while claiming/recording a send (each retried)
    edits_sent: int = 0  # messages edited with an update of their signal's event
    edits_merged: int = 0  # updates folded into a pending row (original or edit) instead
    edits_dropped: int = 0  # edits given up quietly (message gone / not editable / never sent)
    route_retries: int = 0  # routing attempts repeated after a storage error
    signals_lost: int = 0  # routing failed 3 times for a reason other than storage (a bug)
    retries: int = 0  # network / 5xx / 429 attempts to be repeated
    rate_limited: int = 0  # 429 answers (TelegramRetryAfter)
    forbidden: int = 0  # 403 answers (user deactivated)
    bad_requests: int = 0  # 400 answers
    topics_gone: int = 0  # sends into a deleted/closed forum topic (re-sent to the general topic)
    chats_migrated: int = 0  # groups found upgraded to a supergroup while sending (rows moved)
    skipped: dict[str, int] = field(default_factory=dict)  # routing: reason -> count
    sends_by_outcome: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}
