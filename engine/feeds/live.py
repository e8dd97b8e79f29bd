"""Build the configured feeds from settings (``MARKET_SOURCES``).

``binance``, ``bybit``, ``okx``, ``coinglass`` -> live WebSocket clients sharing one
``SubscriptionRegistry`` (the watched coins) and one ``InstrumentCatalog`` (native symbols,
contract sizes); ``simulator`` -> the built-in simulator paced in real time; ``replay:<path>`` ->
the recording paced in real time. Every object returned has ``name``, ``stats`` and ``run(put)``.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Protocol

from ..simulator import DEFAULT_SYMBOLS, TICK_MS, EpisodePlan, MarketSimulator, SimulatorFeed, default_plan
from .base import Feed
from .binance import BinanceFeed
from .bybit import BybitFeed
from .coinglass import CoinGlassFeed
from .instruments import VenueUrls
from .okx import OkxFeed
from .registry import SubscriptionRegistry
from .replay import ReplayFeed
from .ws import InstrumentSource, RawTap

LIVE_SOURCES = ("binance", "bybit", "okx", "coinglass")


class FeedConfigError(ValueError):
    """A feed cannot be built from the settings (one line, names the setting)."""


class Secret(Protocol):
    def get_secret_value(self) -> str: ...


class FeedSettings(VenueUrls, Protocol):
    """The settings the feeds are built from (``config.settings.Settings`` has them; read only)."""

    @property
    def MARKET_SOURCES(self) -> Sequence[str]: ...

    @property
    def BINANCE_WS_URL(self) -> str: ...

    @property
    def OKX_WS_URL(self) -> str: ...

    @property
    def COINGLASS_WS_URL(self) -> str: ...

    @property
    def COINGLASS_API_KEY(self) -> Secret | None: ...


LIVE_SIM_HOURS = 24
LIVE_SIM_FIRST_EPISODE_S = 240
LIVE_SIM_EPISODE_EVERY_S = 600


def live_simulator(now_ms: int | None = None) -> MarketSimulator:
    """The simulator as a live source (``MARKET_SOURCES=simulator``, a dry run without exchanges):
    its clock starts now, so alert times and "valid until" read right, and it scripts one episode
    every 10 minutes (the first after 4) over 24 hours, cycling through every kind and symbol."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    start = now_ms - now_ms % TICK_MS
    kinds = [(p.kind, p.direction) for p in default_plan(3600.0)]
    symbols = [s.symbol for s in DEFAULT_SYMBOLS]
    plan: list[EpisodePlan] = []
    at = float(LIVE_SIM_FIRST_EPISODE_S)
    i = 0
    while at + 700 < LIVE_SIM_HOURS * 3600:
        kind, direction = kinds[i % len(kinds)]
        plan.append(EpisodePlan(kind, symbols[i % len(symbols)], direction, at))
        at += LIVE_SIM_EPISODE_EVERY_S
        i += 1
    return MarketSimulator(duration_s=LIVE_SIM_HOURS * 3600.0, plan=plan, start_ts=start)


def build_live_feeds(settings: FeedSettings, registry: SubscriptionRegistry, catalog: InstrumentSource | None = None,
                     *, live_only: bool = False, on_raw: RawTap | None = None, **overrides: Any) -> list[Feed]:
    """One feed per entry of MARKET_SOURCES. ``live_only`` skips simulator/replay (``record``);
    ``on_raw(recv_ns, frame)`` taps every raw frame of the live feeds; ``overrides`` go to every
    live feed's constructor (tests: short ping/stale/backoff intervals)."""
    feeds: list[Feed] = []
    common: dict[str, Any] = dict(on_raw=on_raw, **overrides)
    for source in settings.MARKET_SOURCES:
        if source == "binance":
            try:
                feeds.append(BinanceFeed(settings.BINANCE_WS_URL, registry, catalog, **common))
            except ValueError as exc:
                raise FeedConfigError(str(exc)) from None
        elif source == "bybit":
            feeds.append(BybitFeed(settings.BYBIT_WS_URL, registry, catalog, **common))
        elif source == "okx":
            feeds.append(OkxFeed(settings.OKX_WS_URL, registry, catalog, **common))
        elif source == "coinglass":
            key = settings.COINGLASS_API_KEY.get_secret_value() if settings.COINGLASS_API_KEY else ""
            if not key:
                raise FeedConfigError("COINGLASS_API_KEY: required when MARKET_SOURCES includes coinglass")
            direct = frozenset(s for s in settings.MARKET_SOURCES if s in ("binance", "bybit", "okx"))
            feeds.append(CoinGlassFeed(settings.COINGLASS_WS_URL, registry, catalog, api_key=key,
                                       direct_venues=direct, **common))
        elif live_only:
            continue
        elif source == "simulator":
            feeds.append(SimulatorFeed(live_simulator(), speed=1.0))
        elif source.startswith("replay:"):
            feeds.append(ReplayFeed(source[len("replay:"):], speed=1.0))
        else:
            raise FeedConfigError(f"MARKET_SOURCES: unknown source {source!r}")
    return feeds
