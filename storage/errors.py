"""Storage errors. ``str()`` of each is a sentence an operator can act on."""
from __future__ import annotations


class StorageError(Exception):
    """The database cannot be opened or used; the message says why and what to do."""


class DatabaseLocked(StorageError):
    """Another process holds the database's write lock (busy_timeout ran out). Waiting may help:
    ``teleglas run`` retries for a bounded time at start-up, then exits 1 (the service manager
    restarts it), never 2."""


class ConstraintError(StorageError):
    """A write broke a constraint (unknown user, duplicate key, NOT NULL, ...)."""
