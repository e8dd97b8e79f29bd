"""Signal -> outbox rows: route by symbol, render per user, persist signal and rows atomically.

The signal row and its (user, signal) outbox rows are written in ONE transaction, so after a
crash either both exist (the rows are sent after restart) or neither does. ``UNIQUE(user_id,
signal_id)`` makes accepting the same signal twice harmless.
"""
from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from bot.delivery.routing import Recipient, route, zone
from bot.delivery.scheduler import Item
from bot.render import render_signal
from engine.signals import Signal
from locales import Translator
from storage import (
    Database,
    NewOutboxMessage,
    OutboxMessage,
    OutboxRepo,
    SignalRepo,
    ThresholdRepo,
    WatchlistRepo,
)

log = logging.getLogger(__name__)

HOUR_NS = 3_600_000_000_000


class HourlyCounter:
    """Alerts accepted per user in the last hour (the hourly cap), kept in memory.

    Loaded once from the outbox (``enqueued_since``), then updated as rows are accepted.
    Memory is bounded by users x their cap: a user at the cap gets no more rows.
    """

    def __init__(self, window_ns: int = HOUR_NS) -> None:
        self.window_ns = window_ns
        self._times: dict[int, deque[int]] = {}

    def load(self, rows: list[tuple[int, int]]) -> None:
        self._times.clear()
        for user_id, ts in rows:
            self.add(user_id, ts)

    def add(self, user_id: int, ts_ns: int) -> None:
        q = self._times.get(user_id)
        if q is None:
            q = self._times[user_id] = deque()
        q.append(ts_ns)

    def count(self, user_id: int, now_ns: int) -> int:
        q = self._times.get(user_id)
        if q is None:
            return 0
        horizon = now_ns - self.window_ns
        while q and q[0] < horizon:
            q.popleft()
        if not q:
            del self._times[user_id]
            return 0
        return len(q)


@dataclass(slots=True)
class Accepted:
    signal_id: str
    items: list[Item]
    skipped: Counter = field(default_factory=Counter)
    recipients: int = 0


def item_from_row(row: OutboxMessage, *, not_before: float = 0.0) -> Item:
    return Item(
        id=row.id, user_id=row.user_id, chat_id=row.chat_id, signal_id=row.signal_id,
        tier=row.tier, priority=row.priority, text=row.text, silent=row.silent,
        symbol=row.symbol, lang=row.lang, enqueued_ns=row.enqueued_ns, recv_ns=row.recv_ns,
        not_before=not_before, failures=row.attempts if row.last_error else 0,
    )


class OutboxWriter:
    def __init__(self, db: Database, translator: Translator, *,
                 wall_ns: Callable[[], int] = time.time_ns) -> None:
        self._db = db
        self._tr = translator
        self._wall_ns = wall_ns
        self._watchlist = WatchlistRepo(db)
        self._thresholds = ThresholdRepo(db)
        self._signals = SignalRepo(db)
        self._outbox = OutboxRepo(db)
        self.hourly = HourlyCounter()
        self._hourly_loaded = False

    async def load_hourly(self) -> None:
        now = self._wall_ns()
        self.hourly.load(await self._outbox.enqueued_since(now - self.hourly.window_ns))
        self._hourly_loaded = True

    def _render(self, signal: Signal, recipients: list[Recipient]) -> list[str]:
        """Text per recipient, rendered once per (language, time zone)."""
        cache: dict[tuple[str, str], str] = {}
        texts = []
        for r in recipients:
            key = (self._tr.normalize(r.user.language), r.user.tz)
            text = cache.get(key)
            if text is None:
                text = cache[key] = render_signal(signal, key[0], tz=zone(key[1]), tr=self._tr)
            texts.append(text)
        return texts

    async def accept(self, signal: Signal) -> Accepted:
        """Route ``signal`` and persist it with one outbox row per recipient; returns the rows."""
        if not self._hourly_loaded:
            await self.load_hourly()
        subscribers = await self._watchlist.users_for_symbol(signal.symbol)
        overrides = await self._thresholds.for_watchers_of(signal.symbol) if subscribers else {}
        now_ns = self._wall_ns()
        recipients, skipped = route(
            signal, subscribers, overrides, now_s=now_ns / 1e9,
            sent_last_hour=lambda uid: self.hourly.count(uid, now_ns),
        )
        texts = self._render(signal, recipients)
        tier = signal.tier.value
        priority = signal.tier.priority
        rows = [
            NewOutboxMessage(
                user_id=r.user.id, chat_id=r.user.chat_id, signal_id=signal.id, tier=tier,
                priority=priority, text=text, silent=r.silent, enqueued_ns=now_ns,
                symbol=signal.symbol, lang=self._tr.normalize(r.user.language),
                exchange_ms=signal.ts, recv_ns=signal.recv_ns or None,
                signal_ns=signal.signal_ns or None,
            )
            for r, text in zip(recipients, texts)
        ]
        payload = orjson.dumps(signal.to_dict(), default=str)
        async with self._db.transaction():
            await self._signals.insert(
                signal.id, signal.kind, signal.symbol, signal.direction, signal.tier,
                signal.confidence, signal.ts, signal.recv_ns or None, signal.signal_ns or None,
                payload,
            )
            ids = await self._outbox.enqueue_many(rows)
        if len(ids) == len(rows):
            items = [
                Item(id=oid, user_id=m.user_id, chat_id=m.chat_id, signal_id=m.signal_id,
                     tier=tier, priority=priority, text=m.text, silent=m.silent,
                     symbol=m.symbol, lang=m.lang, enqueued_ns=now_ns, recv_ns=m.recv_ns)
                for oid, m in zip(ids, rows)
            ]
        else:  # some (user, signal) rows existed already: read back exactly the new ones
            fetched = [await self._outbox.get(oid) for oid in ids]
            items = [item_from_row(row) for row in fetched if row is not None]
        for it in items:
            self.hourly.add(it.user_id, now_ns)
        return Accepted(signal.id, items, skipped, len(recipients))
