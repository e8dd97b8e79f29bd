"""One Router per feature; ``get_routers()`` in the order they must be tried (fallback last)."""
from __future__ import annotations

from aiogram import Router


def get_routers() -> list[Router]:
    """Fresh routers each call, so several dispatchers (tests, restarts) can coexist."""
    from bot.handlers import (admin, fallback, flow, groups, mute, signals, start, stats, thresholds,
                              tiers, watchlist)

    return [m.build_router() for m in (groups, start, watchlist, mute, flow, thresholds, tiers, signals, stats,
                                       admin, fallback)]
