"""Signals as emitted (the JSON payload) and whether their fan-out finished."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from storage.db import Database
from storage.repos.common import enum_value, now_s


@dataclass(frozen=True, slots=True)
class StoredSignal:
    id: str
    kind: str
    symbol: str
    direction: str
    tier: str
    confidence: int
    ts_event: int  # epoch ms
    recv_ns: int | None
    signal_ns: int | None
    payload: bytes  # JSON of the whole signal
    created_at: int


SIGNAL_COLUMNS = (
    "id, kind, symbol, direction, tier, confidence, ts_event, recv_ns, signal_ns, payload, "
    "created_at"
)


class SignalRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def insert(
        self,
        id: str,
        kind: str,
        symbol: str,
        direction: str,
        tier: str,
        confidence: int,
        ts_event: int,
        recv_ns: int | None,
        signal_ns: int | None,
        payload: bytes,
    ) -> bool:
        """Store a signal; False when that id was already stored (idempotent)."""
        changed = await self._db.execute(
            f"INSERT OR IGNORE INTO signals ({SIGNAL_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                id, enum_value(kind), symbol, enum_value(direction), enum_value(tier),
                int(confidence), int(ts_event), recv_ns, signal_ns, bytes(payload), now_s(),
            ),
        )
        return changed == 1

    async def set_fanout_done(self, id: str, done: bool) -> bool:
        """Delivery writes a signal's outbox rows in pages; False until the last page is in."""
        changed = await self._db.execute(
            "UPDATE signals SET fanout_done = ? WHERE id = ?", (int(bool(done)), id)
        )
        return changed == 1

    async def fanout_unfinished(self) -> list[StoredSignal]:
        """Signals whose fan-out was cut off (a crash between pages), oldest first."""
        rows = await self._db.fetchall(
            f"SELECT {SIGNAL_COLUMNS} FROM signals WHERE fanout_done = 0 ORDER BY created_at, id"
        )
        return [StoredSignal(*r) for r in rows]

    async def get(self, id: str) -> StoredSignal | None:
        row = await self._db.fetchone(f"SELECT {SIGNAL_COLUMNS} FROM signals WHERE id = ?", (id,))
        return None if row is None else StoredSignal(*row)

    async def recent(self, symbols: Iterable[str], limit: int = 10) -> list[StoredSignal]:
        """Newest first (by event time) among ``symbols``."""
        wanted = sorted(set(symbols))
        if not wanted or limit <= 0:
            return []
        marks = ", ".join("?" * len(wanted))
        rows = await self._db.fetchall(
            f"SELECT {SIGNAL_COLUMNS} FROM signals WHERE symbol IN ({marks}) "
            "ORDER BY ts_event DESC, id LIMIT ?",
            (*wanted, int(limit)),
        )
        return [StoredSignal(*r) for r in rows]
