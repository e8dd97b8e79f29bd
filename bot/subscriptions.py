"""Subscriptions: what a subscriber watches and the thresholds they set, and what follows from it.

One service owns the consequences of a user's choices, so handlers only parse, call it, answer:

* watchlist -> the feeds' symbol set: every change goes through ``watch`` / ``unwatch`` /
  ``resync`` under ONE asyncio.Lock (handlers, the access middleware and the pending
  confirmations share the service, hence the lock). Inside the lock the decision is taken from
  the database, never from the registry's own view: otherwise a /remove that saw "nobody else
  watches X" could drop X from streaming while a concurrent /add of X skipped registry.add
  because X was still there.
* thresholds -> detector floors, both ways: a symbol's floor for a key is the lowest value any
  of its ACTIVE subscribers needs (their per-symbol value, else their global '*' value — the
  precedence routing uses), never above the symbol's defaults. A value below the current floor
  goes straight to the engine; a raise, a reset, a removed symbol or a subscriber who left
  recomputes the floor from the database (the other subscribers' values live there).
* symbols accepted without an instrument list (``PendingConfirmations``): the user hears through
  delivery (durable outbox rows, the limiter, never to an inactive user) when data arrives, or
  the symbol is taken off their list again when none does.
"""
from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from bot.i18n import Texts
from engine.core import Engine
from engine.signals import Tier
from engine.thresholds import USER_KEYS, Thresholds, check_value, clamp_value, floor_fields
from locales import Translator
from storage import ALL_SYMBOLS, ThresholdRepo, UserRepo, WatchlistRepo

log = logging.getLogger(__name__)

MAX_WATCHLIST = 30  # symbols per subscriber


class WatchlistFull(Exception):
    """``Subscriptions.watch``: the subscriber already watches ``limit`` coins (not a
    ValueError: that one means the feeds' registry is full)."""

    def __init__(self, symbol: str, limit: int) -> None:
        super().__init__(f"{symbol}: watchlist full ({limit} coins)")
        self.symbol = symbol
        self.limit = limit

Overrides = Mapping[tuple[str, str], float]  # (symbol or '*', user key) -> value


# ---------------------------------------------------------------------------- collaborators


class SymbolRegistry(Protocol):
    """engine.feeds.registry.SubscriptionRegistry: the live set of symbols the feeds stream."""

    @property
    def symbols(self) -> Collection[str]: ...

    def add(self, symbol: str) -> bool: ...  # raises RegistryFull (a ValueError) when full

    def remove(self, symbol: str) -> bool: ...

    def replace(self, symbols: Iterable[str]) -> bool: ...


class DetectorFloors(Protocol):
    """engine.core.Engine as the floors see it."""

    def set_floor(self, symbol: str, **fields: float | None) -> Thresholds: ...

    def thresholds_for(self, symbol: str) -> Thresholds: ...


class InstrumentCatalog(Protocol):
    """engine.feeds.instruments.InstrumentCatalog as /add uses it: which coins the venues list
    (when ``available`` is False, /add accepts symbols unverified: ``PendingConfirmations``)."""

    @property
    def available(self) -> bool: ...  # False: the lists could not be loaded (degraded mode)

    @property
    def venues(self) -> tuple[str, ...]: ...  # () for a simulator or replay run: nothing to load

    def known(self, text: str) -> bool: ...

    def suggest(self, text: str, n: int = 3) -> list[str]: ...


class Notifier(Protocol):
    """bot.delivery.Delivery.notify: a durable one-off notice to listed active users."""

    async def notify(self, notice_id: str, user_ids: Iterable[int], render: Callable[[str], str], *,
                     tier: Tier = Tier.INFO) -> int: ...


# ---------------------------------------------------------------------------- floors


def effective_values(overrides: Overrides, symbol: str) -> dict[str, float]:
    """One user's value per key on ``symbol``: per-symbol, else their '*' value; keys they
    never set are left out (the default stands for them)."""
    out = {}
    for key in USER_KEYS:
        value = overrides.get((symbol, key), overrides.get((ALL_SYMBOLS, key)))
        if value is not None:
            out[key] = clamp_value(key, float(value))
    return out


def engine_has_data(engine: Engine, symbol: str) -> bool:
    """Has any venue sent trades for ``symbol``? (what confirms an unverified /add)"""
    st = engine.states.get(symbol)
    if st is not None and st.trades:
        return True
    snap = engine.flow(symbol, "1h")
    return snap is not None and snap.trades > 0


# ---------------------------------------------------------------------------- pending confirmations


@dataclass(frozen=True, slots=True)
class Pending:
    user_id: int
    symbol: str
    stamp_ns: int  # wall time of the /add: the notice id, so a re-add is told again


class PendingConfirmations:
    """Symbols accepted without an instrument list, waiting for data: bounded (the oldest
    dropped first), timed by ``clock``. ``take`` hands out those with data and those whose
    wait is over; ``Subscriptions.confirm_pending`` acts on them."""

    def __init__(self, *, timeout_s: float = 600.0, max_items: int = 1000,
                 clock: Callable[[], float] = time.monotonic,
                 wall_ns: Callable[[], int] = time.time_ns) -> None:
        self.timeout_s = timeout_s
        self.max_items = max_items
        self._clock = clock
        self._wall_ns = wall_ns
        self._items: OrderedDict[tuple[int, str], tuple[float, int]] = OrderedDict()

    @property
    def minutes(self) -> int:
        """The wait as users read it ("in 10 min")."""
        return max(1, round(self.timeout_s / 60))

    def add(self, user_id: int, symbol: str) -> None:
        self._items[(user_id, symbol)] = (self._clock(), self._wall_ns())
        while len(self._items) > self.max_items:
            self._items.popitem(last=False)

    def discard(self, user_id: int, symbol: str) -> None:
        self._items.pop((user_id, symbol), None)

    def __len__(self) -> int:
        return len(self._items)

    def take(self, has_data: Callable[[str], bool]) -> tuple[list[Pending], list[Pending]]:
        """(entries whose symbol has data now, entries whose wait is over), both removed."""
        now = self._clock()
        confirmed: list[Pending] = []
        expired: list[Pending] = []
        for (user_id, symbol), (since, stamp) in list(self._items.items()):
            if has_data(symbol):
                confirmed.append(Pending(user_id, symbol, stamp))
            elif now - since >= self.timeout_s:
                expired.append(Pending(user_id, symbol, stamp))
            else:
                continue
            del self._items[(user_id, symbol)]
        return confirmed, expired


# ---------------------------------------------------------------------------- the service


class Subscriptions:
    """Watch/unwatch, thresholds and their consequences (see the module docstring)."""

    def __init__(self, *, watchlist: WatchlistRepo, thresholds: ThresholdRepo, users: UserRepo,
                 tr: Translator, engine: DetectorFloors | None = None,
                 registry: SymbolRegistry | None = None, lock: asyncio.Lock | None = None,
                 notifier: Notifier | None = None, pending: PendingConfirmations | None = None,
                 max_watchlist: int = MAX_WATCHLIST) -> None:
        self.watchlist = watchlist
        self.max_watchlist = max_watchlist
        self.thresholds = thresholds
        self.users = users
        self.tr = tr
        self.engine = engine
        self.registry = registry
        self.lock = lock if lock is not None else asyncio.Lock()
        self.notifier = notifier
        self.pending = pending if pending is not None else PendingConfirmations()
        # a value written and the floors moved for it are one step: a recompute that read the
        # database just before a write must not overwrite the floor that write lowered
        self._floors_lock = asyncio.Lock()

    # ---- watchlist -> the feeds' symbol set ---------------------------------------------------
    async def _watched(self, symbol: str) -> bool:
        """Does any active user watch ``symbol``? (one indexed row, not every symbol)"""
        return bool(await self.watchlist.users_for_symbol_page(symbol, 0, 1))

    async def watch(self, user_id: int, symbol: str) -> bool:
        """Put ``symbol`` on the user's list, make the feeds stream it, and lower its floors to
        what this user's thresholds need. False when it was on the list already; raises
        WatchlistFull when the subscriber has ``max_watchlist`` coins already (every path —
        /add, buttons, groups — obeys the one cap, counted under the lock) and ValueError (the
        registry's RegistryFull) when the feeds are full; then nothing is stored."""
        async with self.lock:
            if await self.watchlist.count_for_user(user_id) >= self.max_watchlist:
                if any(e.symbol == symbol for e in await self.watchlist.list_for_user(user_id)):
                    return False  # on the list already: that answer, not "full"
                raise WatchlistFull(symbol, self.max_watchlist)
            registry = self.registry
            if registry is None or symbol in registry.symbols:
                added = await self.watchlist.add(user_id, symbol)
            else:
                registry.add(symbol)  # the feeds start streaming it now
                try:
                    added = await self.watchlist.add(user_id, symbol)
                except BaseException:
                    if not await self._watched(symbol):  # stored nothing: stream nothing
                        registry.remove(symbol)
                    raise
        if added and self.engine is not None:
            async with self._floors_lock:
                self._lower(symbol, effective_values(await self.thresholds.get_all(user_id), symbol))
        return added

    async def unwatch(self, user_id: int, symbol: str) -> bool:
        """Take ``symbol`` off the user's list; stop streaming it when no active user watches
        it; its floors go back up to what the remaining subscribers need."""
        async with self.lock:
            removed = await self.watchlist.remove(user_id, symbol)
            if removed and self.registry is not None and not await self._watched(symbol):
                self.registry.remove(symbol)
        if removed:
            self.pending.discard(user_id, symbol)
            await self.refloor(symbol)
        return removed

    async def resync(self, user_id: int | None = None) -> None:
        """After a subscriber became active or inactive (/deny, a group muting the bot, a user
        coming back): the feeds stream what active users watch, and the floors of that
        subscriber's symbols follow who is still active."""
        if self.registry is not None:
            async with self.lock:
                self.registry.replace(await self.watchlist.all_symbols())
        if user_id is not None:
            for entry in await self.watchlist.list_for_user(user_id):
                await self.refloor(entry.symbol)

    # ---- thresholds -> detector floors --------------------------------------------------------
    async def set_threshold(self, user_id: int, symbol: str, key: str, value: float) -> float:
        """Store the user's ``value`` for ``key`` on ``symbol`` ('*': every coin) and move the
        floors of the watched symbols it governs. Raises OutOfRange (a ValueError) for a value
        outside the key's range — the one check — and then nothing changes. Returns the value."""
        value = check_value(key, value)
        async with self._floors_lock:
            await self.thresholds.set(user_id, symbol, key, value)
            await self._follow(user_id, symbol, key, value)
        return value

    async def _follow(self, user_id: int, symbol: str, key: str, value: float) -> None:
        if self.engine is None:
            return
        if symbol == ALL_SYMBOLS:
            overrides = await self.thresholds.get_all(user_id)
            governed = [e.symbol for e in await self.watchlist.list_for_user(user_id)
                        if (e.symbol, key) not in overrides]  # a per-symbol value wins there
        else:
            governed = [e.symbol for e in await self.watchlist.list_for_user(user_id) if e.symbol == symbol]
        field = USER_KEYS[key].field
        for s in governed:
            if value <= getattr(self.engine.thresholds_for(s), field):
                self._lower(s, {key: value})  # the new lowest: no one else needs to be asked
            else:
                await self._refloor(s)  # maybe raised: the others' values decide

    async def reset_thresholds(self, user_id: int, symbol: str | None = None, key: str | None = None) -> int:
        """Delete the user's values (all; or of one symbol / '*'; and/or one key); the floors
        they held down go back up. Returns how many values were deleted."""
        async with self._floors_lock:
            removed = await self.thresholds.reset(user_id, symbol, key)
            if removed and self.engine is not None:
                for entry in await self.watchlist.list_for_user(user_id):
                    if symbol in (None, ALL_SYMBOLS, entry.symbol):
                        await self._refloor(entry.symbol)
        return removed

    def _lower(self, symbol: str, values: Mapping[str, float]) -> None:
        """Pull floors of ``symbol`` down to ``values`` where they are lower than today's."""
        if self.engine is None or not values:
            return
        now = self.engine.thresholds_for(symbol)
        lower = {k: v for k, v in values.items() if v < getattr(now, USER_KEYS[k].field)}
        if lower:
            self.engine.set_floor(symbol, **floor_fields(lower))

    async def refloor(self, symbol: str) -> None:
        """Recompute ``symbol``'s floors from its active subscribers' stored values (the
        defaults where none needs lower)."""
        if self.engine is not None:
            async with self._floors_lock:
                await self._refloor(symbol)

    async def _refloor(self, symbol: str) -> None:
        if self.engine is None:
            return
        need: dict[str, float] = {}
        # one query (joined with users.active), not one user lookup per subscriber: this runs
        # under the floors lock, which every /add and /thresholds waits for
        for overrides in (await self.thresholds.for_watchers_of(symbol, active_only=True)).values():
            for key, value in effective_values(overrides, symbol).items():
                need[key] = min(value, need.get(key, math.inf))
        self.engine.set_floor(symbol, **floor_fields({k: need.get(k) for k in USER_KEYS}))

    async def seed_floors(self) -> None:
        """At start-up: every floor its active subscribers' stored values need (the same rule
        as ``refloor``, read once per user with values, not once per symbol)."""
        if self.engine is None:
            return
        need: dict[str, dict[str, float]] = {}
        for user_id, overrides in (await self.thresholds.all_overrides()).items():
            user = await self.users.get(user_id)
            if user is None or not user.active:
                continue
            for entry in await self.watchlist.list_for_user(user_id):
                floors = need.setdefault(entry.symbol, {})
                for key, value in effective_values(overrides, entry.symbol).items():
                    floors[key] = min(value, floors.get(key, math.inf))
        for symbol, floors in need.items():
            self._lower(symbol, floors)

    # ---- pending confirmations ----------------------------------------------------------------
    async def confirm_pending(self, has_data: Callable[[str], bool]) -> None:
        """Tell users whose unverified symbols now have data; take those that got none in time
        off the lists (and off the feeds when nobody else watches them) and say so."""
        confirmed, expired = self.pending.take(has_data)
        for p in confirmed:
            await self._tell(p, "confirmed", "add-confirmed")
        for p in expired:
            try:
                removed = await self.unwatch(p.user_id, p.symbol)
            except Exception as e:  # the database is busy or gone: say so, keep the rest going
                log.warning("could not remove unconfirmed %s for %s: %s", p.symbol, p.user_id, e)
                await self._tell(p, "no-data", "add-no-data")
                continue
            if removed:  # else the user removed it meanwhile (then it was discarded) or re-added
                await self._tell(p, "removed", "add-no-data-removed")

    async def _tell(self, p: Pending, what: str, text_key: str) -> None:
        if self.notifier is None:
            log.info("no delivery: %s of %s for %s not sent", what, p.symbol, p.user_id)
            return
        minutes = str(self.pending.minutes)

        def render(lang: str) -> str:
            return Texts(self.tr, lang)(text_key, symbol=p.symbol, minutes=minutes)

        try:  # the user's current language; nothing for an inactive (denied, blocked) user
            await self.notifier.notify(f"add:{what}:{p.symbol}:{p.stamp_ns}", [p.user_id], render)
        except Exception as e:  # one failed notice must not stop the others
            log.warning("confirmation of %s for %s not queued: %s", p.symbol, p.user_id, e)

    async def run_confirmations(self, has_data: Callable[[str], bool], interval_s: float = 5.0) -> None:
        """``confirm_pending`` every ``interval_s`` for the life of the process."""
        while True:
            await asyncio.sleep(interval_s)
            await self.confirm_pending(has_data)
