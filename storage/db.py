"""One aiosqlite connection, opened safely, with serialised transactions.

Everything goes through ONE connection (SQLite allows one writer anyway) guarded by one
``asyncio.Lock``: a statement from one coroutine can never land inside another coroutine's
open transaction. ``async with db.transaction():`` holds the lock from ``BEGIN IMMEDIATE`` to
``COMMIT``/``ROLLBACK``; the helpers called inside it (also from tasks it spawns and awaits)
join that transaction instead of waiting for the lock.

Opening refuses, with a sentence an operator can act on, files that are not SQLite, SQLite
files of another application, schemas newer than this code, and unusable directories — and it
never modifies such a file.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from storage.errors import ConstraintError, DatabaseLocked, StorageError
from storage.migrations import APPLICATION_ID, LATEST_VERSION, apply_migrations

log = logging.getLogger(__name__)

_SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 5000

Params = Sequence[Any] | dict[str, Any]


class _Tx:
    """The transaction a context (task and the tasks it spawns) is inside."""

    __slots__ = ("db", "active", "savepoints")

    def __init__(self, db: Database) -> None:
        self.db = db
        self.active = True
        self.savepoints = 0


_current_tx: contextvars.ContextVar[_Tx | None] = contextvars.ContextVar(
    "teleglas_storage_tx", default=None
)


class Database:
    """The TELEGLAS SQLite database. Build with ``await Database.open(path)``; ``await close()``."""

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        # use Database.open(); this only wraps an already prepared connection
        self._conn: aiosqlite.Connection | None = conn
        self.path = path
        self._lock = asyncio.Lock()

    # ------------------------------------------------------------------ open / close

    @classmethod
    async def open(cls, path: str | Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Database:
        """Open (creating if missing, mode 0600) and migrate the database at ``path``.

        Raises StorageError; ``DatabaseLocked`` when another process held the write lock for
        ``busy_timeout_ms``."""
        shown = str(path)
        if shown != ":memory:":
            path = await asyncio.to_thread(_prepare_file, path)
        try:
            conn = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as e:
            raise StorageError(f"cannot open database {shown}: {e}") from e
        try:
            conn.row_factory = sqlite3.Row
            await _prepare(conn, shown, busy_timeout_ms)
        except BaseException:
            await conn.close()
            raise
        log.info("database %s open (schema version %d)", shown, LATEST_VERSION)
        return cls(conn, shown)

    async def close(self) -> None:
        """Close the connection (waits for a running transaction). Safe to call twice."""
        if self._conn is None:
            return
        async with self._lock:
            conn, self._conn = self._conn, None
            if conn is None:
                return
            try:
                # SQLite's advice for long-lived connections: refresh planner stats on close
                await conn.execute("PRAGMA optimize")
            except sqlite3.Error as e:
                log.warning("PRAGMA optimize failed on close of %s: %s", self.path, e)
            finally:
                await conn.close()

    @property
    def closed(self) -> bool:
        return self._conn is None

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ transactions

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """``BEGIN IMMEDIATE`` .. ``COMMIT`` (``ROLLBACK`` on any exception), serialised.

        Nested use inside the same transaction becomes a SAVEPOINT.
        """
        tx = _current_tx.get()
        if self._in_own_transaction():
            assert tx is not None
            async with self._savepoint(tx):
                yield
            return
        async with self._lock:
            conn = self._connection()
            tx = _Tx(self)
            token = _current_tx.set(tx)
            try:
                await _run(conn, "BEGIN IMMEDIATE", ())
                try:
                    yield
                    await _run(conn, "COMMIT", ())
                except BaseException:
                    # some errors (disk full, I/O) already rolled back; do not fail twice
                    if conn.in_transaction:
                        await conn.execute("ROLLBACK")
                    raise
            finally:
                tx.active = False
                _current_tx.reset(token)

    @asynccontextmanager
    async def _savepoint(self, tx: _Tx) -> AsyncIterator[None]:
        conn = self._connection()
        tx.savepoints += 1
        name = f"sp{tx.savepoints}"
        await conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                await conn.execute(f"ROLLBACK TO {name}")
                await conn.execute(f"RELEASE {name}")
            raise
        else:
            await conn.execute(f"RELEASE {name}")

    def _in_own_transaction(self) -> bool:
        tx = _current_tx.get()
        return tx is not None and tx.active and tx.db is self

    @asynccontextmanager
    async def _access(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection, inside the caller's transaction or under the lock."""
        if self._in_own_transaction():
            yield self._connection()
            return
        async with self._lock:
            yield self._connection()

    def _connection(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise StorageError(f"database {self.path} is closed")
        return self._conn

    # ------------------------------------------------------------------ helpers

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        async with self._access() as conn:
            async with await _run(conn, sql, params) as cur:
                return int(cur.rowcount)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> int:
        """Run one statement per parameter row, all or nothing; returns rows changed."""
        if not self._in_own_transaction():
            # autocommit would commit row by row; make the batch atomic
            async with self.transaction():
                return await self.executemany(sql, rows)
        conn = self._connection()
        try:
            async with conn.executemany(sql, rows) as cur:
                return cur.rowcount
        except sqlite3.Error as e:
            raise _translate(e, sql) from e

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        async with self._access() as conn:
            async with await _run(conn, sql, params) as cur:
                row: sqlite3.Row | None = await cur.fetchone()
                return row

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        async with self._access() as conn:
            try:
                return list(await conn.execute_fetchall(sql, params))
            except sqlite3.Error as e:
                raise _translate(e, sql) from e

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        """First column of the first row, or None."""
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]


async def _run(conn: aiosqlite.Connection, sql: str, params: Params) -> aiosqlite.Cursor:
    try:
        return await conn.execute(sql, params)
    except sqlite3.Error as e:
        raise _translate(e, sql) from e


def _translate(e: sqlite3.Error, sql: str) -> StorageError:
    first = " ".join(sql.split())[:60]
    if isinstance(e, sqlite3.IntegrityError):
        return ConstraintError(f"{e} (in: {first})")
    return StorageError(f"database error: {e} (in: {first})")


def _prepare_file(path: str | Path) -> Path:
    """Check the database file's folder and create the file (mode 0600): file system calls,
    run off the event loop."""
    resolved = Path(path).expanduser()
    _check_location(resolved)
    _create_private(resolved)
    return resolved


def _check_location(path: Path) -> None:
    """Fail early, in words, on locations SQLite would only call 'unable to open'."""
    directory = path.parent
    if not directory.exists():
        raise StorageError(
            f"cannot open database {path}: directory {directory} does not exist; "
            "create it or set DATABASE_PATH"
        )
    if not directory.is_dir():
        raise StorageError(f"cannot open database {path}: {directory} is not a directory")
    # WAL needs to create <db>-wal and <db>-shm next to the database
    if not os.access(directory, os.W_OK | os.X_OK):
        raise StorageError(
            f"cannot open database {path}: directory {directory} is not writable "
            "(WAL mode creates files next to the database)"
        )
    if path.is_dir():
        raise StorageError(f"cannot open database {path}: it is a directory")
    if path.exists():
        if not os.access(path, os.R_OK | os.W_OK):
            raise StorageError(f"cannot open database {path}: file is not readable and writable")
        with path.open("rb") as f:
            header = f.read(len(_SQLITE_HEADER))
        # an empty file is a valid empty database
        if header and header != _SQLITE_HEADER:
            raise _not_sqlite(path)


def _not_sqlite(path: Path | str) -> StorageError:
    return StorageError(
        f"{path} is not a TELEGLAS database (file is not SQLite or is corrupted)"
    )


def _create_private(path: Path) -> None:
    """A new database file is created 0600 (alerts, user ids and settings are nobody else's);
    SQLite gives its -wal and -shm files the database file's mode."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    except OSError as e:
        raise StorageError(f"cannot create database {path}: {e.strerror}") from e
    os.close(fd)


async def _prepare(conn: aiosqlite.Connection, shown: str, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
    """Check the file is ours (or empty) BEFORE writing to it, then set pragmas and migrate."""
    try:
        await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        app_id = await _scalar(conn, "PRAGMA application_id")
        version = await _scalar(conn, "PRAGMA user_version")
        tables = [
            r[0]
            for r in await conn.execute_fetchall(
                "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        if app_id != APPLICATION_ID:
            fresh = app_id == 0 and version == 0 and not tables
            if not fresh:
                listed = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
                raise StorageError(
                    f"{shown} is a SQLite database of another application, not TELEGLAS "
                    f"(application_id {app_id:#x}, user_version {version}, "
                    f"tables: {listed or 'none'}); refusing to touch it — "
                    "point DATABASE_PATH at a new file"
                )
        elif version > LATEST_VERSION:
            raise StorageError(
                f"{shown}: schema version {version} is newer than this TELEGLAS "
                f"(knows up to {LATEST_VERSION}); upgrade TELEGLAS"
            )
        mode = await _scalar(conn, "PRAGMA journal_mode = WAL", as_int=False)
        if mode != "wal" and shown != ":memory:":
            raise StorageError(f"cannot switch {shown} to WAL mode (journal_mode is {mode})")
        await conn.execute("PRAGMA synchronous = NORMAL")
        await conn.execute("PRAGMA foreign_keys = ON")
        await apply_migrations(conn)
        # readers never wait in WAL mode, so take the write lock once: a database another
        # process keeps locked is found here (DatabaseLocked), not at the first alert
        await conn.execute("BEGIN IMMEDIATE")
        await conn.execute("ROLLBACK")
        if busy_timeout_ms != BUSY_TIMEOUT_MS:  # a short wait was for opening only
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    except sqlite3.DatabaseError as e:
        code = getattr(e, "sqlite_errorcode", None)
        if code in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
            raise _not_sqlite(shown) from e
        if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            raise DatabaseLocked(
                f"{shown} is locked by another process (waited {busy_timeout_ms} ms)"
            ) from e
        if code == sqlite3.SQLITE_READONLY:
            raise StorageError(f"{shown} is read-only; TELEGLAS needs to write to it") from e
        raise StorageError(f"cannot open database {shown}: {e}") from e


async def _scalar(conn: aiosqlite.Connection, sql: str, *, as_int: bool = True) -> Any:
    async with conn.execute(sql) as cur:
        row = await cur.fetchone()
    value = None if row is None else row[0]
    return int(value or 0) if as_int else value
