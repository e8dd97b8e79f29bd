"""The engine loop: events -> per-symbol market state -> detectors -> signal engine -> AlertSink.

``Engine.process`` is synchronous and cheap (O(1) amortised per event); ``run_feeds`` is the
asyncio shell that drains feeds through ONE bounded queue into it.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from .detectors import CascadeDetector
from .events import Event, Funding, Liquidation, MarkOI, Trade
from .signals import Finding, Signal, SignalEngine
from .state import SymbolState
from .thresholds import ThresholdBook

log = logging.getLogger(__name__)


@dataclass(slots=True)
class EngineStats:
    events: int = 0
    trades: int = 0
    liquidations: int = 0
    fundings: int = 0
    marks: int = 0
    findings: int = 0
    rejected: int = 0  # events with impossible values (zero/negative price, NaN)
    started_ns: int = field(default_factory=time.monotonic_ns)


class Engine:
    def __init__(self, signals: SignalEngine, thresholds: ThresholdBook | None = None) -> None:
        self.signals = signals
        self.thresholds = thresholds or ThresholdBook()
        self.states: dict[str, SymbolState] = {}
        self.cascade = CascadeDetector()
        self.stats = EngineStats()

    def state(self, symbol: str) -> SymbolState:
        st = self.states.get(symbol)
        if st is None:
            th = self.thresholds.for_symbol(symbol)
            st = self.states[symbol] = SymbolState(symbol, cascade_window_ms=int(th.cascade_window_s * 1000))
        return st

    def _finding(self, finding: Finding | None) -> Signal | None:
        if finding is None:
            return None
        self.stats.findings += 1
        return self.signals.submit(finding)

    def process(self, ev: Event) -> None:
        stats = self.stats
        stats.events += 1
        cls = type(ev)
        if cls is Trade:
            if not ev.price > 0 or not ev.notional > 0:  # also false for NaN
                stats.rejected += 1
                return
            stats.trades += 1
            self.state(ev.symbol).on_trade(ev)
        elif cls is Liquidation:
            if not ev.price > 0 or not ev.notional > 0:
                stats.rejected += 1
                return
            stats.liquidations += 1
            st = self.state(ev.symbol)
            st.on_liquidation(ev)
            self._finding(self.cascade.on_liquidation(st, ev, self.thresholds.for_symbol(ev.symbol)))
        elif cls is Funding:
            stats.fundings += 1
            self.state(ev.symbol).on_funding(ev)
        elif cls is MarkOI:
            stats.marks += 1
            self.state(ev.symbol).on_mark(ev)

    def process_many(self, events: Iterable[Event]) -> None:
        process = self.process
        for ev in events:
            process(ev)


async def run_feeds(engine: Engine, feeds: list, *, queue_size: int = 1024) -> None:
    """Run every feed as its own task; their event batches meet in one bounded queue.

    A feed is any object with ``name`` and ``async run(put)`` where ``put`` is an async callable
    taking a list of events. Returns when every feed has finished (replay/simulator) or on cancel.
    """
    queue: asyncio.Queue[list[Event] | None] = asyncio.Queue(maxsize=queue_size)

    async def drive(feed) -> None:
        try:
            await feed.run(queue.put)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("feed %s stopped with an error", feed.name)
        await queue.put(None)  # end-of-feed marker (not reached when cancelled)

    tasks = [asyncio.create_task(drive(feed), name=f"feed:{feed.name}") for feed in feeds]
    remaining = len(tasks)
    try:
        while remaining:
            batch = await queue.get()
            if batch is None:
                remaining -= 1
                continue
            engine.process_many(batch)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
