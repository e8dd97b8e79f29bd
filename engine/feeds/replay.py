"""Replay recordings: one frame per line, ``<receive_time> <raw frame>``, gzip or plain.

The receive time is epoch ns (``teleglas record``, shared/data/real/btcusdt_20240808.gz) or
epoch µs (btcusdt_20230405.dat.gz); the unit is detected per line from its magnitude. Each
frame is decoded once and routed to the venue parser its shape belongs to, so one file may mix
venues (``teleglas record`` writes every configured source into one file).
"""
from __future__ import annotations

import asyncio
import gzip
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from io import BufferedIOBase
from pathlib import Path

import orjson

from ..events import Event
from . import binance, bybit, coinglass, okx
from .base import EventSink, FeedStats, Parser, ParseError, PartialParse, PlayedFeed, RateLimitedLog, UnsupportedSymbol

log = logging.getLogger(__name__)

# Parser factories by venue: each returns a callable ``(decoded message, recv_ns) -> events``.
# Bybit (ticker deltas) and OKX (contract sizes) parsers keep state, so every replay builds fresh
# ones with ``new_parsers()``; ``PARSERS`` holds one shared instance per venue for quick use.
PARSER_FACTORIES: dict[str, Callable[[], Parser]] = {
    "binance": lambda: binance.parse_message,
    "bybit": bybit.BybitParser,
    "okx": okx.OkxParser,
    "coinglass": lambda: coinglass.parse_message,
}
PARSERS: dict[str, Parser] = {venue: make() for venue, make in PARSER_FACTORIES.items()}


def new_parsers() -> dict[str, Parser]:
    return {venue: make() for venue, make in PARSER_FACTORIES.items()}


def detect_venue(msg: object) -> str:
    if isinstance(msg, dict):
        if ("stream" in msg or "e" in msg or "lastUpdateId" in msg or ("result" in msg and "id" in msg)
                or ("id" in msg and "code" in msg)):
            return "binance"
        if "topic" in msg or "op" in msg:
            return "bybit"
        if "arg" in msg or "event" in msg:
            return "okx"
        if "channel" in msg:
            return "coinglass"
    raise ParseError("cannot tell which venue this frame is from")


def to_ns(stamp: int) -> int:
    """Epoch ns from an epoch timestamp in s, ms, µs or ns (by magnitude)."""
    if stamp >= 10**17:
        return stamp
    if stamp >= 10**14:
        return stamp * 1_000
    if stamp >= 10**11:
        return stamp * 1_000_000
    return stamp * 1_000_000_000


def open_recording(path: str | Path) -> BufferedIOBase:
    path = Path(path)
    with path.open("rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rb")
    return path.open("rb")


READ_CHUNK = 1 << 20  # bytes read (after gunzip) per step: lines are split in C, not one readline each


def read_lines(path: str | Path) -> Iterator[list[bytes]]:
    """Blocks of raw lines as read (no newline; not stripped, blank ones included)."""
    with open_recording(path) as fh:
        read = fh.read
        tail = b""
        while True:
            chunk = read(READ_CHUNK)
            if not chunk:
                break
            lines = (tail + chunk).split(b"\n")
            tail = lines.pop()
            yield lines
        if tail:
            yield [tail]


def read_frames(path: str | Path) -> Iterator[bytes]:
    """Non-empty, stripped lines. A line without a timestamp raises ParseError lazily through
    ``parse_line`` — this iterator yields raw lines only."""
    for block in read_lines(path):
        for line in block:
            line = line.strip()
            if line:
                yield line


def parse_line(line: bytes) -> tuple[int, bytes]:
    stamp, sep, frame = line.partition(b" ")
    if not sep or not stamp.isdigit():
        raise ParseError("line is not '<receive_time> <frame>'")
    return to_ns(int(stamp)), frame


_BINANCE_PREFIX = b'{"stream":'  # a combined-stream frame: Binance, whatever its content


class ReplayFeed(PlayedFeed):
    """Plays a recording through the venue parsers. ``speed`` 0 = as fast as possible, 1 = real time.

    ``run`` gives the event loop a turn at least every ``yield_every`` frames whether or not they
    produced events (a depth/bookTicker stretch of the tape produces none), and when paced it hands
    ``put`` one batch per moment: events due at the same time go together, at most ``batch``."""

    def __init__(self, path: str | Path, *, speed: float = 0.0, batch: int = 512, yield_every: int = 256,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.path = Path(path)
        self.speed = speed
        self.clock = clock  # pacing (speed > 0) reads this clock and waits with ``sleep``: tests inject both
        self.sleep = sleep
        self.batch = batch
        self.yield_every = max(1, yield_every)
        self.name = f"replay:{self.path.name}"
        self.stats = FeedStats(self.name)
        self._warn = RateLimitedLog(log)
        self._parsers = new_parsers()

    def events(self) -> Iterator[list[Event]]:
        """Batches of events, parsed from the file in order (no pacing)."""
        for chunk in self._chunks():
            if chunk:
                yield chunk

    def _chunks(self) -> Iterator[list[Event] | None]:
        """Batches of events, and ``None`` after every ``yield_every`` frames without a batch:
        the point where an async consumer should let the loop breathe.

        The lean path: lines split in blocks, the receive-time unit decided by magnitude with one
        comparison for the common ns stamps, Binance combined-stream frames routed by their first
        bytes (other venues by their keys), counters kept in locals and the feed's ``stats``
        (frames, events, lag, last message) brought up to date at every yield."""
        stats = self.stats
        loads = orjson.loads
        parsers = self._parsers
        binance_parse = parsers["binance"]
        prefix = _BINANCE_PREFIX
        batch: list[Event] = []
        size = self.batch
        every = self.yield_every
        since = 0
        frames = stats.frames
        n_events = stats.events
        ignored = stats.ignored
        last: Event | None = None
        last_recv = 0

        def sync() -> None:
            nonlocal last
            stats.frames, stats.events, stats.ignored = frames, n_events, ignored
            if last is not None:  # lag observed per batch, from its last event
                stats.last_msg_ns = last_recv
                stats.observe_lag(last_recv, last.ts)
                last = None

        for block in read_lines(self.path):
            for line in block:
                stamp, sep, frame = line.partition(b" ")
                if not stamp.isdigit():
                    line = line.strip()
                    if not line:
                        continue  # a blank line is no frame
                    stamp, sep, frame = line.partition(b" ")
                frames += 1
                since += 1
                if since >= every:
                    since = 0
                    sync()
                    yield None
                try:
                    if not sep or not stamp.isdigit():
                        raise ParseError("line is not '<receive_time> <frame>'")
                    recv_ns = int(stamp)
                    if recv_ns < 10**17:
                        recv_ns = to_ns(recv_ns)
                    msg = loads(frame)
                    if frame.startswith(prefix):
                        events = binance_parse(msg, recv_ns)
                    else:
                        parser = parsers.get(detect_venue(msg))
                        if parser is None:
                            raise ParseError("no parser for this venue yet")
                        events = parser(msg, recv_ns)
                except PartialParse as exc:
                    stats.parse_errors += 1
                    stats.skipped_unknown += exc.unknown
                    self._warn.warning("replay-parse", "%s line %d partly skipped: %s", self.path.name, frames, exc)
                    events = exc.events
                except UnsupportedSymbol as exc:  # OKX frames before the recording's instruments frame
                    stats.skipped_unknown += exc.skipped
                    self._warn.warning("replay-unknown", "%s line %d: skipped: %s", self.path.name, frames, exc)
                    events = exc.events
                except (ParseError, orjson.JSONDecodeError) as exc:
                    stats.parse_errors += 1
                    self._warn.warning("replay-parse", "%s line %d skipped: %s", self.path.name, frames, exc)
                    continue
                if not events:
                    ignored += 1
                    continue
                n_events += len(events)
                last_recv = recv_ns
                if len(events) == 1:
                    last = events[0]
                    batch.append(last)
                else:
                    last = events[-1]
                    batch.extend(events)
                if len(batch) >= size:
                    since = 0
                    sync()
                    yield batch
                    batch = []
        sync()
        if batch:
            yield batch

    def not_a_recording(self) -> str | None:
        """After a run: why the file is not a recording in the replay format (every line failed
        to parse, none gave an event), or None. A CSV or a JSON dump replays to "0 signals"
        otherwise, which reads like a quiet market."""
        st = self.stats
        if st.frames and st.events == 0 and st.parse_errors >= st.frames:
            return (f"{self.path}: none of its {st.frames:,} lines is a recorded frame "
                    "('<receive_time> <raw venue frame>', as `teleglas record` writes)")
        return None

    async def _play(self, put: EventSink) -> None:
        """Play the file into ``put`` (``run``, shared with the simulator, keeps ``stats.state``)."""
        if self.speed <= 0:
            for chunk in self._chunks():
                if chunk:
                    await put(chunk)
                await asyncio.sleep(0)  # let the consumer and the rest of the loop breathe
            return
        t0_wall = self.clock()
        t0_rec: int | None = None
        pending: list[Event] = []
        for chunk in self._chunks():
            if chunk is None:
                if pending:
                    await put(pending)
                    pending = []
                await asyncio.sleep(0)
                continue
            for ev in chunk:
                if t0_rec is None:
                    t0_rec = ev.recv_ns
                delay = t0_wall + (ev.recv_ns - t0_rec) / 1e9 / self.speed - self.clock()
                if delay > 0.005:
                    if pending:
                        await put(pending)  # everything due before this event, in one batch
                        pending = []
                    await self.sleep(delay)
                pending.append(ev)
                if len(pending) >= self.batch:
                    await put(pending)
                    pending = []
            if pending:  # due now: the next chunk may take a while to read
                await put(pending)
                pending = []
            await asyncio.sleep(0)
