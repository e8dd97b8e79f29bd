"""Build the configured feeds from settings (``MARKET_SOURCES``).

``binance``, ``bybit``, ``okx``, ``coinglass`` -> live WebSocket clients sharing one
``SubscriptionRegistry`` (the watched coins) and one ``InstrumentCatalog`` (native symbols,
contract sizes); ``simulator`` -> the built-in simulator paced in real time; ``replay:<path>`` ->
the recording paced in real time. Every object returned has ``name``, ``stats`` and ``run(put)``.
"""
from __future__ import annotations

from ..simulator import MarketSimulator, SimulatorFeed
from .binance import BinanceFeed
from .bybit import BybitFeed
from .coinglass import CoinGlassFeed
from .instruments import InstrumentCatalog
from .okx import OkxFeed
from .registry import SubscriptionRegistry
from .replay import ReplayFeed

LIVE_SOURCES = ("binance", "bybit", "okx", "coinglass")


class FeedConfigError(ValueError):
    """A feed cannot be built from the settings (one line, names the setting)."""


def build_live_feeds(settings, registry: SubscriptionRegistry, catalog: InstrumentCatalog | None = None, *,
                     live_only: bool = False, on_raw=None, **overrides) -> list:
    """One feed per entry of MARKET_SOURCES. ``live_only`` skips simulator/replay (``record``);
    ``on_raw(recv_ns, frame)`` taps every raw frame of the live feeds; ``overrides`` go to every
    live feed's constructor (tests: short ping/stale/backoff intervals)."""
    feeds: list = []
    common = dict(on_raw=on_raw, **overrides)
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
            feeds.append(SimulatorFeed(MarketSimulator(), speed=1.0))
        elif source.startswith("replay:"):
            feeds.append(ReplayFeed(source[len("replay:"):], speed=1.0))
        else:
            raise FeedConfigError(f"MARKET_SOURCES: unknown source {source!r}")
    return feeds
