"""The durable delivery queue: one row per (user, signal) message."""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass

from storage.db import Database
from storage.errors import ConstraintError
from storage.repos.common import enum_value

OUTBOX_STATES = ("pending", "sending", "sent", "failed")
MAX_ERROR_LEN = 500


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One outbox row: one rendered message (alert, edit, reply, notice) for one chat.

    Routing builds it with the first fields (``id`` 0, ``state`` 'pending') and hands it to
    ``enqueue_many``; every read (``due``, ``claim``, ``get`` ...) returns the stored row. It is
    the only model of a row: the sender sends what ``claim`` returns, nothing held elsewhere."""

    user_id: int
    chat_id: int
    signal_id: str
    tier: str
    priority: int  # lower is sent first
    text: str
    silent: bool = False
    enqueued_ns: int = 0  # 0 in a new row: stamped by ``enqueue_many``
    # for the sender (alert buttons) and per-delivery latency
    symbol: str | None = None
    lang: str | None = None
    exchange_ms: int | None = None  # event time at the exchange, epoch ms
    recv_ns: int | None = None  # when the event was received
    signal_ns: int | None = None  # when the engine emitted the signal
    # alert threads: the earlier signal this row answers (sent as a reply to its message) and
    # that message's id in this chat when already known
    reply_to_signal_id: str | None = None
    reply_to_message_id: int | None = None
    edit_of: int | None = None  # an edit of the message that carried this outbox row
    thread_id: int | None = None  # forum topic (message_thread_id); None: the general topic
    # set by the outbox
    id: int = 0
    state: str = "pending"  # pending | sending | sent | failed
    attempts: int = 0  # claims that ended in a retryable failure, plus the current one
    last_error: str | None = None
    sent_ns: int | None = None
    next_attempt_ns: int = 0  # epoch ns; a pending row is due from then
    message_id: int | None = None


_OUTBOX_COLUMNS = (
    "user_id, chat_id, signal_id, tier, priority, text, silent, enqueued_ns, symbol, lang, "
    "exchange_ms, recv_ns, signal_ns, reply_to_signal_id, reply_to_message_id, edit_of, "
    "thread_id, id, state, attempts, last_error, sent_ns, next_attempt_ns, message_id"
)


@dataclass(frozen=True, slots=True)
class EarlierDelivery:
    """Where one user's row of an earlier signal stands (for threading a later one to it)."""

    user_id: int
    chat_id: int
    state: str  # pending | sending | sent | failed
    message_id: int | None  # set once sent
    thread_id: int | None = None  # the forum topic it went to (a reply stays in it)


# rows of one signal for a set of users: SEARCH through UNIQUE(user_id, signal_id), one probe
# per user, whatever the size of the outbox
_EARLIER_CHUNK = 500  # user ids per statement (well under SQLite's bound-parameter limit)


@dataclass(frozen=True, slots=True)
class DeliveryTiming:
    """The timestamps of one sent delivery: exchange -> receive -> signal -> enqueue -> sent."""

    outbox_id: int
    user_id: int
    tier: str
    exchange_ms: int | None
    recv_ns: int | None
    signal_ns: int | None
    enqueued_ns: int
    sent_ns: int


def _outbox(row: sqlite3.Row) -> OutboxRow:
    r = list(row)
    r[6] = bool(r[6])  # silent
    return OutboxRow(*r)


def _prefix_filter(prefix: str | None) -> tuple[str, tuple[object, ...]]:
    """SQL (and its parameter) that leaves out rows whose signal_id starts with ``prefix``."""
    if not prefix:
        return "", ()
    # substr, not LIKE: a '%' or '_' in the prefix must not act as a wildcard
    return "AND substr(signal_id, 1, ?) != ?", (len(prefix), prefix)


def _optional_int(value: int | None) -> int | None:
    """A nullable INTEGER column read through ``fetchval`` (typed ``Any``), as ``int | None``."""
    return None if value is None else int(value)


def _error_text(error: object) -> str:
    return str(error)[:MAX_ERROR_LEN]


class OutboxRepo:
    """Durable delivery queue. A row accepted here is sent or explicitly failed, never dropped.

    States: pending -> (``claim``) sending -> ``mark_sent_many`` | ``mark_retry_many`` (->
    pending) | ``mark_failed_many``; ``requeue_inflight`` at start puts 'sending' back.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    async def enqueue_many(self, rows: Iterable[OutboxRow]) -> list[int]:
        """Insert the rows; a (user, signal) already queued is skipped. Returns the new ids."""
        now = time.time_ns()
        params = [
            (
                m.user_id, m.chat_id, m.signal_id, enum_value(m.tier),
                int(m.priority), m.text, int(bool(m.silent)),
                int(m.enqueued_ns) or now,
                m.symbol, m.lang, m.exchange_ms, m.recv_ns, m.signal_ns,
                m.reply_to_signal_id, m.reply_to_message_id, m.edit_of, m.thread_id,
            )
            for m in rows
        ]
        if not params:
            return []
        async with self._db.transaction():
            # AUTOINCREMENT ids only grow and the write lock is ours, so every row above the
            # current maximum is one we inserted (INSERT OR IGNORE skipped the duplicates).
            before = int(await self._db.fetchval("SELECT COALESCE(MAX(id), 0) FROM outbox"))
            try:
                await self._db.executemany(
                    "INSERT OR IGNORE INTO outbox (user_id, chat_id, signal_id, tier, priority, "
                    "text, silent, enqueued_ns, symbol, lang, exchange_ms, recv_ns, signal_ns, "
                    "reply_to_signal_id, reply_to_message_id, edit_of, thread_id) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    params,
                )
            except ConstraintError as e:
                if "FOREIGN KEY" in str(e):
                    raise ConstraintError(
                        "outbox rows name a user that is not registered; nothing was queued"
                    ) from e
                raise
            rows_new = await self._db.fetchall(
                "SELECT id FROM outbox WHERE id > ? ORDER BY id", (before,)
            )
        return [r[0] for r in rows_new]

    async def get(self, id: int) -> OutboxRow | None:
        row = await self._db.fetchone(f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE id = ?", (id,))
        return None if row is None else _outbox(row)

    async def requeue_inflight(self) -> int:
        """At startup: rows a crash left 'sending' go back to 'pending'. Returns how many.

        The message may have reached Telegram before the crash; at-least-once is the choice
        here because a lost alert is worse than a rare duplicate.
        """
        return await self._db.execute(
            "UPDATE outbox SET state = 'pending', next_attempt_ns = 0 WHERE state = 'sending'"
        )

    async def counts_by_state(self) -> dict[str, int]:
        counts = dict.fromkeys(OUTBOX_STATES, 0)
        for r in await self._db.fetchall("SELECT state, COUNT(*) FROM outbox GROUP BY state"):
            counts[r[0]] = r[1]
        return counts

    # ---- delivery (bot/delivery): batch state changes and the figures it reports

    async def due(self, now_ns: int, limit: int, *,
                  after: tuple[int, int] | None = None, skip: Iterable[int] = ()) -> list[OutboxRow]:
        """Up to ``limit`` pending rows due at ``now_ns``, in send order (priority, then FIFO),
        beginning after the (priority, id) key ``after``, leaving out the chats in ``skip``;
        nothing is claimed. Read through the (state, priority, id) index: the cost follows the
        page, not the table (rows of skipped chats are stepped over inside SQLite)."""
        if limit <= 0:
            return []
        key = ""
        params: tuple[int, ...] = ()
        if after is not None:
            key, params = "AND (priority, id) > (?, ?) ", (int(after[0]), int(after[1]))
        skipped = [int(c) for c in skip]
        if skipped:
            key += f"AND chat_id NOT IN ({', '.join('?' * len(skipped))}) "
            params = (*params, *skipped)
        rows = await self._db.fetchall(
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE state = 'pending' {key}"
            "AND next_attempt_ns <= ? ORDER BY priority, id LIMIT ?",
            (*params, int(now_ns), int(limit)),
        )
        return [_outbox(r) for r in rows]

    async def due_for_chat(self, chat_id: int, now_ns: int, limit: int, *,
                           after: tuple[int, int], before: tuple[int, int] | None = None,
                           ) -> list[OutboxRow]:
        """Up to ``limit`` pending rows of ONE chat due at ``now_ns``, in send order, with a
        (priority, id) key above ``after`` and below ``before`` (None: no bound). Read through
        the partial (chat_id, priority, id) index of pending rows."""
        if limit <= 0:
            return []
        bound = ""
        params: tuple[int, ...] = ()
        if before is not None:
            bound, params = "AND (priority, id) < (?, ?) ", (int(before[0]), int(before[1]))
        rows = await self._db.fetchall(
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE state = 'pending' AND chat_id = ? "
            f"AND (priority, id) > (?, ?) {bound}AND next_attempt_ns <= ? "
            "ORDER BY priority, id LIMIT ?",
            (int(chat_id), int(after[0]), int(after[1]), *params, int(now_ns), int(limit)),
        )
        return [_outbox(r) for r in rows]

    async def next_due_ns(self, now_ns: int) -> int | None:
        """When the next pending row that is not due at ``now_ns`` (a retry) becomes due (one
        probe of the partial next_attempt_ns index of pending rows)."""
        return _optional_int(await self._db.fetchval(
            # INDEXED BY: the planner would otherwise walk every pending row in the
            # (state, priority, id) index (15-24 ms at 50,000 pending, under the DB lock)
            "SELECT MIN(next_attempt_ns) FROM outbox INDEXED BY outbox_pending_next "
            "WHERE state = 'pending' AND next_attempt_ns > ?",
            (int(now_ns),),
        ))

    async def claim(self, ids: Iterable[int], now_ns: int) -> list[OutboxRow]:
        """Mark these pending rows that are due at ``now_ns`` 'sending' (attempts + 1) and
        return them AS CLAIMED, in send order. One statement: a row no longer pending (sent,
        failed, claimed elsewhere) or put back to wait for a retry later than ``now_ns`` is not
        returned, so a row is never sent twice at once nor before its backoff ends; what goes
        out is the row's text now (an update may have rewritten it, ``replace_pending_text``)."""
        wanted = [int(i) for i in ids]
        if not wanted:
            return []
        marks = ", ".join("?" * len(wanted))
        rows = await self._db.fetchall(
            "UPDATE outbox SET state = 'sending', attempts = attempts + 1 "
            f"WHERE state = 'pending' AND next_attempt_ns <= ? AND id IN ({marks}) "
            f"RETURNING {_OUTBOX_COLUMNS}",
            (int(now_ns), *wanted),
        )
        # RETURNING order is unspecified
        return sorted((_outbox(r) for r in rows), key=lambda m: (m.priority, m.id))

    # ---- edits: an update of a signal's event rewrites what its recipients got

    async def rows_of_signal(self, signal_id: str) -> list[OutboxRow]:
        """Every (new-message) row of one signal, by id."""
        rows = await self._db.fetchall(
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE signal_id = ? AND edit_of IS NULL "
            "ORDER BY id",
            (signal_id,),
        )
        return [_outbox(r) for r in rows]

    async def replace_pending_text(self, id: int, text: str) -> bool:
        """New text for a row not yet claimed; False when it is being sent or finished."""
        return await self._db.execute(
            "UPDATE outbox SET text = ? WHERE id = ? AND state = 'pending'", (text, int(id))
        ) == 1

    async def pending_edit_of(self, original_id: int) -> int | None:
        """The pending edit row of an original row's message, if one waits."""
        return _optional_int(await self._db.fetchval(
            "SELECT id FROM outbox WHERE edit_of = ? AND state = 'pending' ORDER BY id DESC LIMIT 1",
            (int(original_id),),
        ))

    async def message_rows(self, chat_id: int, message_id: int) -> list[OutboxRow]:
        """The rows one Telegram message carried (several when alerts were coalesced)."""
        rows = await self._db.fetchall(
            # '+state': the (chat, message) index, not the state index a week of sent rows share
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE chat_id = ? AND message_id = ? "
            "AND edit_of IS NULL AND +state = 'sent' ORDER BY priority, id",
            (int(chat_id), int(message_id)),
        )
        return [_outbox(r) for r in rows]

    async def set_text(self, id: int, text: str) -> bool:
        return await self._db.execute(
            "UPDATE outbox SET text = ? WHERE id = ?", (text, int(id))
        ) == 1

    async def mark_sent_many(self, ids: Iterable[int], sent_ns: int, message_id: int | None) -> int:
        """Several rows delivered in one message (coalesced); returns how many were 'sending'."""
        wanted = [int(i) for i in ids]
        if not wanted:
            return 0
        marks = ", ".join("?" * len(wanted))
        return await self._db.execute(
            "UPDATE outbox SET state = 'sent', sent_ns = ?, message_id = ?, last_error = NULL "
            f"WHERE state = 'sending' AND id IN ({marks})",
            (int(sent_ns), message_id, *wanted),
        )

    async def mark_retry_many(self, ids: Iterable[int], error: object, next_attempt_ns: int, *,
                              failed: bool = True) -> int:
        """Claimed rows back to 'pending', due at ``next_attempt_ns``. ``failed=False``: the
        attempt was no failure (a 429's wait, an edit paced, a message split): not counted."""
        wanted = [int(i) for i in ids]
        if not wanted:
            return 0
        marks = ", ".join("?" * len(wanted))
        return await self._db.execute(
            "UPDATE outbox SET state = 'pending', last_error = ?, next_attempt_ns = ?, "
            f"attempts = attempts - ? WHERE state = 'sending' AND id IN ({marks})",
            (_error_text(error), int(next_attempt_ns), 0 if failed else 1, *wanted),
        )

    async def clear_reply(self, id: int) -> bool:
        """Send this row without the reply to an earlier message (Telegram refused the reply)."""
        return await self._db.execute(
            "UPDATE outbox SET reply_to_signal_id = NULL, reply_to_message_id = NULL WHERE id = ?",
            (int(id),),
        ) == 1

    async def mark_failed_many(self, ids: Iterable[int], error: object) -> int:
        wanted = [int(i) for i in ids]
        if not wanted:
            return 0
        marks = ", ".join("?" * len(wanted))
        return await self._db.execute(
            "UPDATE outbox SET state = 'failed', last_error = ? "
            f"WHERE state IN ('pending', 'sending') AND id IN ({marks})",
            (_error_text(error), *wanted),
        )

    async def fail_pending_for_user(self, user_id: int, error: object) -> list[int]:
        """Give up on every pending row of a user (e.g. the user blocked the bot)."""
        rows = await self._db.fetchall(
            "UPDATE outbox SET state = 'failed', last_error = ? "
            "WHERE user_id = ? AND state = 'pending' RETURNING id",
            (_error_text(error), user_id),
        )
        return sorted(r[0] for r in rows)

    async def enqueued_since(self, since_ns: int, *,
                             exclude_prefix: str | None = None) -> list[tuple[int, int]]:
        """(user_id, enqueued_ns) of rows accepted at or after ``since_ns`` and not given up;
        rows whose signal_id starts with ``exclude_prefix`` are left out."""
        skip, params = _prefix_filter(exclude_prefix)
        rows = await self._db.fetchall(
            "SELECT user_id, enqueued_ns FROM outbox WHERE enqueued_ns >= ? AND state != 'failed' "
            f"AND edit_of IS NULL {skip} ORDER BY enqueued_ns",
            (int(since_ns), *params),
        )
        return [(r[0], r[1]) for r in rows]

    async def delivery_timings_since(self, since_ns: int, *,
                                     exclude_prefix: str | None = None) -> list[DeliveryTiming]:
        """Per-delivery timestamps of rows sent at or after ``since_ns``, oldest first; rows
        whose signal_id starts with ``exclude_prefix`` are left out."""
        skip, params = _prefix_filter(exclude_prefix)
        rows = await self._db.fetchall(
            "SELECT id, user_id, tier, exchange_ms, recv_ns, signal_ns, enqueued_ns, sent_ns "
            f"FROM outbox WHERE sent_ns >= ? AND state = 'sent' AND edit_of IS NULL {skip} "
            "ORDER BY sent_ns, id",
            (int(since_ns), *params),
        )
        return [DeliveryTiming(*r) for r in rows]

    # ---- alert threads: a later signal is sent as a reply to the earlier alert of its thread

    async def earlier_deliveries(self, signal_id: str,
                                 user_ids: Iterable[int]) -> dict[int, EarlierDelivery]:
        """The rows of ``signal_id`` (an earlier alert) of these users, by user id; a user who
        was never sent that signal (filtered out, or no longer in the outbox) is absent."""
        wanted = sorted({int(u) for u in user_ids})
        found: dict[int, EarlierDelivery] = {}
        for start in range(0, len(wanted), _EARLIER_CHUNK):
            chunk = wanted[start:start + _EARLIER_CHUNK]
            marks = ", ".join("?" * len(chunk))
            rows = await self._db.fetchall(
                "SELECT user_id, chat_id, state, message_id, thread_id FROM outbox "
                f"WHERE user_id IN ({marks}) AND signal_id = ?",
                (*chunk, signal_id),
            )
            for r in rows:
                found[r[0]] = EarlierDelivery(r[0], r[1], r[2], r[3], r[4])
        return found

    async def clear_thread(self, chat_id: int, thread_id: int) -> int:
        """A forum topic is gone: the chat's rows still to be sent there go to the general topic."""
        return await self._db.execute(
            "UPDATE outbox SET thread_id = NULL WHERE chat_id = ? AND thread_id = ? "
            "AND state IN ('pending', 'sending')",
            (int(chat_id), int(thread_id)),
        )

    async def outcome_recipients(self, signal_id: str) -> list[OutboxRow]:
        """The rows of ``signal_id`` that were SENT (new messages, not edits) to chats that are
        still active, still the user's chat, and have outcome replies on (/tiers): who gets the
        reply in the alert's thread when its outcome is final."""
        cols = ", ".join(f"o.{c.strip()}" for c in _OUTBOX_COLUMNS.split(","))
        rows = await self._db.fetchall(
            f"SELECT {cols} FROM outbox o JOIN users u ON u.id = o.user_id "
            "WHERE o.signal_id = ? AND o.edit_of IS NULL AND o.state = 'sent' "
            "AND o.message_id IS NOT NULL AND u.active = 1 AND u.outcome_replies = 1 "
            "AND u.chat_id = o.chat_id ORDER BY o.id",
            (signal_id,),
        )
        return [_outbox(r) for r in rows]

    async def sent_message_id(self, user_id: int, signal_id: str, chat_id: int) -> int | None:
        """The Telegram message that carried ``signal_id`` to this user in ``chat_id``, if sent."""
        return _optional_int(await self._db.fetchval(
            "SELECT message_id FROM outbox WHERE user_id = ? AND signal_id = ? "
            "AND state = 'sent' AND chat_id = ?",
            (int(user_id), signal_id, int(chat_id)),
        ))

    async def set_reply_to(self, id: int, message_id: int) -> bool:
        """Record the message a row replies to, once it was looked up at send time."""
        changed = await self._db.execute(
            "UPDATE outbox SET reply_to_message_id = ? WHERE id = ?", (int(message_id), int(id))
        )
        return changed == 1

    async def open_count(self, signal_id: str) -> int:
        """Rows of one signal still 'pending' or 'sending' (read through the state index, so
        the cost follows the backlog, not the table)."""
        return int(await self._db.fetchval(
            "SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending') AND signal_id = ?",
            (signal_id,),
        ))

    async def counts_for_signal(self, signal_id: str, *, min_id: int = 0) -> dict[str, int]:
        """Rows of one signal by state (ids >= ``min_id``: its rows' lowest id, when known)."""
        counts = {"pending": 0, "sending": 0, "sent": 0, "failed": 0}
        for r in await self._db.fetchall(
            "SELECT state, COUNT(*) FROM outbox WHERE id >= ? AND signal_id = ? GROUP BY state",
            (int(min_id), signal_id),
        ):
            counts[r[0]] = r[1]
        return counts

    async def purge_finished(self, before_ns: int, *, receipts_before_ns: int | None = None) -> int:
        """Delete finished rows enqueued before ``before_ns`` (keeps the table small).

        With ``receipts_before_ns`` (older), a SENT alert row (not an edit, not a broadcast) is
        kept until then as a receipt — its text blanked — so /stats can tell "the alerts that
        reached me" over 30 days; everything else goes at ``before_ns``."""
        if receipts_before_ns is None:
            return await self._db.execute(
                "DELETE FROM outbox WHERE state IN ('sent', 'failed') AND enqueued_ns < ?",
                (before_ns,),
            )
        removed = await self._db.execute(
            "DELETE FROM outbox WHERE enqueued_ns < ? AND (state = 'failed' OR (state = 'sent' "
            "AND (edit_of IS NOT NULL OR signal_id LIKE 'broadcast:%')))",
            (before_ns,),
        )
        await self._db.execute(
            "UPDATE outbox SET text = '' WHERE state = 'sent' AND enqueued_ns < ? AND text != ''",
            (before_ns,),
        )
        return removed + await self._db.execute(
            "DELETE FROM outbox WHERE state = 'sent' AND enqueued_ns < ?", (receipts_before_ns,),
        )
