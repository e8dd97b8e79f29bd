"""Storage errors. ``str()`` of each is a sentence an operator can act on."""
from __future__ import annotations


class StorageError(Exception):
    """The database cannot be opened or used; the message says why and what to do."""


class ConstraintError(StorageError):
    """A write broke a constraint (unknown user, duplicate key, NOT NULL, ...)."""
