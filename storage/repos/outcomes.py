"""Outcomes of signals (the live tracker's results, /stats rows)."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from storage.db import Database
from storage.repos.common import now_s
from storage.repos.signals import SIGNAL_COLUMNS


@dataclass(frozen=True, slots=True)
class Outcome:
    signal_id: str
    result: str  # OPEN | WIN_T2 | WIN_T1 | LOSS | EXPIRED | NOT_FILLED | HIT | MISS | FLAT | UNSCORED
    mfe: float | None  # percent
    mae: float | None  # percent
    resolved_ts: int | None  # epoch ms
    details: bytes | None  # JSON: the outcome's summary and the tracker state to resume it
    final: bool = True
    hit: bool | None = None
    r: float | None = None
    ttr_s: float | None = None


_OUTCOME_COLUMNS = "signal_id, result, mfe, mae, resolved_ts, details, final, hit, r, ttr_s"


def _outcome(row: sqlite3.Row) -> Outcome:
    return Outcome(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]),
                   None if row[7] is None else bool(row[7]), row[8], row[9])


@dataclass(frozen=True, slots=True)
class OutcomeWrite:
    """One outcome as the live tracker hands it over, with its signal's row (stored first when
    delivery has not stored it yet: the signal row is ``INSERT OR IGNORE``)."""

    signal_id: str
    kind: str
    symbol: str
    direction: str
    tier: str
    confidence: int
    ts_event: int
    recv_ns: int | None
    signal_ns: int | None
    signal_payload: bytes
    result: str
    final: bool
    hit: bool | None
    r: float | None
    mfe: float | None
    mae: float | None
    ttr_s: float | None
    resolved_ts: int | None
    details: bytes
    # final and its thread replies still to be queued: stored as ``reply_pending`` in the same
    # transaction, cleared by ``replies_queued`` (a crash in between: ``pending_replies``)
    reply: bool = False


@dataclass(frozen=True, slots=True)
class OpenOutcome:
    """A stored outcome that was still open (or final with replies still to queue): its
    signal's JSON and the tracker state."""

    signal_id: str
    signal_payload: bytes
    details: bytes | None


@dataclass(frozen=True, slots=True)
class OutcomeStat:
    """One signal with its outcome, for /stats (aggregated by the caller)."""

    signal_id: str
    kind: str
    symbol: str
    tier: str
    ts_event: int
    result: str
    hit: bool | None
    r: float | None
    mfe: float | None
    ttr_s: float | None
    engine_ms: float | None = None  # receive -> signal, when both times are stored


class OutcomeRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def save_many(self, writes: Iterable[OutcomeWrite]) -> int:
        """Upsert outcomes (and INSERT OR IGNORE their signals) in one transaction. A final row
        is never reopened: a late write of an earlier state cannot undo a result."""
        rows = list(writes)
        if not rows:
            return 0
        now = now_s()
        async with self._db.transaction():
            await self._db.executemany(
                f"INSERT OR IGNORE INTO signals ({SIGNAL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(w.signal_id, w.kind, w.symbol, w.direction, w.tier, int(w.confidence), int(w.ts_event),
                  w.recv_ns, w.signal_ns, bytes(w.signal_payload), now) for w in rows],
            )
            await self._db.executemany(
                "INSERT INTO outcomes (signal_id, result, mfe, mae, resolved_ts, details, final, hit, r, "
                "ttr_s, updated_at, reply_pending) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(signal_id) DO UPDATE SET result = excluded.result, mfe = excluded.mfe, "
                "mae = excluded.mae, resolved_ts = excluded.resolved_ts, details = excluded.details, "
                "final = excluded.final, hit = excluded.hit, r = excluded.r, ttr_s = excluded.ttr_s, "
                "updated_at = excluded.updated_at, reply_pending = excluded.reply_pending "
                "WHERE outcomes.final = 0",
                [(w.signal_id, w.result, w.mfe, w.mae, w.resolved_ts, bytes(w.details), int(w.final),
                  None if w.hit is None else int(w.hit), w.r, w.ttr_s, now,
                  int(w.reply and w.final)) for w in rows],
            )
        return len(rows)

    async def open_outcomes(self) -> list[OpenOutcome]:
        """Outcomes that were still open (to resume after a restart), oldest signal first."""
        rows = await self._db.fetchall(
            "SELECT o.signal_id, s.payload, o.details FROM outcomes o JOIN signals s ON s.id = o.signal_id "
            "WHERE o.final = 0 ORDER BY s.ts_event, o.signal_id"
        )
        return [OpenOutcome(r[0], r[1], r[2]) for r in rows]

    async def pending_replies(self, limit: int = 10_000) -> list[OpenOutcome]:
        """Final outcomes stored with ``reply_pending`` whose thread replies were never marked
        queued (a crash or storage error came between), oldest signal first."""
        rows = await self._db.fetchall(
            "SELECT o.signal_id, s.payload, o.details FROM outcomes o JOIN signals s ON s.id = o.signal_id "
            "WHERE o.reply_pending = 1 ORDER BY s.ts_event, o.signal_id LIMIT ?", (int(limit),)
        )
        return [OpenOutcome(r[0], r[1], r[2]) for r in rows]

    async def replies_queued(self, signal_ids: Iterable[str]) -> int:
        """The thread replies of these outcomes are in the outbox (or given up): not pending."""
        wanted = list(dict.fromkeys(signal_ids))
        done = 0
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            done += await self._db.execute(
                f"UPDATE outcomes SET reply_pending = 0 WHERE reply_pending = 1 AND signal_id IN ({marks})",
                chunk,
            )
        return done

    async def get(self, signal_id: str) -> Outcome | None:
        row = await self._db.fetchone(
            f"SELECT {_OUTCOME_COLUMNS} FROM outcomes WHERE signal_id = ?", (signal_id,)
        )
        return None if row is None else _outcome(row)

    async def stats_rows(self, since_ts_event_ms: int, *, symbols: Iterable[str] | None = None,
                         kind: str | None = None, received_by: int | None = None,
                         limit: int = 50_000) -> list[OutcomeStat]:
        """Signals since a time (optionally of some symbols / one kind / only those whose alert
        was SENT to the subscriber ``received_by``) with their outcomes, newest first; a signal
        without an outcome row is left out."""
        where = ["s.ts_event >= ?"]
        params: list[object] = [int(since_ts_event_ms)]
        if received_by is not None:  # through UNIQUE(user_id, signal_id)
            where.append("EXISTS (SELECT 1 FROM outbox b WHERE b.user_id = ? AND b.signal_id = s.id "
                         "AND b.state = 'sent' AND b.edit_of IS NULL)")
            params.append(int(received_by))
        if symbols is not None:
            wanted = sorted(set(symbols))
            if not wanted:
                return []
            where.append(f"s.symbol IN ({', '.join('?' * len(wanted))})")
            params.extend(wanted)
        if kind is not None:
            where.append("s.kind = ?")
            params.append(kind)
        rows = await self._db.fetchall(
            "SELECT s.id, s.kind, s.symbol, s.tier, s.ts_event, o.result, o.hit, o.r, o.mfe, o.ttr_s, "
            "(s.signal_ns - s.recv_ns) / 1e6 "
            "FROM signals s JOIN outcomes o ON o.signal_id = s.id "
            f"WHERE {' AND '.join(where)} ORDER BY s.ts_event DESC LIMIT ?",
            (*params, int(limit)),
        )
        return [OutcomeStat(r[0], r[1], r[2], r[3], r[4], r[5], None if r[6] is None else bool(r[6]),
                            r[7], r[8], r[9], r[10]) for r in rows]
