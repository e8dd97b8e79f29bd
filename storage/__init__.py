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
    TOPIC_ALL,
    AccessEntry,
    AccessRepo,
    ChatRepo,
    DeliveryTiming,
    EarlierDelivery,
    GroupChat,
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
    "TOPIC_ALL",
    "APPLICATION_ID",
    "AccessEntry",
    "AccessRepo",
    "ChatRepo",
    "ConstraintError",
    "Database",
    "DeliveryTiming",
    "EarlierDelivery",
    "GroupChat",
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
