"""The watched symbol set, shared by every live feed and changed live by the bot (/add, /remove).

Symbols are canonical bases ("BTC", "PEPE"). Every change bumps ``version`` and wakes each
listener; a live feed listening here diffs the new set against what its connection is subscribed
to and sends subscribe/unsubscribe messages, without a restart. After a reconnect a feed replays
the whole current set, so changes made while it was down are not lost.
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterable

from ..symbols import SymbolError, normalize_symbol

DEFAULT_MAX_SYMBOLS = 500  # Binance allows 1024 streams per connection; Bybit uses 3 topics a symbol


class RegistryFull(ValueError):
    """Adding the symbol would exceed the registry's limit."""


class RegistryListener:
    """Handle returned by ``SubscriptionRegistry.listen()``; ``await wait()`` returns after a change."""

    __slots__ = ("_event", "_registry")

    def __init__(self, registry: SubscriptionRegistry) -> None:
        self._registry = registry
        self._event = asyncio.Event()

    def _notify(self) -> None:
        self._event.set()

    @property
    def pending(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> frozenset[str]:
        await self._event.wait()
        self._event.clear()
        return self._registry.symbols

    def close(self) -> None:
        self._registry._listeners.discard(self)


class SubscriptionRegistry:
    def __init__(self, symbols: Iterable[str] = (), *, max_symbols: int = DEFAULT_MAX_SYMBOLS) -> None:
        self.max_symbols = max_symbols
        self._listeners: set[RegistryListener] = set()
        self.version = 0
        self.symbols: frozenset[str] = frozenset()
        self.replace(symbols)

    @staticmethod
    def canonical(symbol: str) -> str:
        """Canonical base for any spelling; raises SymbolError (a ValueError) for nonsense."""
        return normalize_symbol(symbol)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self.symbols

    def __len__(self) -> int:
        return len(self.symbols)

    def _set(self, new: frozenset[str]) -> bool:
        if new == self.symbols:
            return False
        if len(new) > self.max_symbols:
            raise RegistryFull(f"at most {self.max_symbols} symbols can be watched")
        self.symbols = new
        self.version += 1
        for listener in list(self._listeners):
            listener._notify()
        return True

    def add(self, symbol: str) -> bool:
        """Watch a symbol. Returns True when the set changed."""
        return self._set(self.symbols | {self.canonical(symbol)})

    def remove(self, symbol: str) -> bool:
        """Stop watching a symbol. Returns True when the set changed."""
        try:
            base = self.canonical(symbol)
        except SymbolError:
            return False
        return self._set(self.symbols - {base})

    def replace(self, symbols: Iterable[str]) -> bool:
        """Set the whole watched set at once (e.g. the union of every user's watchlist)."""
        return self._set(frozenset(self.canonical(s) for s in symbols))

    def listen(self) -> RegistryListener:
        listener = RegistryListener(self)
        self._listeners.add(listener)
        return listener
