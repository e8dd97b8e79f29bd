"""``teleglas record``: raw frames from the configured live sources, in the replay format.

One line per frame: ``<receive_time_ns> <raw frame>`` — the layout of shared/data/real and of
``teleglas replay``. Gzip when the file name ends in ``.gz``. Heartbeat replies (``pong``) are not
recorded; subscription acks are (replay ignores them). OKX's ``instruments`` channel is part of
the subscription, so a recording carries the contract sizes its OKX frames need.
"""
from __future__ import annotations

import asyncio
import gzip
import logging
import sys
import time
from pathlib import Path

from .instruments import InstrumentCatalog
from .live import FeedConfigError, build_live_feeds
from .registry import SubscriptionRegistry

log = logging.getLogger(__name__)
DEFAULT_SYMBOLS = ("BTC", "ETH")
LIVE_SOURCES = ("binance", "bybit", "okx", "coinglass")


class FrameWriter:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fh = gzip.open(self.path, "wb") if self.path.name.endswith(".gz") else self.path.open("wb")
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


async def record(settings, out: str | Path, *, duration: float | None = None, symbols=DEFAULT_SYMBOLS,
                 catalog: InstrumentCatalog | None = None, **feed_overrides) -> dict:
    """Record until ``duration`` seconds have passed (None: until cancelled) or every feed stopped.
    Returns {"frames": n, "feeds": {name: stats snapshot}}."""
    registry = SubscriptionRegistry(symbols)
    load = catalog is None
    if load:
        catalog = InstrumentCatalog.from_settings(settings)
    writer: FrameWriter | None = None

    def tap(recv_ns: int, raw) -> None:
        writer.write(recv_ns, raw)

    # the sources are judged first: with no live one, nothing is contacted and no file is written
    feeds = build_live_feeds(settings, registry, catalog, live_only=True, on_raw=tap, **feed_overrides)
    if not feeds:
        raise FeedConfigError("MARKET_SOURCES: record needs at least one live source "
                              "(binance, bybit, okx, coinglass)")
    if load:
        await catalog.load()
    writer = FrameWriter(out)
    try:
        async def discard(events: list) -> None:  # parsed only to count events and errors
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


async def record_command(settings, out: str, duration: float | None, symbols_text: str) -> int:
    """The CLI entry: prints one summary line per feed. Exit 0, or 2 for a usage/config error."""
    symbols = [s for s in (p.strip() for p in symbols_text.split(",")) if s]
    try:
        registry_check = SubscriptionRegistry(symbols)
    except ValueError as exc:
        print(f"teleglas record: --symbols: {exc}", file=sys.stderr)
        return 2
    if duration is not None and duration <= 0:
        print("teleglas record: --duration must be positive", file=sys.stderr)
        return 2
    if not Path(out).resolve().parent.is_dir():
        print(f"teleglas record: --out {out}: directory does not exist", file=sys.stderr)
        return 2
    if not any(source in LIVE_SOURCES for source in settings.MARKET_SOURCES):
        print("teleglas record: MARKET_SOURCES: record needs at least one live source "
              f"({', '.join(LIVE_SOURCES)}); simulator and replay: sources are not recorded", file=sys.stderr)
        return 2
    print(f"recording {', '.join(sorted(registry_check.symbols))} from "
          f"{', '.join(s for s in settings.MARKET_SOURCES if ':' not in s)} to {out}"
          + (f" for {duration:g} s" if duration else " until Ctrl-C"), flush=True)
    t0 = time.monotonic()
    try:
        result = await record(settings, out, duration=duration, symbols=registry_check.symbols)
    except FeedConfigError as exc:
        print(f"teleglas record: {exc}", file=sys.stderr)
        return 2
    print(f"{result['frames']:,} frames written in {time.monotonic() - t0:.1f} s")
    for name, st in result["feeds"].items():
        print(f"  {name:<10} frames {st['frames']:,} · events {st['events']:,} · parse errors {st['parse_errors']:,} · "
              f"vendor errors {st['vendor_errors']:,} · reconnects {st['reconnects']:,} · state {st['state']}"
              + (f" · {st['last_error']}" if st["last_error"] else ""))
    return 0
