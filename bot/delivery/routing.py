"""Who receives a Signal: a pure decision per subscriber (no I/O, time passed in).

The caller looks subscribers up BY SYMBOL (``WatchlistRepo.users_for_symbol_page`` uses the
``watchlist_symbol`` index, ``ThresholdRepo.for_watchers_of`` joins through it), so the cost of
routing one signal grows with the symbol's watchers, never with the whole user base.

A subscriber receives the signal when, in this order (the first failing rule is the reason):
1. the signal's tier FOR THEM is among the user's tiers (``engine.contract``: the tier follows the
   size relative to the user's own threshold, e.g. a cascade >= 3x their ``cascade`` is URGENT);
2. the user is not muted (all symbols) and the symbol is not muted for them;
3. it is not the user's quiet hours (URGENT pierces them when the user chose that);
4. the thresholds that judge the signal's kind pass (``engine.contract``: size knobs for kinds that
   have one — cascade, whale, dominance, funding — and the minimum score only for kinds without:
   divergence, volume spike) — per-symbol value, else the user's global ('*') value, else the
   symbol-class default (``engine.thresholds``);
5. the user is under their hourly cap (alerts accepted in the last hour).
Delivery is silent (``disable_notification``) when the tier is among the user's silent tiers.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from bot.i18n import zone  # the one time-zone fallback (UTC), shared with the handlers
from engine.contract import Below, check, threshold
from engine.signals import Signal, Tier
from engine.thresholds import Thresholds, defaults_for
from storage import Subscriber, ThresholdMap, User


class Skip(str, Enum):
    """Why a subscriber does not receive a signal."""

    TIER = "tier"
    MUTED = "muted"
    SYMBOL_MUTED = "symbol_muted"
    QUIET = "quiet_hours"
    CASCADE = "below_cascade"
    WHALE = "below_whale"
    DOMINANCE = "below_dominance"
    FUNDING = "below_funding"
    SCORE = "below_score"
    CAP = "hourly_cap"


_BELOW_SKIP = {b: Skip(b.value) for b in Below}

__all__ = ["Recipient", "Skip", "decide", "decide_tier", "in_quiet_window", "route", "threshold"]


@dataclass(frozen=True, slots=True)
class Recipient:
    user: User
    silent: bool
    tier: Tier  # the signal's tier for this user (engine.contract)


def _hhmm(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def in_quiet_window(start: str | None, end: str | None, minute_of_day: int) -> bool:
    """``start`` <= t < ``end`` ('HH:MM'); a window may wrap midnight (22:00-07:00)."""
    if not start or not end:
        return False
    s, e = _hhmm(start), _hhmm(end)
    if s == e:
        return False
    if s < e:
        return s <= minute_of_day < e
    return minute_of_day >= s or minute_of_day < e


def local_minute(now_s: float, tz_name: str) -> int:
    local = datetime.fromtimestamp(now_s, tz=zone(tz_name))
    return local.hour * 60 + local.minute


def decide(signal: Signal, user: User, symbol_muted_until: int,
           overrides: Mapping[tuple[str, str], float], *, now_s: float,
           sent_last_hour: int, defaults: Thresholds | None = None,
           minute_of_day: int | None = None) -> Skip | None:
    """None when ``user`` receives ``signal``, else the first rule that stops it."""
    return decide_tier(signal, user, symbol_muted_until, overrides, now_s=now_s,
                       sent_last_hour=sent_last_hour, defaults=defaults, minute_of_day=minute_of_day)[0]


def decide_tier(signal: Signal, user: User, symbol_muted_until: int,
                overrides: Mapping[tuple[str, str], float], *, now_s: float,
                sent_last_hour: int, defaults: Thresholds | None = None,
                minute_of_day: int | None = None) -> tuple[Skip | None, Tier]:
    """(None when ``user`` receives ``signal``, else the first rule that stops it; their tier)."""
    below, tier = check(signal, overrides, defaults or defaults_for(signal.symbol))
    if tier.value not in user.tiers:
        return Skip.TIER, tier
    if user.muted_until > now_s:
        return Skip.MUTED, tier
    if symbol_muted_until > now_s:
        return Skip.SYMBOL_MUTED, tier
    if user.quiet_start and user.quiet_end:
        pierces = tier is Tier.URGENT and user.quiet_urgent_pierces
        if not pierces:
            minute = local_minute(now_s, user.tz) if minute_of_day is None else minute_of_day
            if in_quiet_window(user.quiet_start, user.quiet_end, minute):
                return Skip.QUIET, tier
    if below is not None:
        return _BELOW_SKIP[below], tier
    if sent_last_hour >= user.hourly_cap:
        return Skip.CAP, tier
    return None, tier


def route(signal: Signal, subscribers: Iterable[Subscriber],
          overrides_by_user: Mapping[int, ThresholdMap], *, now_s: float,
          sent_last_hour: Mapping[int, int] | Callable[[int], int]) -> tuple[list[Recipient], Counter[str]]:
    """Recipients of ``signal`` among the symbol's subscribers, and why the others were skipped."""
    defaults = defaults_for(signal.symbol)
    count = sent_last_hour if callable(sent_last_hour) else (lambda uid: sent_last_hour.get(uid, 0))
    minutes: dict[str, int] = {}  # local minute per time zone, computed once per zone
    empty: ThresholdMap = {}
    recipients: list[Recipient] = []
    skipped: Counter[str] = Counter()
    for sub in subscribers:
        user = sub.user
        if not user.active:
            skipped["inactive"] += 1
            continue
        minute = None
        if user.quiet_start and user.quiet_end:
            minute = minutes.get(user.tz)
            if minute is None:
                minute = minutes[user.tz] = local_minute(now_s, user.tz)
        reason, tier = decide_tier(
            signal, user, sub.symbol_muted_until, overrides_by_user.get(user.id, empty),
            now_s=now_s, sent_last_hour=count(user.id), defaults=defaults, minute_of_day=minute,
        )
        if reason is None:
            recipients.append(Recipient(user, tier.value in user.silent_tiers, tier))
        else:
            skipped[reason.value] += 1
    return recipients, skipped
