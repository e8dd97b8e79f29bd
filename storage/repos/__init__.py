"""Repositories: the only code that writes SQL for the tables in ``storage.migrations``.

One module per repository (users, access, chats, watchlist, thresholds, signals, outcomes,
outbox); ``common`` holds what several share. Each repository takes the ``Database`` and returns
plain slotted dataclasses, so callers never see rows or SQL. They are the seam for a later
PostgreSQL backend (same method signatures). Wall-clock columns are epoch seconds
(``created_at``/``updated_at``/mutes); signal event times are epoch ms; delivery timestamps are
epoch ns (latency is measured, not assumed). Callers import from ``storage``.
"""
