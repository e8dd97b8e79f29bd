"""Schema migrations, applied in order by ``PRAGMA user_version``.

``MIGRATIONS`` is APPEND-ONLY: entry ``i`` takes the schema from version ``i`` to ``i + 1``.
Never edit or reorder a shipped entry — databases in the field already ran it; add a new one.
An entry is either an SQL script (split into statements and run one by one, so the whole
script stays inside the migration's transaction) or an ``async def (conn) -> None`` for data
changes that need Python.

Each migration runs in its own ``BEGIN IMMEDIATE`` transaction together with the
``user_version`` bump, so a crash leaves the database at the old or the new version, never in
between. Foreign keys are switched off while migrating (SQLite's documented way to rebuild a
table) and ``PRAGMA foreign_key_check`` must be clean before each commit.
"""
from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable

import aiosqlite

from storage.errors import StorageError

log = logging.getLogger(__name__)

# "TGLS": marks the file as ours, so we never migrate another application's database.
APPLICATION_ID = 0x54474C53

Migration = str | Callable[[aiosqlite.Connection], Awaitable[None]]

_V1 = """
CREATE TABLE users (
    id INTEGER PRIMARY KEY,                          -- Telegram user id
    chat_id INTEGER NOT NULL,
    language TEXT NOT NULL DEFAULT 'en',
    role TEXT NOT NULL DEFAULT 'user',               -- user | admin
    active INTEGER NOT NULL DEFAULT 1,
    tiers TEXT NOT NULL DEFAULT 'URGENT,WATCH,INFO', -- tiers that reach the user
    silent_tiers TEXT NOT NULL DEFAULT 'INFO',       -- tiers delivered with disable_notification
    muted_until INTEGER NOT NULL DEFAULT 0,          -- epoch s, all symbols
    quiet_start TEXT,                                -- 'HH:MM' or NULL
    quiet_end TEXT,                                  -- 'HH:MM' or NULL
    quiet_urgent_pierces INTEGER NOT NULL DEFAULT 1,
    tz TEXT NOT NULL DEFAULT 'UTC',
    hourly_cap INTEGER NOT NULL DEFAULT 50,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- users an admin allowed in private mode
CREATE TABLE access (
    user_id INTEGER PRIMARY KEY,
    allowed_by INTEGER,
    created_at INTEGER NOT NULL
);

CREATE TABLE watchlist (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    symbol TEXT NOT NULL,
    muted_until INTEGER NOT NULL DEFAULT 0,          -- epoch s, this symbol only
    added_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, symbol)
);
-- routing looks subscribers up by symbol
CREATE INDEX watchlist_symbol ON watchlist(symbol);

CREATE TABLE thresholds (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    symbol TEXT NOT NULL,                            -- '*' = all symbols
    key TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (user_id, symbol, key)
);

CREATE TABLE signals (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    symbol TEXT NOT NULL,
    direction TEXT NOT NULL,
    tier TEXT NOT NULL,
    confidence INTEGER NOT NULL,
    ts_event INTEGER NOT NULL,                       -- epoch ms
    recv_ns INTEGER,
    signal_ns INTEGER,
    payload BLOB NOT NULL,                           -- JSON of the whole signal
    created_at INTEGER NOT NULL
);
CREATE INDEX signals_symbol_ts ON signals(symbol, ts_event);

CREATE TABLE outcomes (
    signal_id TEXT PRIMARY KEY REFERENCES signals(id) ON DELETE CASCADE,
    result TEXT NOT NULL,
    mfe REAL,
    mae REAL,
    resolved_ts INTEGER,
    details BLOB
);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    chat_id INTEGER NOT NULL,
    signal_id TEXT NOT NULL,
    tier TEXT NOT NULL,
    priority INTEGER NOT NULL,                       -- lower is sent first
    text TEXT NOT NULL,
    silent INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending',           -- pending | sending | sent | failed
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    enqueued_ns INTEGER NOT NULL,
    sent_ns INTEGER,
    next_attempt_ns INTEGER NOT NULL DEFAULT 0,
    message_id INTEGER,
    UNIQUE (user_id, signal_id)                      -- a (user, signal) is accepted at most once
);
CREATE INDEX outbox_state_priority ON outbox(state, priority, id);
"""

# 1 -> 2 (bot): users an admin denied. Kept apart from ``access`` (the allow list) so that
# /deny also works with ACCESS=public and survives the user sending /start again.
_V2_BLOCKED = """
CREATE TABLE blocked (
    user_id INTEGER PRIMARY KEY,
    blocked_by INTEGER,
    created_at INTEGER NOT NULL
);
"""

# 2 -> 3 (delivery, issue #6): every outbox row carries what the sender needs without another lookup
# (symbol and language for the alert buttons) and the upstream timestamps of its signal, so
# exchange -> receive -> signal -> enqueue -> sent is stored per delivery. Indexes serve the
# hourly cap (rows per user since T), the latency window (rows sent since T) and paged fan-out.
_V3_DELIVERY = """
ALTER TABLE outbox ADD COLUMN symbol TEXT;
ALTER TABLE outbox ADD COLUMN lang TEXT;
ALTER TABLE outbox ADD COLUMN exchange_ms INTEGER;              -- event time at the exchange, epoch ms
ALTER TABLE outbox ADD COLUMN recv_ns INTEGER;                  -- when we received that event
ALTER TABLE outbox ADD COLUMN signal_ns INTEGER;                -- when the engine emitted the signal
CREATE INDEX outbox_user_enqueued ON outbox(user_id, enqueued_ns);
CREATE INDEX outbox_enqueued ON outbox(enqueued_ns);
CREATE INDEX outbox_sent ON outbox(sent_ns);
-- fan-out is written page by page (first recipients get the alert before the last page is
-- routed); a signal whose pages are not all written is routed again at start-up
ALTER TABLE signals ADD COLUMN fanout_done INTEGER NOT NULL DEFAULT 1;
CREATE INDEX signals_fanout_pending ON signals(fanout_done) WHERE fanout_done = 0;
-- subscribers of a symbol in user-id order, for those pages
CREATE INDEX watchlist_symbol_user ON watchlist(symbol, user_id);
"""

# 3 -> 4 (delivery, alert threads): a signal that upgrades an earlier one of its thread (cascade ->
# stop hunt) is sent as a Telegram reply to the earlier alert, for each user who received it.
# reply_to_signal_id names that earlier signal (NULL: not part of a thread for this user);
# reply_to_message_id is its message in this chat once known (at routing, or at send time when
# the earlier row was still on its way). The earlier row is found by UNIQUE(user_id, signal_id).
_V4_THREADS = """
ALTER TABLE outbox ADD COLUMN reply_to_signal_id TEXT;
ALTER TABLE outbox ADD COLUMN reply_to_message_id INTEGER;
"""

# 4 -> 5 (outcomes, issue #10): outcomes are written live by the tracker. ``final`` = 0 while an
# outcome can still change (the open rows resumed after a restart; ``details`` holds the
# tracker's state), ``hit`` is 1 / 0 / NULL (not scored), ``r`` the realised R of setups,
# ``ttr_s`` seconds from the signal to the decision. mfe/mae are percent. Rows written before
# (none were: nothing filled the table) read as final and unscored. /stats reads signals by time.
_V5_OUTCOMES = """
ALTER TABLE outcomes ADD COLUMN final INTEGER NOT NULL DEFAULT 1;
ALTER TABLE outcomes ADD COLUMN hit INTEGER;
ALTER TABLE outcomes ADD COLUMN r REAL;
ALTER TABLE outcomes ADD COLUMN ttr_s REAL;
ALTER TABLE outcomes ADD COLUMN updated_at INTEGER;
CREATE INDEX outcomes_open ON outcomes(final) WHERE final = 0;
CREATE INDEX signals_ts_event ON signals(ts_event);
"""

# 5 -> 6 (delivery, issue #9 "cascades as they happen"): a row with edit_of set is not a new
# message but an edit of the message that carried outbox row ``edit_of`` (editMessageText with
# that row's chat_id and message_id). At most one such row per original is pending at a time:
# a newer update rewrites its text (coalescing), found through the partial index.
_V6_EDITS = """
ALTER TABLE outbox ADD COLUMN edit_of INTEGER;
CREATE INDEX outbox_edit_of ON outbox(edit_of) WHERE edit_of IS NOT NULL;
-- the rows of one signal (an update is routed to exactly the users its original reached)
CREATE INDEX outbox_signal ON outbox(signal_id);
-- the rows one Telegram message carried (an edit re-composes a coalesced message)
CREATE INDEX outbox_message ON outbox(chat_id, message_id) WHERE message_id IS NOT NULL;
"""

# 6 -> 7 (teams, issue 14): a CHAT is the subscriber. A group or supergroup is a ``users`` row
# whose id (and chat_id) is its negative Telegram chat id, so watchlist, thresholds, tiers,
# mutes, quiet hours, tz, language and outbox need no new tables. ``chat_type`` says which kind
# of chat the row is, ``title`` is the group's name as last seen, ``added_by`` the user who added
# the bot or ran /start there (ACCESS=private serves a group an allowed user brought in).
# ``topics`` routes a forum supergroup's alerts: ``route`` '*' = every alert, or a kind group
# (stophunt, cascade, flow, whale, funding, divergence, volume) -> message_thread_id.
# outbox.thread_id is the topic an alert row goes to (NULL: the chat's general topic).
_V7_TEAMS = """
ALTER TABLE users ADD COLUMN chat_type TEXT NOT NULL DEFAULT 'private';  -- private | group | supergroup
ALTER TABLE users ADD COLUMN title TEXT;
ALTER TABLE users ADD COLUMN added_by INTEGER;
CREATE TABLE topics (
    chat_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    route TEXT NOT NULL,
    thread_id INTEGER NOT NULL,
    PRIMARY KEY (chat_id, route)
);
ALTER TABLE outbox ADD COLUMN thread_id INTEGER;
"""

# 7 -> 8 (outcomes, issue #10 "alerts close the loop"): when a stop hunt's outcome is final, the
# users who got the alert receive a short silent reply in its thread (T1 reached / stopped out /
# expired). ``outcome_replies`` = 0 turns these replies off for that chat (/tiers). On by default.
_V8_OUTCOME_REPLIES = """
ALTER TABLE users ADD COLUMN outcome_replies INTEGER NOT NULL DEFAULT 1;
"""

# 8 -> 9 (durable outcome replies): ``reply_pending`` = 1 is written in the SAME transaction as a
# final stop-hunt outcome whose thread replies are still to be queued, and cleared once they are
# in the outbox. A crash between the two leaves it at 1 and the next start queues them (the
# outbox's UNIQUE(user_id, signal_id) makes a repeat harmless). Existing rows: nothing pending.
_V9_OUTCOME_REPLY_PENDING = """
ALTER TABLE outcomes ADD COLUMN reply_pending INTEGER NOT NULL DEFAULT 0;
CREATE INDEX outcomes_reply_pending ON outcomes(reply_pending) WHERE reply_pending = 1;
"""

# 9 -> 10 (delivery read path): the sender asks when the next retry becomes due
# (``OutboxRepo.next_due_ns``: MIN(next_attempt_ns) of pending rows) after every read from the
# top, and reads one chat's next due rows when that chat's share of the read-ahead ran out
# (``OutboxRepo.due_for_chat``). Both follow the pending rows only (partial indexes), not the
# week of sent rows the table keeps.
_V10_PENDING_INDEXES = """
CREATE INDEX outbox_pending_next ON outbox(next_attempt_ns) WHERE state = 'pending';
CREATE INDEX outbox_pending_chat ON outbox(chat_id, priority, id) WHERE state = 'pending';
"""

# APPEND-ONLY (see module docstring).
MIGRATIONS: list[Migration] = [
    _V1,
    _V2_BLOCKED,
    _V3_DELIVERY,
    _V4_THREADS,
    _V5_OUTCOMES,
    _V6_EDITS,
    _V7_TEAMS,
    _V8_OUTCOME_REPLIES,
    _V9_OUTCOME_REPLY_PENDING,
    _V10_PENDING_INDEXES,
]

LATEST_VERSION = len(MIGRATIONS)


def split_statements(script: str) -> list[str]:
    """Split an SQL script into complete statements (semicolons in strings/comments are safe).

    ``executescript`` would COMMIT first and run outside our transaction, so scripts are run
    statement by statement instead.
    """
    statements: list[str] = []
    current = ""
    for piece in script.split(";"):
        current += piece + ";"
        if sqlite3.complete_statement(current):
            if _has_sql(current):
                statements.append(current.strip())
            current = ""
    if _has_sql(current.rstrip(";")):
        raise ValueError(f"incomplete SQL statement at end of migration: {current.strip()[:80]!r}")
    return statements


def _has_sql(text: str) -> bool:
    """True when ``text`` holds more than whitespace, comments and semicolons."""
    lines = (line.split("--", 1)[0] for line in text.splitlines())
    return bool("".join(lines).replace(";", "").strip())


async def _pragma_int(conn: aiosqlite.Connection, name: str) -> int:
    async with conn.execute(f"PRAGMA {name}") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def apply_migrations(conn: aiosqlite.Connection, *, target: int | None = None) -> int:
    """Bring the database on ``conn`` (autocommit mode) up to ``target`` (default: latest).

    Returns the resulting ``user_version``. Safe if another process migrates concurrently:
    the version is re-read inside each write transaction.
    """
    target = LATEST_VERSION if target is None else target
    if not 0 <= target <= LATEST_VERSION:
        raise ValueError(f"target version must be 0..{LATEST_VERSION}, got {target}")
    if conn.in_transaction:
        raise StorageError("migrations must start outside a transaction")
    current = await _pragma_int(conn, "user_version")
    if current > LATEST_VERSION:
        raise StorageError(
            f"schema version {current} is newer than this TELEGLAS "
            f"(knows up to {LATEST_VERSION}); upgrade TELEGLAS"
        )
    if current >= target:
        return current

    fk_was_on = await _pragma_int(conn, "foreign_keys")
    # PRAGMA foreign_keys is a no-op inside a transaction, so it is switched here.
    await conn.execute("PRAGMA foreign_keys = OFF")
    try:
        while True:
            await conn.execute("BEGIN IMMEDIATE")
            try:
                version = await _pragma_int(conn, "user_version")
                if version >= target:
                    await conn.execute("COMMIT")
                    return version
                log.info("migrating database schema %d -> %d", version, version + 1)
                if version == 0:
                    await conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                migration = MIGRATIONS[version]
                if isinstance(migration, str):
                    for statement in split_statements(migration):
                        await conn.execute(statement)
                else:
                    await migration(conn)
                async with conn.execute("PRAGMA foreign_key_check") as cur:
                    broken = list(await cur.fetchall())
                if broken:
                    raise StorageError(
                        f"migration {version} -> {version + 1} left {len(broken)} rows with "
                        f"broken foreign keys (first: {tuple(broken[0])}); nothing was changed"
                    )
                # pragma values cannot be bound parameters; version is our own int
                await conn.execute(f"PRAGMA user_version = {version + 1}")
                await conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    await conn.execute("ROLLBACK")
                raise
    finally:
        if fk_was_on:
            await conn.execute("PRAGMA foreign_keys = ON")
