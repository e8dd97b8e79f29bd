"""SQLite storage: one connection (WAL), append-only migrations, async repositories.

Never imports ``bot/`` or aiogram. Build once in ``main()``::

    db = await Database.open(settings.DATABASE_PATH)
    users = UserRepo(db)
    ...
    await db.close()
"""
from storage.db import Database
from storage.errors import ConstraintError, DatabaseLocked, StorageError
from storage.migrations import APPLICATION_ID, LATEST_VERSION, MIGRATIONS
from storage.repositories import (
    ALL_SYMBOLS,
    AccessEntry,
    AccessRepo,
    DeliveryTiming,
    EarlierDelivery,
    NewOutboxMessage,
    OpenOutcome,
    Outcome,
    OutcomeRepo,
    OutcomeStat,
    OutcomeWrite,
    OutboxMessage,
    OutboxRepo,
    SignalRepo,
    StoredSignal,
    Subscriber,
    ThresholdMap,
    ThresholdRepo,
    User,
    UserRepo,
    WatchEntry,
    WatchlistRepo,
)

__all__ = [
    "ALL_SYMBOLS",
    "APPLICATION_ID",
    "AccessEntry",
    "AccessRepo",
    "ConstraintError",
    "Database",
    "DeliveryTiming",
    "EarlierDelivery",
    "LATEST_VERSION",
    "MIGRATIONS",
    "NewOutboxMessage",
    "OpenOutcome",
    "Outcome",
    "OutcomeRepo",
    "OutcomeStat",
    "OutcomeWrite",
    "OutboxMessage",
    "OutboxRepo",
    "SignalRepo",
    "StorageError",
    "DatabaseLocked",
    "StoredSignal",
    "Subscriber",
    "ThresholdMap",
    "ThresholdRepo",
    "User",
    "UserRepo",
    "WatchEntry",
    "WatchlistRepo",
]
