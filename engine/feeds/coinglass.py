"""CoinGlass WebSocket (API v4): parse ``liquidationOrders`` and ``futures_trades@...`` pushes.

Frames (PROTOCOLS.md, docs.coinglass.com ws-getting-started):
``{"channel": "liquidationOrders", "data": [{"baseAsset": "BTC", "exName": "Binance",
"price": 56738.0, "side": 2, "symbol": "BTCUSDT", "time": 1725416318379, "volUsd": 3858.184}]}``
- ``data`` is a BATCH (array); numbers are JSON numbers; ``time`` epoch ms; ``volUsd`` is USD.
- one doc version spells the keys in snake_case (``base_asset``, ``exchange``, ``volume_usd``):
  both spellings are accepted (``FIELD_SPELLINGS``).
- ``symbol`` is venue-native; the coin comes from ``baseAsset`` (``1000PEPE`` -> ``PEPE`` per coin).
- the heartbeat reply is the TEXT ``pong`` (handled before JSON by the live client).
- the venue attached to each event is the exchange CoinGlass reports (``exName``: "Binance", "OKX"...).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ..events import Event, Liquidation, PositionSide, Side, Trade
from ..symbols import SymbolError, parse_instrument
from .base import AUTH_REJECTED, JsonObject, ParseError, UnsupportedSymbol, VendorError, number, parse_batch

_S = TypeVar("_S", Side, PositionSide)

# CoinGlass liquidation ``side``: the WS doc says 1 = LONG position liquidated, 2 = SHORT
# liquidated. The REST doc calls them 1 = buy / 2 = sell, which read as ORDER sides would mean the
# opposite. We follow the WS doc (it describes this very channel); if live data ever proves the
# other reading, flip it HERE — this is the only place the mapping lives.
LIQUIDATION_SIDE: dict[object, PositionSide] = {1: PositionSide.LONG, 2: PositionSide.SHORT}
# ``futures_trades`` ``side``: 1 = taker sell, 2 = taker buy.
TRADE_SIDE: dict[object, Side] = {1: Side.SELL, 2: Side.BUY}
LIQUIDATION_CHANNELS = frozenset({"liquidationOrders", "liquidation_orders"})
TRADES_PREFIX = "futures_trades@"
FIELD_SPELLINGS = {
    "base": ("baseAsset", "base_asset"),
    "exchange": ("exName", "exchange", "ex_name", "exchangeName", "exchange_name"),
    "usd": ("volUsd", "volume_usd", "vol_usd", "volumeUsd"),
    "price": ("price",),
    "side": ("side",),
    "symbol": ("symbol",),
    "time": ("time", "timestamp", "ts"),
}


def _field(item: JsonObject, name: str) -> object:
    for key in FIELD_SPELLINGS[name]:
        if key in item:
            return item[key]
    raise ParseError(f"missing field {FIELD_SPELLINGS[name][0]!r}")


def _value(item: JsonObject, name: str, *, positive: bool = True) -> float:
    raw = _field(item, name)
    if type(raw) is float and (0.0 < raw < math.inf if positive else -math.inf < raw < math.inf):
        return raw  # CoinGlass sends JSON numbers: already a float, nothing to convert
    return number({name: raw}, name, positive=positive)


def _side(item: JsonObject, table: Mapping[object, _S]) -> _S:
    raw = _field(item, "side")
    if isinstance(raw, str) and raw.isdigit():
        raw = int(raw)
    if type(raw) is not int or raw not in table:
        raise ParseError(f"side must be 1 or 2, got {raw!r:.20}")
    return table[raw]


def _common(item: JsonObject) -> tuple[str, str, float, float, float, int]:
    """(venue, base, price per coin, qty in coins, USD notional, ts)."""
    exchange = _field(item, "exchange")
    if not isinstance(exchange, str) or not exchange:
        raise ParseError("exchange name is not text")
    raw_base = _field(item, "base")
    if not isinstance(raw_base, str):
        raise ParseError("base asset is not text")
    try:
        base, mult = parse_instrument(raw_base)
    except SymbolError as exc:
        raise UnsupportedSymbol(str(exc)) from None
    symbol = item.get("symbol")
    if isinstance(symbol, str):  # "1000PEPEUSDT" quotes per 1000 coins even when baseAsset says PEPE
        try:
            mult = max(mult, parse_instrument(symbol).multiplier)
        except SymbolError:
            pass
    price = _value(item, "price")
    usd = _value(item, "usd")
    ts = _field(item, "time")
    if type(ts) is not int or ts <= 0:
        raise ParseError(f"time must be epoch ms, got {ts!r:.20}")
    # "Binance" -> "binance": the same venue id the direct feeds use, so cross-venue logic and
    # duplicate suppression see one venue, not two spellings of it
    return exchange.lower(), base, price / mult, usd / (price / mult), usd, ts


def _liquidation(item: JsonObject, recv_ns: int) -> Event:
    position = _side(item, LIQUIDATION_SIDE)
    venue, base, price, qty, usd, ts = _common(item)
    return Liquidation(venue, base, price, qty, usd, position, ts, recv_ns)


def _trade(item: JsonObject, recv_ns: int) -> Event:
    side = _side(item, TRADE_SIDE)
    venue, base, price, qty, usd, ts = _common(item)
    return Trade(venue, base, price, qty, usd, side, ts, recv_ns)


def error_message(msg: JsonObject) -> str | None:
    """The text of a CoinGlass error frame, or None when the frame is not one."""
    if msg.get("success") is False or "error" in msg or "errorMsg" in msg:
        return str(msg.get("msg") or msg.get("error") or msg.get("errorMsg") or msg)[:200]
    code = msg.get("code")
    if code is not None and str(code) not in ("0", "200") and "channel" not in msg:
        return f"code {code}: {msg.get('msg') or msg.get('message') or ''}"[:200]
    return None


def parse_message(msg: object, recv_ns: int) -> list[Event]:
    if not isinstance(msg, dict):
        raise ParseError("frame is not a JSON object")
    error = error_message(msg)
    if error is not None:
        raise VendorError(f"CoinGlass error: {error}", fatal=bool(AUTH_REJECTED.search(error)))
    channel = msg.get("channel")
    if channel is None:
        if "method" in msg or "event" in msg:
            return []  # an acknowledgement (undocumented, tolerated)
        raise ParseError("CoinGlass frame without 'channel'")
    if not isinstance(channel, str):
        raise ParseError("'channel' is not a string")
    parse_one: Callable[[JsonObject, int], Event]
    if channel in LIQUIDATION_CHANNELS:
        parse_one = _liquidation
    elif channel.startswith(TRADES_PREFIX):
        parse_one = _trade
    else:
        raise ParseError(f"unknown CoinGlass channel {channel[:50]!r}")
    # liquidationOrders covers every coin of ~30 exchanges, some with no ticker we can watch:
    # routine, so those items are dropped without a report
    return parse_batch(msg.get("data"), lambda item: [parse_one(item, recv_ns)], report_unknown=False)


# ----- live client ---------------------------------------------------------------------------------
from urllib.parse import quote  # noqa: E402

import orjson  # noqa: E402

from .registry import SubscriptionRegistry  # noqa: E402
from .ws import InstrumentSource, WebSocketFeed  # noqa: E402

DEFAULT_EXCHANGES = ("Binance", "OKX", "Bybit")
DEFAULT_MIN_TRADE_USD = 10_000
LIQUIDATION_CHANNEL = "liquidationOrders"


class CoinGlassFeed(WebSocketFeed):
    """CoinGlass v4: ``liquidationOrders`` (every exchange, every coin) plus
    ``futures_trades@{exchange}_{symbol}@{minVolUsd}`` for each watched coin on each configured
    exchange. The key travels as the ``cg-api-key`` query parameter (never logged); the TEXT
    ``ping`` goes out every 10 s and the TEXT ``pong`` must come back within ``pong_timeout``.
    A rejected key or a plan too low stops the feed with one log line."""

    close_reason_can_be_fatal = True

    venue = "coinglass"
    ping_payload = "ping"
    text_pong = True
    batch_size = 20
    # CoinGlass documents a ping every 20 s; every 10 s with a 5 s deadline finds a half-open
    # connection within 15 s (more pings are harmless)
    default_ping_interval = 10.0
    default_pong_timeout = 5.0
    default_stale_after = 60.0
    default_quiet_after = 10.0  # 'liquidationOrders' spans every exchange: never quiet for long

    def __init__(self, url: str, registry: SubscriptionRegistry, catalog: InstrumentSource | None = None, *,
                 api_key: str,
                 exchanges: tuple[str, ...] = DEFAULT_EXCHANGES, min_trade_usd: int = DEFAULT_MIN_TRADE_USD,
                 direct_venues: frozenset[str] = frozenset(), **kwargs: Any) -> None:
        if not api_key:
            raise ValueError("COINGLASS_API_KEY is required for the coinglass feed")
        super().__init__(url, registry, catalog, **kwargs)
        self._api_key = api_key
        self._secrets = (api_key, quote(api_key, safe=""))
        # venues we also stream directly: their CoinGlass copies would count every liquidation
        # and large trade twice, so they are skipped (and their trade channels not subscribed)
        self.direct_venues = frozenset(v.lower() for v in direct_venues)
        self.exchanges = tuple(e for e in exchanges if e.lower() not in self.direct_venues)
        self.duplicates_skipped = 0
        self.min_trade_usd = int(min_trade_usd)

    def connect_url(self) -> str:
        sep = "&" if "?" in self.url else "?"
        return f"{self.url}{sep}cg-api-key={quote(self._api_key, safe='')}"

    def _exchange_symbol(self, exchange: str, base: str) -> str | None:
        low = exchange.lower()
        if low == "okx":
            return self.native(base, "okx", lambda b: f"{b}-USDT-SWAP")
        if low in ("binance", "bybit"):
            return self.native(base, low, lambda b: f"{b}USDT")
        return f"{base}USDT"

    def channels(self, symbols: frozenset[str]) -> set[str]:
        out = {LIQUIDATION_CHANNEL}
        for base in symbols:
            for exchange in self.exchanges:
                native = self._exchange_symbol(exchange, base)
                if native:
                    out.add(f"{TRADES_PREFIX}{exchange}_{native}@{self.min_trade_usd}")
        return out

    def subscribe_payload(self, channels: list[str], subscribe: bool) -> str:
        return orjson.dumps({"method": "subscribe" if subscribe else "unsubscribe", "channels": channels}).decode()

    def parse(self, msg: object, recv_ns: int) -> list[Event]:
        events = parse_message(msg, recv_ns)
        if self.direct_venues and events:
            kept = [ev for ev in events if ev.venue not in self.direct_venues]
            self.duplicates_skipped += len(events) - len(kept)
            return kept
        return events
