"""The live WebSocket client every venue shares: connect, subscribe, heartbeat, watchdog, reconnect.

One ``WebSocketFeed`` is one connection task. Around each connection:
- the subscription task replays the whole watched set after every (re)connect, then follows the
  ``SubscriptionRegistry``: a change is diffed against what this connection is subscribed to and
  sent as batched subscribe/unsubscribe messages, paced under the venue's client-message limit;
- the heartbeat task (venues with an application-level ping) sends the venue's ping and gives the
  answer ``pong_timeout`` seconds; no answer = dead connection;
- the watchdog declares the connection dead when no frame arrived for ``stale_after`` seconds,
  and replaces it proactively after ``max_age_s`` (Binance cuts every connection at 24 h). A venue
  with ``overlap_handover`` (Binance) gets make-before-break: the successor connection is opened,
  subscribed and seen streaming BEFORE the old one is closed; its frames are buffered meanwhile,
  and for the overlap (until ``overlap_dedup_s`` after the switch) frames are de-duplicated by the
  venue's ``dedup_key`` (Binance: aggTrade id ``a``, event time ``E``). If the successor cannot be
  had, the old connection is closed and reopened as before.
Every frame is parsed by the venue's parser at the edge; bad frames are counted and logged at a
bounded rate, never a reconnect. A dead socket is a reconnect: exponential backoff with jitter,
the first retry within ``backoff_base`` seconds, capped at ``backoff_cap``. A venue that rejects
the key or the plan stops the feed with ONE error line (``FatalFeedError``) — no reconnect storm.
Tasks are kept by reference and cancelled when the connection ends.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from ..events import Event
from .base import (AUTH_REJECTED, Backoff, EventSink, FatalFeedError, FeedStats, MessagePacer, ParseError,
                   PartialParse, RateLimitedLog, UnsupportedSymbol, VendorError)
from .registry import RegistryListener, SubscriptionRegistry

if TYPE_CHECKING:  # okx.py imports this module at its end: the name is for the checker only
    from .okx import Contract

log = logging.getLogger(__name__)

# HTTP answers to the WebSocket handshake that retrying cannot fix
FATAL_HTTP = {401: "the API key was rejected", 403: "access forbidden (key, plan or region)",
              451: "the venue refuses this region"}
SLOW_DOWN_HTTP = (418, 429)  # rate-limited or banned for a while: wait the full backoff cap

RawTap = Callable[[int, "str | bytes"], None]
MAX_HANDOVER_BUFFER = 100_000  # frames the successor may buffer before the switch (then TCP backpressure)
MAX_DEDUP_KEYS = 500_000  # bound on the overlap's de-duplication set


class NativeInstrument(Protocol):
    @property
    def symbol(self) -> str: ...  # the venue's own name for the coin: "1000PEPEUSDT", "BTC-USDT-SWAP"


class InstrumentSource(Protocol):
    """What the live feeds ask of the instrument catalog (``instruments.InstrumentCatalog``):
    native symbols per venue, Binance's funding intervals, OKX's contract sizes, and a refresh
    before each connect."""

    @property
    def timeout_s(self) -> float: ...

    @property
    def errors(self) -> Mapping[str, str]: ...  # venue -> why its list is unavailable

    async def refresh_if_due(self) -> None: ...

    def venue_available(self, venue: str) -> bool: ...

    def instrument(self, venue: str, base: str) -> NativeInstrument | None: ...

    def binance_funding_intervals(self) -> Mapping[str, float]: ...

    def okx_contracts(self) -> Mapping[str, Contract]: ...


@dataclass(eq=False)
class _Successor:
    """A connection opened to take over from an aged one (make-before-break)."""

    ws: ClientConnection
    channels: set[str]  # what it is subscribed to
    buffer: list[tuple[int, str | bytes]] = field(default_factory=list)  # (recv_ns, raw) read before the switch
    streaming: asyncio.Event = field(default_factory=asyncio.Event)  # a market frame arrived
    task: asyncio.Task[None] | None = None


def batched(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


class WebSocketFeed:
    """Base class; a venue sets the class attributes and implements the four hooks below."""

    venue = ""
    ping_payload: str | None = None  # application-level ping (None: rely on protocol pings)
    ping_when_idle = False  # ping only after ``ping_interval`` s without any frame (OKX)
    text_pong = False  # the venue answers with the TEXT frame "pong"
    library_ping = False  # let websockets send protocol-level pings (Binance)
    close_reason_can_be_fatal = False  # a close reason naming the key/plan stops the feed (CoinGlass)
    batch_size = 20  # channels per subscribe message
    overlap_handover = False  # open the successor before closing an aged connection (needs dedup_key)
    handover_timeout = 10.0  # seconds the successor may take to deliver its first market frame
    overlap_dedup_s = 5.0  # de-duplicate this long after the switch
    default_ping_interval = 20.0
    default_pong_timeout = 10.0
    default_stale_after = 60.0  # no frame at all for this long: the connection is dead, reconnect
    default_quiet_after = 60.0  # no market data for this long while subscribed: /health says "stale"
    default_messages_per_s = 5.0

    def __init__(self, url: str, registry: SubscriptionRegistry, catalog: InstrumentSource | None = None, *,
                 name: str | None = None, ping_interval: float | None = None, pong_timeout: float | None = None,
                 stale_after: float | None = None, quiet_after: float | None = None,
                 backoff_base: float = 0.5, backoff_cap: float = 30.0, stable_after: float = 30.0,
                 open_timeout: float = 10.0, close_timeout: float = 2.0, max_frame_bytes: int = 1 << 20,
                 max_age_s: float | None = None, messages_per_s: float | None = None, debounce_s: float = 0.05,
                 only_watched: bool = True, on_raw: RawTap | None = None,
                 rng: Callable[[], float] = random.random) -> None:
        self.url = url.rstrip("/")
        self.registry = registry
        self.catalog = catalog
        self.name = name or self.venue
        self.stats = FeedStats(self.name)
        self.ping_interval = self.default_ping_interval if ping_interval is None else ping_interval
        self.pong_timeout = self.default_pong_timeout if pong_timeout is None else pong_timeout
        self.stale_after = self.default_stale_after if stale_after is None else stale_after
        quiet = self.default_quiet_after if quiet_after is None else quiet_after
        self.stats.quiet_after_s = min(quiet, self.stale_after)
        self.backoff = Backoff(backoff_base, backoff_cap, rng=rng)
        self.stable_after = stable_after
        self.open_timeout = open_timeout
        self.close_timeout = close_timeout
        self.max_frame_bytes = max_frame_bytes
        self.hard_max_bytes = max_frame_bytes * 8  # beyond this websockets drops the connection (1009)
        self.max_age_s = max_age_s
        self.messages_per_s = messages_per_s or self.default_messages_per_s
        self.debounce_s = debounce_s
        self.only_watched = only_watched
        self.on_raw = on_raw
        self._warn = RateLimitedLog(log)
        self._secrets: tuple[str, ...] = ()
        self._subscribed: set[str] = set()
        self.url_channels: set[str] = set()  # channels already subscribed by the connect URL
        self._listener: RegistryListener | None = None  # while ``run`` runs
        self._pacer = MessagePacer(self.messages_per_s)  # a fresh one per connection
        self._pong = asyncio.Event()
        self._last_rx = 0.0
        self._live_since = 0.0
        self._close_reason = ""
        self._proactive = False
        self._fatal = ""
        self._msg_id = 0
        self._unlisted: set[tuple[str, str]] = set()  # (venue, coin) pairs already logged as not listed
        self._successor: _Successor | None = None
        self._seen: set[Hashable] | None = None  # dedup keys during a handover's overlap
        self._seen_until = 0.0

    # ----- venue hooks ---------------------------------------------------------------------------
    def connect_url(self) -> str:
        return self.url

    def channels(self, symbols: frozenset[str]) -> set[str]:
        raise NotImplementedError

    def subscribe_payload(self, channels: list[str], subscribe: bool) -> str:
        raise NotImplementedError

    def parse(self, msg: object, recv_ns: int) -> list[Event]:
        raise NotImplementedError

    def is_pong(self, msg: object) -> bool:
        return False

    def dedup_key(self, msg: object) -> Hashable | None:
        """Identity of a market message, the same on every connection (None: not a market
        message, or no identity). Used only during an ``overlap_handover``."""
        return None

    async def before_connect(self) -> None:
        if self.catalog is not None:
            try:
                await asyncio.wait_for(self.catalog.refresh_if_due(), self.catalog.timeout_s + 1)
            except Exception as exc:  # the catalog must never keep a feed from connecting
                self._warn.warning(f"{self.name}-catalog", "%s: instrument list refresh failed: %s", self.name, exc)

    # ----- helpers -------------------------------------------------------------------------------
    def next_id(self) -> int:
        self._msg_id += 1
        return self._msg_id

    def native(self, base: str, venue: str | None = None, guess: Callable[[str], str] | None = None) -> str | None:
        """Venue-native symbol for a coin from the catalog; a guess when the venue's list is not
        loaded (degraded mode); None when the list is loaded and the coin is not on this venue."""
        venue = venue or self.venue
        catalog = self.catalog
        if catalog is not None and catalog.venue_available(venue):
            inst = catalog.instrument(venue, base)
            if inst is not None:
                return inst.symbol
            if (venue, base) not in self._unlisted:
                self._unlisted.add((venue, base))
                log.info("%s: %s is not listed on %s; not subscribed there", self.name, base, venue)
            return None
        return (guess or self.guess_native)(base)

    def guess_native(self, base: str) -> str:
        return f"{base}USDT"

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    async def _send(self, ws: ClientConnection, payload: str) -> None:
        await self._pacer.wait()
        await ws.send(payload)

    async def _drop(self, ws: ClientConnection, reason: str, code: int = 1000) -> None:
        self._close_reason = reason
        await ws.close(code, reason[:120])

    # ----- the connection lifecycle --------------------------------------------------------------
    async def run(self, put: EventSink) -> None:
        st = self.stats
        listener = self._listener = self.registry.listen()
        try:
            while True:
                st.state = "connecting"
                try:
                    await self._session(put)
                    reason = self._close_reason or "closed by the server"
                except FatalFeedError as exc:
                    st.state, st.last_error, st.connected = "stopped", str(exc), False
                    log.error("%s feed stopped: %s", self.name, exc)
                    return
                except InvalidStatus as exc:
                    status = exc.response.status_code
                    if status in FATAL_HTTP:
                        st.state, st.connected = "stopped", False
                        st.last_error = f"HTTP {status}: {FATAL_HTTP[status]}"
                        log.error("%s feed stopped: the handshake was refused with HTTP %d (%s)",
                                  self.name, status, FATAL_HTTP[status])
                        return
                    reason = f"handshake refused with HTTP {status}"
                    if status in SLOW_DOWN_HTTP:
                        self.backoff.attempt = 64  # straight to the cap
                except InvalidURI as exc:
                    st.state, st.connected, st.last_error = "stopped", False, self._redact(f"invalid URL: {exc}")
                    log.error("%s feed stopped: %s", self.name, st.last_error)
                    return
                except ConnectionClosed as exc:
                    if exc.sent is not None and exc.sent.code == 1009:
                        st.oversized += 1
                    reason = self._close_reason or f"connection closed: {exc}"
                except (OSError, TimeoutError, InvalidHandshake) as exc:
                    reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a bug here must neither kill the feed nor spin
                    log.exception("%s: unexpected error in the connection loop", self.name)
                    reason = f"unexpected {type(exc).__name__}"
                st.connected = False
                st.subscriptions = 0
                lived = time.monotonic() - self._live_since if self._live_since else 0.0
                if self._proactive or lived >= self.stable_after:
                    self.backoff.reset()
                delay = 0.0 if self._proactive or self._successor is not None else self.backoff.next_delay()
                st.reconnects += 1
                st.state = "backoff"
                st.last_error = reason = self._redact(reason)
                self._warn.warning(f"{self.name}-reconnect", "%s: %s; reconnecting in %.2f s", self.name, reason, delay)
                await asyncio.sleep(delay)
        finally:
            listener.close()
            self._listener = None
            succ, self._successor = self._successor, None
            if succ is not None:
                await self._discard(succ)
            st.connected = False
            if st.state != "stopped":
                st.state = "idle"

    def _connect(self, url: str) -> connect:
        lib_ping = self.ping_interval if self.library_ping and self.ping_interval else None
        return connect(url, open_timeout=self.open_timeout, close_timeout=self.close_timeout,
                       max_size=self.hard_max_bytes, ping_interval=lib_ping,
                       ping_timeout=self.pong_timeout if lib_ping else None, user_agent_header="teleglas")

    async def _session(self, put: EventSink) -> None:
        self._close_reason = ""
        self._proactive = False
        self._live_since = 0.0
        succ, self._successor = self._successor, None
        opener: connect | ClientConnection
        if succ is None:
            await self.before_connect()
            opener = self._connect(self.connect_url())
        else:
            opener = succ.ws  # already open, subscribed and streaming (make-before-break)
        async with opener as ws:
            st = self.stats
            self._live_since = self._last_rx = time.monotonic()
            st.live_since_ns = time.time_ns()
            self._pacer = MessagePacer(self.messages_per_s)
            self._subscribed = set(succ.channels) if succ else set(self.url_channels)
            self._pong = asyncio.Event()
            st.connected, st.state = True, "live"
            st.subscriptions = len(self._subscribed)
            if succ is None:
                log.info("%s connected", self.name)
            tasks = [asyncio.create_task(self._subscription_loop(ws), name=f"{self.name}:subscribe"),
                     asyncio.create_task(self._watchdog(ws), name=f"{self.name}:watchdog")]
            if self.ping_payload and self.ping_interval:
                tasks.append(asyncio.create_task(self._heartbeat(ws, self.ping_payload), name=f"{self.name}:heartbeat"))
            try:
                if succ is not None:
                    await self._take_over(succ, put)
                async for raw in ws:
                    events = self._on_frame(raw)
                    if self._fatal:
                        raise FatalFeedError(self._fatal)
                    if events:
                        await put(events)
            except ConnectionClosed as exc:
                self._check_fatal_close(exc.rcvd.code if exc.rcvd else None, exc.rcvd.reason if exc.rcvd else "")
                raise
            finally:
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                st.connected = False
            self._check_fatal_close(ws.close_code, ws.close_reason or "")

    def _check_fatal_close(self, code: int | None, reason: str) -> None:
        # only a venue that reports key/plan problems in its close reason (CoinGlass) opts in: a
        # maintenance close on any other venue must never stop the feed for good
        if (self.close_reason_can_be_fatal and reason and code not in (1000, 1001)
                and AUTH_REJECTED.search(reason)):
            raise FatalFeedError(f"the venue closed the connection: {code} {reason[:200]}")

    async def _take_over(self, succ: _Successor, put: EventSink) -> None:
        """Switch to the successor: stop its reader, then play what it buffered (duplicates of
        what the old connection delivered are dropped by the overlap's dedup set)."""
        if succ.task is not None:
            succ.task.cancel()  # cancelling recv() loses nothing (websockets guarantees it)
            await asyncio.gather(succ.task, return_exceptions=True)
        self._seen_until = time.monotonic() + self.overlap_dedup_s
        self.stats.handovers += 1
        log.info("%s: switched to the new connection (%d frames buffered during the overlap)",
                 self.name, len(succ.buffer))
        buffered, succ.buffer = succ.buffer, []
        for recv_ns, raw in buffered:
            events = self._on_frame(raw, recv_ns)
            if self._fatal:
                raise FatalFeedError(self._fatal)
            if events:
                await put(events)

    def _on_frame(self, raw: str | bytes, recv_ns: int | None = None) -> list[Event] | None:
        recv_ns = recv_ns or time.time_ns()
        st = self.stats
        st.frames += 1
        st.last_msg_ns = recv_ns
        self._last_rx = time.monotonic()
        if len(raw) > self.max_frame_bytes:
            st.oversized += 1
            self._warn.warning(f"{self.name}-oversized", "%s: %d-byte frame over the %d-byte limit skipped",
                               self.name, len(raw), self.max_frame_bytes)
            return None
        if self.text_pong and (raw == "pong" or raw == b"pong"):
            self._pong.set()
            st.ignored += 1
            return None
        try:
            msg = orjson.loads(raw)
        except orjson.JSONDecodeError:
            if self.on_raw is not None:
                self.on_raw(recv_ns, raw)
            st.parse_errors += 1
            self._warn.warning(f"{self.name}-parse", "%s: frame is not JSON: %.80r", self.name, raw)
            return None
        if self._seen is not None and self._duplicate(msg):
            st.duplicates += 1
            return None
        if self.on_raw is not None:
            self.on_raw(recv_ns, raw)
        if self.is_pong(msg):
            self._pong.set()
        try:
            events = self.parse(msg, recv_ns)
        except PartialParse as exc:
            st.parse_errors += 1
            st.skipped_unknown += exc.unknown
            self._warn.warning(f"{self.name}-parse", "%s: %s", self.name, exc)
            events = exc.events
        except UnsupportedSymbol as exc:  # e.g. OKX before its contract list: not a parse error
            st.skipped_unknown += exc.skipped
            self._warn.warning(f"{self.name}-unknown", "%s: skipped: %s", self.name, exc)
            events = exc.events
        except VendorError as exc:
            st.vendor_errors += 1
            st.last_error = str(exc)
            if exc.fatal:
                self._fatal = str(exc)
            else:
                self._warn.warning(f"{self.name}-vendor", "%s: %s", self.name, exc)
            return None
        except ParseError as exc:
            st.parse_errors += 1
            self._warn.warning(f"{self.name}-parse:{type(exc).__name__}", "%s: frame skipped: %s", self.name, exc)
            return None
        except Exception as exc:  # a parser bug: count it, keep the feed alive
            st.parse_errors += 1
            self._warn.warning(f"{self.name}-bug", "%s: parser failed on a frame (%s: %s)", self.name,
                               type(exc).__name__, exc)
            return None
        if not events:
            st.ignored += 1
            return None
        st.last_data_ns = recv_ns  # market data (watched or not): what /health's "stale" looks at
        if self.only_watched:
            watched = self.registry.symbols
            kept = [ev for ev in events if ev.symbol in watched]
            st.filtered += len(events) - len(kept)
            if not kept:
                return None
            events = kept
        st.events += len(events)
        st.observe_lag(recv_ns, events[-1].ts)
        return events

    def _duplicate(self, msg: object) -> bool:
        """During a handover's overlap: was this market message already delivered?"""
        seen = self._seen
        if seen is None:
            return False
        if time.monotonic() > self._seen_until:
            self._seen = None  # overlap over: back to zero cost per frame
            return False
        key = self.dedup_key(msg)
        if key is None:
            return False
        if key in seen:
            return True
        if len(seen) < MAX_DEDUP_KEYS:
            seen.add(key)
        return False

    # ----- make-before-break handover ------------------------------------------------------------
    async def _open_successor(self) -> _Successor | None:
        """Open, subscribe and wait for the first market frame on a new connection while the old
        one keeps delivering. None (and nothing left open) when that cannot be done."""
        self._seen, self._seen_until = set(), math.inf  # record what the old connection delivers
        succ: _Successor | None = None
        try:
            await self.before_connect()
            url = self.connect_url()
            ws = await self._connect(url)
            succ = _Successor(ws, set(self.url_channels))
            succ.task = asyncio.create_task(self._prefetch(succ), name=f"{self.name}:successor")
            pacer = MessagePacer(self.messages_per_s)
            for batch in batched(sorted(self.channels(self.registry.symbols) - succ.channels), self.batch_size):
                await pacer.wait()
                await ws.send(self.subscribe_payload(batch, True))
                succ.channels.update(batch)
            waiter = asyncio.ensure_future(succ.streaming.wait())
            try:  # the first market frame, or the successor's reader ending (closed), or the timeout
                await asyncio.wait({waiter, succ.task}, timeout=self.handover_timeout,
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
            if not succ.streaming.is_set():
                raise TimeoutError(f"no market frame on the new connection within {self.handover_timeout:g} s")
            if succ.task.done() and len(succ.buffer) < MAX_HANDOVER_BUFFER:
                raise ConnectionError("the new connection closed before the switch")
            return succ
        except asyncio.CancelledError:
            await self._discard(succ)
            self._seen = None
            raise
        except Exception as exc:  # noqa: BLE001 — any failure: fall back to close-and-reopen
            await self._discard(succ)
            self._seen = None
            reason = self._redact(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
            self._warn.warning(f"{self.name}-handover", "%s: could not open the successor connection (%s); "
                               "reconnecting the plain way", self.name, reason)
            return None

    async def _prefetch(self, succ: _Successor) -> None:
        """Read the successor until the switch (bounded buffer; beyond it TCP pushes back)."""
        ws = succ.ws
        with contextlib.suppress(ConnectionClosed):
            while len(succ.buffer) < MAX_HANDOVER_BUFFER:
                raw = await ws.recv()
                succ.buffer.append((time.time_ns(), raw))
                if not succ.streaming.is_set():
                    with contextlib.suppress(orjson.JSONDecodeError):
                        if self.dedup_key(orjson.loads(raw)) is not None:
                            succ.streaming.set()

    async def _discard(self, succ: _Successor | None) -> None:
        if succ is None:
            return
        if succ.task is not None:
            succ.task.cancel()
            await asyncio.gather(succ.task, return_exceptions=True)
        with contextlib.suppress(Exception):
            await succ.ws.close()

    async def _subscription_loop(self, ws: ClientConnection) -> None:
        listener = self._listener
        assert listener is not None, "the subscription loop runs inside run()"
        try:
            while True:
                await self._sync(ws)
                await listener.wait()
                if self.debounce_s:
                    await asyncio.sleep(self.debounce_s)  # coalesce a burst of /add into few messages
        except ConnectionClosed:
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s: subscription update failed", self.name)
            await self._drop(ws, "subscription update failed", 1011)

    async def _sync(self, ws: ClientConnection) -> None:
        desired = self.channels(self.registry.symbols)
        remove = sorted(self._subscribed - desired)
        add = sorted(desired - self._subscribed)
        for batch in batched(remove, self.batch_size):
            await self._send(ws, self.subscribe_payload(batch, False))
            self._subscribed.difference_update(batch)
            self.stats.subscriptions = len(self._subscribed)
        for batch in batched(add, self.batch_size):
            await self._send(ws, self.subscribe_payload(batch, True))
            self._subscribed.update(batch)
            self.stats.subscriptions = len(self._subscribed)
        if add or remove:
            log.info("%s: subscribed %d channels (+%d, -%d)", self.name, len(self._subscribed), len(add), len(remove))

    async def _watchdog(self, ws: ClientConnection) -> None:
        period = max(0.01, min(1.0, self.stale_after / 4))
        while True:
            await asyncio.sleep(period)
            now = time.monotonic()
            if now - self._last_rx > self.stale_after:
                self.stats.stale += 1
                self._warn.warning(f"{self.name}-stale", "%s: no frame for %.1f s: connection treated as dead",
                                   self.name, now - self._last_rx)
                await self._drop(ws, f"silent for {self.stale_after:g} s", 1011)
                return
            if self.max_age_s and now - self._live_since > self.max_age_s:
                self._proactive = True
                log.info("%s: connection is %.1f h old: reconnecting before the venue cuts it",
                         self.name, (now - self._live_since) / 3600)
                if self.overlap_handover:
                    self._successor = await self._open_successor()
                    if self._successor is not None:
                        await self._drop(ws, "handover to a new connection before the venue's connection age limit")
                        return
                await self._drop(ws, "proactive reconnect before the venue's connection age limit")
                return

    async def _heartbeat(self, ws: ClientConnection, payload: str) -> None:
        interval = self.ping_interval
        while True:
            if self.ping_when_idle:
                idle = time.monotonic() - self._last_rx
                if idle < interval:
                    await asyncio.sleep(interval - idle)
                    continue
            else:
                await asyncio.sleep(interval)
            self._pong.clear()
            await self._send(ws, payload)
            try:
                await asyncio.wait_for(self._pong.wait(), self.pong_timeout)
            except TimeoutError:
                self.stats.stale += 1
                self._warn.warning(f"{self.name}-pong", "%s: no pong within %.1f s: connection treated as dead",
                                   self.name, self.pong_timeout)
                await self._drop(ws, f"no pong within {self.pong_timeout:g} s", 1011)
                return
