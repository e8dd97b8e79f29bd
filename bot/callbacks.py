"""CallbackData factories shared by every keyboard (short, versioned prefixes; <= 64 bytes).

Callback data never carries a user id: a button always acts on the user who pressed it, so a
forged or forwarded callback cannot change somebody else's data.
"""
from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class FlowCB(CallbackData, prefix="f1"):
    """Show / refresh the order-flow snapshot of ``symbol`` over ``window`` (1m, 5m, 15m, 1h)."""

    symbol: str
    window: str = "5m"


class MuteCB(CallbackData, prefix="m1"):
    """Mute ``symbol`` ('*' = everything) for ``minutes`` (0 = unmute)."""

    symbol: str
    minutes: int


class ThrCB(CallbackData, prefix="t1"):
    """Thresholds view/edit: ``op`` is open | inc | dec | preset | reset; ``symbol`` '*' = global."""

    symbol: str
    op: str
    key: str = ""
    value: str = ""


class FlowTextCB(CallbackData, prefix="ft1"):
    """"Details" under a /flow chart: the snapshot's full text as a new message."""

    symbol: str
    window: str


class FlowViewCB(CallbackData, prefix="fv1"):
    """Timeframe / Refresh buttons under a /flow message: edit that message in place."""

    symbol: str
    window: str


class MenuCB(CallbackData, prefix="mn1"):
    """Main-menu buttons: ``action`` is list | signals | thr | tiers | mute | lang | help."""

    action: str


class WatchCB(CallbackData, prefix="w1"):
    """Watchlist buttons: ``op`` ask (remove?) | yes (remove) | no (keep)."""

    op: str
    symbol: str


class TierCB(CallbackData, prefix="tr1"):
    """/tiers toggles: ``op`` on (reach me or not) | silent (with or without sound)."""

    tier: str
    op: str


class LangCB(CallbackData, prefix="l1"):
    lang: str


class StatsCB(CallbackData, prefix="st1"):
    """/stats period buttons: edit that message in place. ``scope`` mine | all | a symbol;
    ``kind`` '' or a Kind value; ``period`` 24h | 7d | 30d | all."""

    scope: str
    kind: str = ""
    period: str = "7d"
