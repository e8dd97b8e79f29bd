"""Live outcomes: the engine's ``OutcomeTracker`` hooked into the service and persisted.

    recorder = OutcomeRecorder(db, calibration=load_calibration(settings.CALIBRATION_PATH))
    await recorder.resume()                        # open outcomes stored before a restart
    engine = Engine(SignalEngine(recorder.sink(delivery.sink)))
    engine.on_trade = recorder.tracker.on_trade
    recorder.replies = delivery.accept_outcome     # final stop hunts: a reply in the alert's thread
    await recorder.resume_replies()                # replies a crash left unqueued
    recorder.start()
    ...
    await recorder.stop()                          # writes every open outcome's state

The tracker is synchronous and runs inside ``Engine.process``; it only marks outcomes dirty.
A writer task stores dirty outcomes (milestones within ``write_delay_s``) and, every
``checkpoint_s``, the state of every open one (excursions move on every bar; a restart loses at
most one checkpoint of them, and the trades while the service was down are never seen —
``details.state.resumed`` counts such restarts). The dirty set is bounded by ``max_dirty``.

Alerts close the loop: once a stop hunt's outcome is final AND stored, ``replies(outcome)``
(``Delivery.accept_outcome``) queues the silent reply in the alert's thread for the users who
got it. Durably: the final outcome is stored with ``reply_pending`` = 1 in its own transaction,
and the flag is cleared only once the replies are in the outbox. A reply that cannot be queued
(storage error) is tried again at the next write (at most ``max_replies`` wait in memory); a
crash between the outcome's write and its replies' leaves the flag set, and the next start
(``resume_replies``, after ``replies`` is hooked) queues them. The outbox's UNIQUE(user, signal)
makes any repeat harmless, so each recipient gets the reply once. A reply whose result was
decided more than ``max_reply_age_s`` before that restart (default 1 h, the outcome-reply
retry budget) is worthless by then: given up with a WARNING and counted (``replies_stale``).
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import orjson

from bot.errors import StartupError
from engine.backtest import Calibration
from engine.outcomes import Outcome, OutcomeTracker
from engine.signals import AlertSink, Signal
from storage import Database, OutcomeRepo, OutcomeWrite

log = logging.getLogger(__name__)


def load_calibration(path: str) -> Calibration | None:
    """The calibration file named by CALIBRATION_PATH (None when empty); a file that cannot be
    used stops start-up with one line naming it (exit 2)."""
    if not path:
        return None
    try:
        return Calibration.load(path)
    except ValueError as e:
        raise StartupError(f"CALIBRATION_PATH: {e}", 2) from None


def label_signal(signal: Signal, calibration: Calibration | None) -> None:
    """Attach the observed hit rate of similar past signals (``extra['calibrated']``) when the
    calibration for its kind is strong enough; otherwise the score stays a score."""
    if calibration is None or signal.edits:
        return
    found = calibration.lookup(signal.kind.value, signal.confidence)
    if found is not None:
        signal.extra["calibrated"] = {"n": found.n, "rate": found.rate, "kind_n": found.kind_n}


class _TeeSink:
    def __init__(self, recorder: OutcomeRecorder, inner: AlertSink) -> None:
        self._recorder = recorder
        self._inner = inner

    def emit(self, signal: Signal) -> None:
        label_signal(signal, self._recorder.calibration)
        self._recorder.tracker.on_signal(signal)
        self._inner.emit(signal)


def wants_reply(o: Outcome) -> bool:
    """A final stop hunt (levels): its recipients get a reply in the alert's thread."""
    return o.final and o.has_levels


def outcome_write(o: Outcome, *, reply: bool = False) -> OutcomeWrite:
    """The row for ``o``; ``reply``: final, and its thread replies are still to be queued."""
    s = o.signal
    return OutcomeWrite(
        signal_id=s.id, kind=s.kind.value, symbol=s.symbol, direction=s.direction.value,
        tier=s.tier.value, confidence=s.confidence, ts_event=s.ts, recv_ns=s.recv_ns or None,
        signal_ns=s.signal_ns or None, signal_payload=orjson.dumps(s.to_dict(), default=str),
        result=o.result.value, final=o.final, hit=o.hit, r=o.r, mfe=o.mfe_pct, mae=o.mae_pct,
        ttr_s=o.ttr_s, resolved_ts=o.resolved_ts,
        details=orjson.dumps({"summary": o.summary(), "state": o.state()}, default=str),
        reply=reply,
    )


class OutcomeRecorder:
    def __init__(self, db: Database, *, calibration: Calibration | None = None,
                 write_delay_s: float = 1.0, checkpoint_s: float = 60.0, max_dirty: int = 50_000,
                 tracker: OutcomeTracker | None = None,
                 replies: Callable[[Outcome], Awaitable[int]] | None = None,
                 max_replies: int = 10_000, max_reply_age_s: float = 3600.0,
                 wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000) -> None:
        self.repo = OutcomeRepo(db)
        self.calibration = calibration
        self.tracker = tracker or OutcomeTracker()
        self.tracker.on_change = self._changed
        self.write_delay_s = write_delay_s
        self.checkpoint_s = checkpoint_s
        self.max_dirty = max_dirty
        self._dirty: dict[str, Outcome] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.written = 0
        self.dropped = 0
        self.write_errors = 0
        self.replies = replies  # final stop hunt -> replies in its thread (Delivery.accept_outcome)
        self.max_replies = max_replies
        self._replies: dict[str, Outcome] = {}  # final stop hunts stored, replies not queued yet
        self.replied = 0  # reply rows queued
        self.reply_errors = 0
        self.max_reply_age_s = max_reply_age_s  # a reply left by a crash: given up when older
        self.wall_ms = wall_ms
        self.replies_resumed = 0  # outcomes whose replies a restart queued
        self.replies_stale = 0  # ... and those given up as too old by then

    def sink(self, inner: AlertSink) -> AlertSink:
        """The sink to hand the SignalEngine: opens an outcome, then passes the signal on."""
        return _TeeSink(self, inner)

    def _changed(self, o: Outcome) -> None:
        dirty = self._dirty
        if o.signal.id not in dirty and len(dirty) >= self.max_dirty:
            # the database cannot keep up: drop the oldest pending write (a checkpoint rewrites open ones)
            dirty.pop(next(iter(dirty)))
            self.dropped += 1
        dirty[o.signal.id] = o
        self._wake.set()

    async def resume(self) -> int:
        """Take back the open outcomes stored before a restart; returns how many."""
        restored = []
        for row in await self.repo.open_outcomes():
            try:
                signal = Signal.from_dict(orjson.loads(row.signal_payload))
                state = orjson.loads(row.details or b"{}").get("state") or {}
                restored.append(Outcome.restore(signal, state))
            except (ValueError, KeyError, TypeError) as e:
                log.error("outcome of %s not resumed: unreadable stored state (%s)", row.signal_id, e)
        n = self.tracker.restore(restored)
        if n:
            log.info("outcomes: %d open outcomes resumed after the restart", n)
        return n

    async def flush(self, *, checkpoint: bool = False) -> int:
        """Write the dirty outcomes now (and every open one when ``checkpoint``)."""
        batch = self._dirty
        self._dirty = {}
        if checkpoint:
            for o in self.tracker.open_outcomes():
                batch.setdefault(o.signal.id, o)
        if not batch:
            if self._replies and self.replies is not None:
                await self._send_replies()  # left over from a failed attempt
            return 0
        hooked = self.replies is not None
        try:
            n = await self.repo.save_many(outcome_write(o, reply=hooked and wants_reply(o))
                                          for o in batch.values())
        except Exception:
            self.write_errors += 1
            for key, o in batch.items():  # keep them for the next attempt
                self._dirty.setdefault(key, o)
            raise
        self.written += n
        if self.replies is not None:
            for o in batch.values():
                # past max_replies they stay pending in storage: the next start queues them
                if wants_reply(o) and len(self._replies) < self.max_replies:
                    self._replies[o.signal.id] = o
            await self._send_replies()
        return n

    async def _send_replies(self) -> None:
        replies = self.replies
        if replies is None:
            return
        done: list[str] = []
        try:
            while self._replies:
                key, o = next(iter(self._replies.items()))
                try:
                    self.replied += await replies(o)
                except Exception:
                    self.reply_errors += 1
                    log.exception("outcomes: replies for %s not queued; tried again at the next write", key)
                    return
                self._replies.pop(key, None)
                done.append(key)
        finally:
            await self._replies_queued(done)

    async def _replies_queued(self, keys: list[str]) -> None:
        if not keys:
            return
        try:
            await self.repo.replies_queued(keys)
        except Exception:
            # still marked pending: the next start queues them again, and the outbox's
            # UNIQUE(user, signal) adds nothing twice
            log.exception("outcomes: %d outcomes' replies queued but not marked so", len(keys))

    async def resume_replies(self) -> int:
        """At start, once ``replies`` is hooked: queue the thread replies of final outcomes a
        crash (or a storage error that outlasted the process) left pending; returns how many
        outcomes were taken up. Too old ones (``max_reply_age_s``) are given up, logged."""
        if self.replies is None:
            return 0
        now_ms = self.wall_ms()
        stale: list[str] = []
        for row in await self.repo.pending_replies(limit=self.max_replies):
            try:
                signal = Signal.from_dict(orjson.loads(row.signal_payload))
                state = orjson.loads(row.details or b"{}").get("state") or {}
                o = Outcome.restore(signal, state)
            except (ValueError, KeyError, TypeError) as e:
                log.error("outcome of %s: replies not queued, unreadable stored state (%s)", row.signal_id, e)
                stale.append(row.signal_id)
                continue
            decided = o.final_ts or o.resolved_ts or signal.ts
            if (now_ms - decided) / 1000.0 > self.max_reply_age_s:
                log.warning("outcome of %s: its thread replies were never queued and it was decided "
                            "%.0f min ago: given up", row.signal_id, (now_ms - decided) / 60_000)
                self.replies_stale += 1
                stale.append(row.signal_id)
                continue
            self._replies[row.signal_id] = o
        self.replies_resumed += len(self._replies)
        if self._replies:
            log.warning("outcomes: %d final outcomes' thread replies were not queued before the "
                        "restart: queueing them now", len(self._replies))
        await self._replies_queued(stale)
        n = len(self._replies)
        await self._send_replies()
        return n

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="outcomes-writer")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_checkpoint = loop.time() + self.checkpoint_s
        while True:
            timeout = max(0.0, next_checkpoint - loop.time())
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
                self._wake.clear()
                await asyncio.sleep(self.write_delay_s)  # gather the milestones of a burst
            except TimeoutError:
                pass
            checkpoint = loop.time() >= next_checkpoint
            if checkpoint:
                next_checkpoint = loop.time() + self.checkpoint_s
            try:
                await self.flush(checkpoint=checkpoint)
            except Exception:
                log.exception("outcomes: write failed; retried at the next change or checkpoint")

    async def stop(self) -> None:
        """Stop the writer and store every open outcome's state (a restart resumes them)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        try:
            await self.flush(checkpoint=True)
        except Exception:
            log.exception("outcomes: final write failed; open outcomes since the last checkpoint are lost")
