"""What every feed shares: parse errors, per-feed counters, rate-limited logging, backoff, pacing."""
from __future__ import annotations

import asyncio
import logging
import math
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..events import Event

# A decoded JSON object as orjson gives it: values are whatever the venue sent, checked by the parsers.
JsonObject = dict[str, Any]
# ``put``: where a feed hands each batch of events (the engine's queue; awaiting it is backpressure).
EventSink = Callable[[list[Event]], Awaitable[None]]
# A venue parser: one decoded frame and its receive time (epoch ns) -> events ([] for control frames).
Parser = Callable[[object, int], list[Event]]


# vendor error text or close reason meaning the key or the plan was rejected (retrying cannot help)
AUTH_REJECTED = re.compile(
    r"\bapi[-_ ]?key\b|\bapikey\b|\bunauthori[sz]ed\b|\bforbidden\b|\bpermission denied\b|"
    r"\binvalid (?:api )?key\b|\bkey (?:is )?(?:invalid|expired|revoked)\b|\b(?:subscription|plan) (?:has )?expired\b|"
    r"\bsubscription level\b|\bupgrade (?:your|the) plan\b|\bplan (?:is )?(?:too low|not supported|required)\b|"
    r"\byour plan\b|\bplan does not\b|\bplease upgrade\b|\bupgrade required\b|"
    r"\bnot allowed\b|\bauthenticat(?:e|ion) failed\b",
    re.IGNORECASE)  # word-bounded: "planned maintenance" or "system upgrade" must stay retryable


class ParseError(ValueError):
    """A frame that cannot be turned into events. Counted and skipped, never fatal."""


class UnsupportedSymbol(ParseError):
    """A well-formed item for an instrument this product cannot watch or size (a delivery
    contract, a name that is no coin ticker, an OKX swap whose contract size is not known yet).
    All-symbol channels carry such items: they are skipped, never counted as parse errors. When a
    live feed sees it, ``skipped`` items go to ``FeedStats.skipped_unknown`` and ``events`` (the
    good items of the same frame) are still delivered."""

    def __init__(self, message: str, events: list[Event] | None = None, skipped: int = 1) -> None:
        super().__init__(message)
        self.events = events or []
        self.skipped = skipped


class PartialParse(ParseError):
    """Some items of a batched frame were bad. ``events`` holds the good ones (still delivered);
    ``bad`` says how many items were skipped as errors, ``unknown`` how many as unsupported
    instruments (not errors, see ``UnsupportedSymbol``)."""

    def __init__(self, message: str, events: list[Event], bad: int, unknown: int = 0) -> None:
        super().__init__(message)
        self.events = events
        self.bad = bad
        self.unknown = unknown


def parse_batch(items: object, parse_one: Callable[[JsonObject], list[Event]], *, wrap_object: bool = True,
                report_unknown: bool = True) -> list[Event]:
    """Parse a batched ``data`` array item by item, the one policy every venue shares:
    one bad item never sinks the good ones. ``parse_one(item)`` returns a list of events.

    - a malformed item is counted: ``PartialParse`` carries the good events and the counts (a
      frame whose items are ALL bad raises the first item's own error instead);
    - an instrument we cannot watch (``UnsupportedSymbol``) is not an error: with
      ``report_unknown`` the frame raises ``UnsupportedSymbol`` carrying the good events and the
      skipped count (live feeds count it in ``skipped_unknown``), else it is dropped silently —
      for all-symbol channels where such items are routine.
    """
    if wrap_object and isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        raise ParseError("'data' is not a list")
    out: list[Event] = []
    bad = unknown = 0
    first: ParseError | None = None
    first_unknown: UnsupportedSymbol | None = None
    for item in items:
        try:
            if not isinstance(item, dict):
                raise ParseError("item is not an object")
            out.extend(parse_one(item))
        except UnsupportedSymbol as exc:
            unknown += 1
            first_unknown = first_unknown or exc
        except ParseError as exc:
            bad += 1
            first = first or exc
    if bad:
        assert first is not None  # set with the first bad item
        if not out and bad == len(items):
            raise first
        raise PartialParse(f"{bad} of {len(items)} items skipped: {first}", out, bad,
                           unknown if report_unknown else 0)
    if unknown and report_unknown:
        assert first_unknown is not None  # set with the first unknown item
        if unknown == 1 and len(items) == 1:
            first_unknown.events = out
            raise first_unknown
        raise type(first_unknown)(f"{unknown} of {len(items)} items skipped: {first_unknown}", out, unknown)
    return out


class VendorError(ParseError):
    """An error frame sent by the venue (bad request, bad key, plan too low...).

    ``fatal`` means retrying cannot help (the key or the plan was rejected): the live feed stops
    with one log line instead of reconnecting in a storm."""

    def __init__(self, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal


class FatalFeedError(Exception):
    """The venue refused us for good (rejected key, plan too low, region blocked)."""


_INF = math.inf


def number(data: JsonObject, key: str, *, positive: bool = False) -> float:
    """A finite float from a JSON number or numeric string; bools, NaN and inf are rejected.

    The common case (a numeric string or float, in range) is converted once and returned; anything
    else goes through ``_number_checked``, which names what is wrong."""
    raw: Any = data.get(key)  # any JSON value: its type is tested once, below
    kind = type(raw)
    if kind is str or kind is float or kind is int:
        try:
            value = float(raw)
        except ValueError:
            pass
        else:
            if (0.0 < value < _INF) if positive else (-_INF < value < _INF):
                return value
    return _number_checked(data, key, positive=positive)


def _number_checked(data: JsonObject, key: str, *, positive: bool = False) -> float:
    try:
        raw = data[key]
    except KeyError:
        raise ParseError(f"missing field {key!r}") from None
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise ParseError(f"field {key!r} is not a number: {raw!r:.40}")
    try:
        value = float(raw)
    except ValueError:
        raise ParseError(f"field {key!r} is not a number: {raw!r:.40}") from None
    if not math.isfinite(value):
        raise ParseError(f"field {key!r} is not finite")
    if positive and value <= 0:
        raise ParseError(f"field {key!r} must be positive, got {value}")
    return value


def millis(data: JsonObject, key: str) -> int:
    """An epoch-ms timestamp from an int or a digit string (OKX sends strings)."""
    raw: object = data.get(key)
    if type(raw) is int and raw > 0:
        return raw
    if isinstance(raw, str) and raw.isdigit():
        return int(raw)
    raise ParseError(f"field {key!r} must be an epoch-ms timestamp, got {raw!r:.40}")


@dataclass(slots=True)
class FeedStats:
    """Per-feed counters, readable by the bot's health view (``snapshot()``)."""

    name: str
    frames: int = 0
    events: int = 0
    parse_errors: int = 0
    ignored: int = 0  # well-formed frames we do not use (acks, book tickers, pongs...)
    filtered: int = 0  # events for symbols nobody watches (all-symbol channels)
    skipped_unknown: int = 0  # items for instruments we cannot watch or size (OKX before its contract list)
    oversized: int = 0  # frames over the size limit (skipped, or the connection dropped)
    vendor_errors: int = 0  # error frames from the venue
    stale: int = 0  # connections declared dead: silence or no pong
    reconnects: int = 0
    handovers: int = 0  # proactive reconnects done make-before-break (Binance's 24 h limit)
    duplicates: int = 0  # frames both connections delivered during a handover's overlap (dropped)
    subscriptions: int = 0  # channels currently subscribed on the live connection
    last_msg_ns: int = 0  # wall clock of the last frame received (data, ack or pong)
    last_data_ns: int = 0  # wall clock of the last frame that carried market events
    live_since_ns: int = 0  # wall clock the current connection opened
    quiet_after_s: float = math.inf  # no market data for this long while live and subscribed: "stale"
    last_event_ts: int = 0  # exchange time of the last event, epoch ms
    lag_ms: float = 0.0  # EWMA of receive time - exchange time
    connected: bool = False
    state: str = "idle"  # idle / connecting / live / backoff / stopped (fatal) / degraded
    last_error: str = ""
    started_ns: int = field(default_factory=time.time_ns)

    def age_s(self, now_ns: int | None = None) -> float:
        if not self.last_msg_ns:
            return math.inf
        return ((now_ns or time.time_ns()) - self.last_msg_ns) / 1e9

    def observe_lag(self, recv_ns: int, exchange_ms: int) -> None:
        lag = recv_ns / 1e6 - exchange_ms
        self.lag_ms = lag if self.lag_ms == 0.0 else 0.9 * self.lag_ms + 0.1 * lag
        self.last_event_ts = exchange_ms

    def data_age_s(self, now_ns: int | None = None) -> float:
        """Seconds since market data last arrived (or since the connection opened, if none yet)."""
        since = max(self.last_data_ns, self.live_since_ns)
        if not since:
            return math.inf
        return ((now_ns or time.time_ns()) - since) / 1e9

    def health_state(self, now_ns: int | None = None) -> str:
        """``state``, except that a live, subscribed connection whose market data stopped for
        ``quiet_after_s`` reads "stale" at once — before the watchdog has declared it dead."""
        if (self.state == "live" and self.subscriptions > 0
                and self.data_age_s(now_ns) > self.quiet_after_s):
            return "stale"
        return self.state

    def snapshot(self, now_ns: int | None = None) -> dict[str, Any]:
        """Plain dict for a health view: every counter plus the age of the last message and of
        the last market data; ``state`` is ``health_state``."""
        now_ns = now_ns or time.time_ns()
        out = {name: getattr(self, name) for name in self.__slots__}
        out["age_s"] = self.age_s(now_ns)
        out["data_age_s"] = self.data_age_s(now_ns)
        out["state"] = self.health_state(now_ns)
        return out


class Feed(Protocol):
    """What the engine's runner and the health view need of any source: the live WebSocket
    clients, the simulator and a replayed recording alike."""

    name: str
    stats: FeedStats

    async def run(self, put: EventSink) -> None: ...


class PlayedFeed:
    """A source played from local data (the simulator, a recording). ``run`` is the one shared
    lifecycle: ``stats.state`` is ``live`` while ``_play`` runs and ``stopped`` after, however it
    ended (finished, failed or cancelled). Subclasses set ``name`` and ``stats``."""

    name: str
    stats: FeedStats

    async def run(self, put: EventSink) -> None:
        st = self.stats
        st.state, st.connected = "live", True
        try:
            await self._play(put)
        finally:
            st.state, st.connected = "stopped", False

    async def _play(self, put: EventSink) -> None:
        raise NotImplementedError


class RateLimitedLog:
    """Log at most ``per_minute`` messages per key; count the rest and say how many were dropped."""

    def __init__(self, logger: logging.Logger, per_minute: int = 6,
                 clock: Callable[[], float] = time.monotonic) -> None:
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


class Backoff:
    """Exponential backoff with jitter: attempt n waits ``min(cap, base * 2**n) * U(0.5, 1)``.

    With the default base of 0.5 s the first retry comes within 0.5 s; the cap keeps a dead venue
    from being hammered and never lets the wait grow past ``cap`` seconds."""

    def __init__(self, base: float = 0.5, cap: float = 30.0, *, rng: Callable[[], float] = random.random) -> None:
        self.base = base
        self.cap = cap
        self.attempt = 0
        self._rng = rng

    def next_delay(self) -> float:
        delay = min(self.cap, self.base * (2.0 ** min(self.attempt, 30)))
        self.attempt += 1
        return delay * (0.5 + 0.5 * self._rng())

    def reset(self) -> None:
        self.attempt = 0


class MessagePacer:
    """Spaces client messages evenly: at most ``per_second`` per second on one connection."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self._next = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        if now < self._next:
            await asyncio.sleep(self._next - now)
            now = time.monotonic()
        self._next = max(now, self._next) + self.interval
