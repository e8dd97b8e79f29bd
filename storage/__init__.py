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
from storage.repos.access import AccessEntry, AccessRepo
from storage.repos.chats import TOPIC_ALL, ChatRepo, GroupChat
from storage.repos.common import ALL_SYMBOLS
from storage.repos.outbox import DeliveryTiming, EarlierDelivery, OutboxRepo, OutboxRow
from storage.repos.outcomes import OpenOutcome, Outcome, OutcomeRepo, OutcomeStat, OutcomeWrite
from storage.repos.signals import SignalRepo, StoredSignal
from storage.repos.thresholds import ThresholdMap, ThresholdRepo
from storage.repos.users import User, UserRepo
from storage.repos.watchlist import Subscriber, WatchEntry, WatchlistRepo

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
    "OpenOutcome",
    "Outcome",
    "OutcomeRepo",
    "OutcomeStat",
    "OutcomeWrite",
    "OutboxRow",
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
