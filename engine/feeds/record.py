"""``teleglas record``: raw frames from the configured live sources, in the replay format.

One line per frame: ``<receive_time_ns> <raw frame>`` — the layout of shared/data/real and of
``teleglas replay``. Gzip when the file name ends in ``.gz``. Heartbeat replies (``pong``) are not
recorded; subscription acks are (replay ignores them). OKX's ``instruments`` channel is part of
the subscription, so a recording carries the contract sizes its OKX frames need.
The command line (``bot/cli.py``) checks the arguments, prints, and calls ``record``.
"""
from __future__ import annotations

import asyncio
import gzip
from collections.abc import Iterable
from io import BufferedIOBase
from pathlib import Path
from typing import Any, TypedDict

from ..events import Event
from .instruments import InstrumentCatalog
from .live import LIVE_SOURCES, FeedConfigError, FeedSettings, build_live_feeds
from .registry import SubscriptionRegistry
from .ws import InstrumentSource

DEFAULT_SYMBOLS = ("BTC", "ETH")


class RecordResult(TypedDict):
    frames: int  # lines written
    feeds: dict[str, dict[str, Any]]  # feed name -> its stats snapshot (``FeedStats.snapshot()``)


def recorded_sources(settings: FeedSettings) -> list[str]:
    """The live sources of MARKET_SOURCES (what ``record`` records); FeedConfigError when there
    is none."""
    sources = [s for s in settings.MARKET_SOURCES if s in LIVE_SOURCES]
    if not sources:
        raise FeedConfigError(f"MARKET_SOURCES: record needs at least one live source ({', '.join(LIVE_SOURCES)}); "
                              "simulator and replay: sources are not recorded")
    return sources


class FrameWriter:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        gz = self.path.name.endswith(".gz")
        self._fh: BufferedIOBase = gzip.open(self.path, "wb") if gz else self.path.open("wb")
        self.frames = 0

    def write(self, recv_ns: int, raw: str | bytes) -> None:
        if isinstance(raw, str):
            raw = raw.encode()
        if b"\n" in raw or b"\r" in raw:  # one frame per line; JSON allows no raw newline inside strings
            raw = raw.replace(b"\r", b" ").replace(b"\n", b" ")
        self._fh.write(b"%d %s\n" % (recv_ns, raw))
        self.frames += 1

    def close(self) -> None:
        self._fh.close()


async def record(settings: FeedSettings, out: str | Path, *, duration: float | None = None,
                 symbols: Iterable[str] = DEFAULT_SYMBOLS, catalog: InstrumentSource | None = None,
                 **feed_overrides: Any) -> RecordResult:
    """Record until ``duration`` seconds have passed (None: until cancelled) or every feed stopped.

    Without ``catalog`` the venues' instrument lists are loaded first. Raises FeedConfigError
    when the settings name no live source or a feed cannot be built, ValueError for a symbol that
    is no coin — before any venue is contacted and before the file is created."""
    recorded_sources(settings)
    registry = SubscriptionRegistry(symbols)
    own_catalog = InstrumentCatalog.from_settings(settings) if catalog is None else None
    writer: FrameWriter | None = None

    def tap(recv_ns: int, raw: str | bytes) -> None:
        assert writer is not None  # the feeds run only once the file is open
        writer.write(recv_ns, raw)

    feeds = build_live_feeds(settings, registry, catalog if catalog is not None else own_catalog, live_only=True,
                             on_raw=tap, **feed_overrides)
    if own_catalog is not None:
        await own_catalog.load()
    writer = FrameWriter(out)
    try:
        async def discard(events: list[Event]) -> None:  # parsed only to count events and errors
            return None

        tasks = [asyncio.create_task(feed.run(discard), name=f"record:{feed.name}") for feed in feeds]
        try:
            await asyncio.wait(tasks, timeout=duration)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        writer.close()
    return {"frames": writer.frames, "feeds": {f.name: f.stats.snapshot() for f in feeds}}
