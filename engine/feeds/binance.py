"""Binance USD-M futures: parse combined-stream frames into normalised events.

Frames (PROTOCOLS.md): ``{"stream": "<name>", "data": {...}}`` from the routed
``/market/stream`` endpoint, or the bare ``data`` object. Numbers arrive as strings.
- ``aggTrade`` / ``trade``: ``m`` true = buyer is maker = the TAKER SOLD.
- ``forceOrder``: ``o.S`` is the liquidation ORDER side: SELL = a LONG was liquidated.
  Binance pushes at most ONE liquidation per symbol per 1000 ms, so totals built from
  Binance alone are lower bounds (``LIQUIDATION_SNAPSHOT_NOTE``).
- ``markPriceUpdate``: ``r`` is the funding rate as a FRACTION per interval, ``T`` next funding.
  The interval is NOT in the frame: most symbols fund every 8 h, but many settle every 4 h or 1 h.
  ``parse_message(..., funding_intervals={native: hours})`` takes the table from REST
  ``GET /fapi/v1/fundingInfo`` (``InstrumentCatalog.binance_funding_intervals()``); symbols absent
  from it are on ``FUNDING_INTERVAL_H`` (8 h). The interval is not guessed from consecutive ``T``
  values: a missed settlement or a venue-side interval change would silently double or halve it.
The all-symbol arrays (``!markPrice@arr@1s``) are parsed item by item: a bad item is counted
(``PartialParse``) without losing the others; dated delivery contracts (``BTCUSDT_250627``)
and names that are no coin ticker are skipped quietly (``UnsupportedSymbol``) — they cannot be watched.
"""
from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from typing import Any

import orjson

from ..events import Event, Funding, Liquidation, MarkOI, PositionSide, Side, Trade
from ..symbols import Instrument, instrument_cache, note_quoted
from .base import JsonObject, ParseError, UnsupportedSymbol, VendorError, parse_batch

VENUE = "binance"
LIQUIDATION_SNAPSHOT_NOTE = "Binance sends at most one liquidation per symbol per second: totals are lower bounds"
FUNDING_INTERVAL_H = 8.0
# order side of a forceOrder -> the position that was liquidated
FORCE_ORDER_POSITION: dict[object, PositionSide] = {"SELL": PositionSide.LONG, "BUY": PositionSide.SHORT}
_IGNORED_EVENTS = frozenset({"bookTicker", "depthUpdate", "kline", "24hrTicker", "24hrMiniTicker",
                             "continuous_kline", "compositeIndex", "contractInfo", "assetIndexUpdate"})


def _num(data: JsonObject, key: str) -> float:
    try:
        value = float(data[key])
    except KeyError:
        raise ParseError(f"missing field {key!r}") from None
    except (TypeError, ValueError):
        raise ParseError(f"field {key!r} is not a number: {data[key]!r}") from None
    if not math.isfinite(value):
        raise ParseError(f"field {key!r} is not finite")
    return value


def _int(data: JsonObject, key: str) -> int:
    value = data.get(key)
    if type(value) is not int:
        raise ParseError(f"field {key!r} must be an integer timestamp, got {value!r}")
    return value


# native symbol -> Instrument, or the reason it cannot be watched (str): parsed once per name.
# Bounded by the venue's listing; cleared if a stream of junk names ever fills it.
_INF = math.inf
_SELL = Side.SELL
_BUY = Side.BUY


def _instrument(data: JsonObject, key: str = "s") -> Instrument:
    raw = data.get(key)
    if not isinstance(raw, str):
        raise ParseError(f"missing symbol field {key!r}")
    inst = _NATIVE.get(raw) or _learn(raw)
    if not isinstance(inst, Instrument):  # why the name cannot be watched (as cheap as a type() test on a hit)
        raise UnsupportedSymbol(inst)
    if inst.multiplier != 1:  # 1000PEPEUSDT: alerts show levels in this venue's unit too
        note_quoted("binance", inst.base, inst.multiplier)
    return inst


def _delivery_contract(raw: str) -> str | None:
    head, sep, tail = raw.rpartition("_")
    return f"delivery contract {raw[:30]}" if sep and tail.isdigit() else None


# native symbol -> Instrument, or why it is unsupported (str): parsed once per name, bounded
_NATIVE, _learn = instrument_cache(_delivery_contract)


def _trade(data: JsonObject, recv_ns: int) -> Trade:
    """The hot path: every field read and converted once; anything odd goes to ``_trade_checked``,
    which says exactly what is wrong (same result, same error)."""
    raw = data.get("s")
    inst = _NATIVE.get(raw) if type(raw) is str else None
    if inst is None or type(inst) is not Instrument:  # unknown yet, or no coin (the reason, a str)
        return _trade_checked(data, recv_ns)
    base, mult = inst
    try:
        price = float(data["p"])
        qty = float(data["q"])
    except (KeyError, TypeError, ValueError):
        return _trade_checked(data, recv_ns)
    if not (0.0 < price < _INF and 0.0 < qty < _INF):
        return _trade_checked(data, recv_ns)
    maker = data.get("m")
    if maker is True:
        side = _SELL
    elif maker is False:
        side = _BUY
    else:
        return _trade_checked(data, recv_ns)
    ts = data["T"] if "T" in data else data.get("E")
    if type(ts) is not int:
        return _trade_checked(data, recv_ns)
    if mult != 1:
        note_quoted("binance", base, mult)
        return Trade(VENUE, base, price / mult, qty * mult, price * qty, side, ts, recv_ns)
    return Trade(VENUE, base, price, qty, price * qty, side, ts, recv_ns)


def _trade_checked(data: JsonObject, recv_ns: int) -> Trade:
    base, mult = _instrument(data)
    price = _num(data, "p")
    qty = _num(data, "q")
    if price <= 0 or qty <= 0:
        raise ParseError(f"non-positive price or quantity: p={price} q={qty}")
    maker = data.get("m")
    if type(maker) is not bool:
        raise ParseError("field 'm' must be a boolean")
    ts = _int(data, "T") if "T" in data else _int(data, "E")
    return Trade(VENUE, base, price / mult, qty * mult, price * qty,
                 Side.SELL if maker else Side.BUY, ts, recv_ns)


def _force_order(data: JsonObject, recv_ns: int) -> Liquidation:
    order = data.get("o")
    if not isinstance(order, dict):
        raise ParseError("forceOrder without an 'o' object")
    base, mult = _instrument(order)
    position = FORCE_ORDER_POSITION.get(order.get("S"))
    if position is None:
        raise ParseError(f"forceOrder side must be BUY or SELL, got {order.get('S')!r}")
    price = _num(order, "ap") if "ap" in order else _num(order, "p")
    if price <= 0:
        price = _num(order, "p")
    qty = _num(order, "z") if "z" in order else _num(order, "q")
    if qty <= 0:
        qty = _num(order, "q")
    if price <= 0 or qty <= 0:
        raise ParseError(f"non-positive liquidation price or quantity: p={price} q={qty}")
    ts = _int(order, "T") if "T" in order else _int(data, "E")
    return Liquidation(VENUE, base, price / mult, qty * mult, price * qty, position, ts, recv_ns)


MARK_QUOTE = "USDT"  # one contract per coin for mark/funding: BTCUSDC must not overwrite BTCUSDT


def _mark(data: JsonObject, recv_ns: int, intervals: Mapping[str, float] | None) -> list[Event]:
    base, mult = _instrument(data)
    if not data["s"].endswith(MARK_QUOTE):
        # '!markPrice@arr' lists every contract; a coin's USDC contract has its own funding rate,
        # and mixing the two would make one coin's funding flip between two values
        raise UnsupportedSymbol(f"{data['s'][:30]}: mark/funding kept for the {MARK_QUOTE} contract only")
    ts = _int(data, "E")
    mark = _num(data, "p") / mult
    index = _num(data, "i") / mult if "i" in data else None
    out: list[Event] = [MarkOI(VENUE, base, mark, index, None, ts, recv_ns)]
    if "r" in data and data["r"] not in ("", None):
        rate = _num(data, "r")
        next_ts = data["T"] if type(data.get("T")) is int else 0
        interval = intervals.get(data["s"], FUNDING_INTERVAL_H) if intervals else FUNDING_INTERVAL_H
        out.append(Funding(VENUE, base, rate, interval, next_ts, ts, recv_ns))
    return out


def parse_message(msg: object, recv_ns: int, funding_intervals: Mapping[str, float] | None = None) -> list[Event]:
    """One decoded Binance message -> events ([] for messages we deliberately ignore).

    ``funding_intervals`` maps native symbols to their funding interval in hours (fundingInfo);
    a symbol absent from it (or no table at all) funds every 8 h."""
    if type(msg) is dict:  # the hot path: one trade per frame
        data = msg.get("data", msg) if "stream" in msg else msg
        if type(data) is dict:
            kind = data.get("e")
            if kind == "trade" or kind == "aggTrade":
                try:
                    return [_trade(data, recv_ns)]
                except UnsupportedSymbol:
                    return []  # all-symbol streams carry contracts we cannot watch: not an error
    if not isinstance(msg, dict):
        raise ParseError("frame is not a JSON object")
    data = msg.get("data", msg) if "stream" in msg else msg
    if isinstance(data, list):  # '!markPrice@arr' style arrays: one bad item must not sink the rest
        return parse_batch(data, lambda item: _parse_event(item, recv_ns, funding_intervals),
                           wrap_object=False, report_unknown=False)
    return _parse_object(data, recv_ns, funding_intervals)


def _parse_object(data: object, recv_ns: int, intervals: Mapping[str, float] | None = None) -> list[Event]:
    if not isinstance(data, dict):
        raise ParseError("'data' is not an object")
    try:
        return _parse_event(data, recv_ns, intervals)
    except UnsupportedSymbol:
        return []  # all-symbol streams carry contracts we cannot watch: not an error


def _parse_event(data: JsonObject, recv_ns: int, intervals: Mapping[str, float] | None = None) -> list[Event]:
    kind = data.get("e")
    if kind == "aggTrade" or kind == "trade":
        return [_trade(data, recv_ns)]
    if kind == "forceOrder":
        return [_force_order(data, recv_ns)]
    if kind == "markPriceUpdate":
        return _mark(data, recv_ns, intervals)
    if kind in _IGNORED_EVENTS:
        return []
    if kind is None and ("result" in data and "id" in data or "lastUpdateId" in data):
        return []  # subscription ack or REST depth snapshot line in a recording
    if kind is None and "error" in data:
        raise VendorError(f"Binance error frame: {data['error']!r:.200}")
    if kind is None and "code" in data and "msg" in data:  # {"code": 2, "msg": "Invalid request", "id": 1}
        raise VendorError(f"Binance error {data['code']!r}: {data['msg']!r:.200}")
    raise ParseError(f"unknown Binance event {kind!r}")


# ----- live client ---------------------------------------------------------------------------------
ROUTED_PATH = "/market/stream"
LEGACY_PATH_MESSAGE = ("Binance market streams are routed since 2026-04-23: use the .../market/stream "
                       "endpoint (e.g. wss://fstream.binance.com/market/stream); the legacy /ws and /stream "
                       "paths acknowledge SUBSCRIBE and then deliver nothing for forceOrder/aggTrade/markPrice")
GLOBAL_STREAMS = ("!forceOrder@arr", "!markPrice@arr@1s")
URL_MAX_STREAMS = 64  # the rest of the set goes through SUBSCRIBE (keeps the URL short)
CONNECTION_MAX_AGE_S = 23.5 * 3600  # Binance drops every connection at 24 h


def check_routed_url(url: str) -> str:
    """The routed market-stream endpoint or ValueError (the legacy paths go silent)."""
    from urllib.parse import urlsplit

    path = urlsplit(url).path.rstrip("/")
    if not path.endswith(ROUTED_PATH):
        raise ValueError(f"BINANCE_WS_URL {url!r}: {LEGACY_PATH_MESSAGE}")
    return url.split("?", 1)[0].rstrip("/")


from .registry import SubscriptionRegistry  # noqa: E402  (the parser above has no I/O dependency)
from .ws import InstrumentSource, WebSocketFeed  # noqa: E402


class BinanceFeed(WebSocketFeed):
    """Binance USD-M on the routed combined-stream endpoint.

    Streams: ``!forceOrder@arr`` (liquidations, all symbols — ONE per symbol per second, see
    ``LIQUIDATION_SNAPSHOT_NOTE``), ``!markPrice@arr@1s`` (mark + funding, all symbols) and
    ``<sym>@aggTrade`` per watched coin. The connect URL carries the set (``?streams=a/b/c``);
    later changes are live SUBSCRIBE/UNSUBSCRIBE messages, batched and paced under Binance's
    10 client messages/s. Binance pings every 3 min and websockets answers by itself; the mark
    price array arrives every second, so ``stale_after`` can be short. Funding intervals per
    symbol come from the catalog's fundingInfo table (8 h when it is unavailable)."""

    venue = VENUE
    library_ping = True
    overlap_handover = True  # the 24 h reconnect is make-before-break, de-duplicated by dedup_key
    batch_size = 100
    # '!markPrice@arr@1s' brings a frame every second on every healthy connection: 5 s of silence
    # (watchdog checks every second) or a protocol ping unanswered for 5 s (sent every 5 s) is a
    # dead, possibly half-open, connection — declared within 6-10 s, then reconnected. /health
    # calls it "stale" after 3 s without market data.
    default_ping_interval = 5.0
    default_pong_timeout = 5.0
    default_stale_after = 5.0
    default_quiet_after = 3.0
    default_messages_per_s = 4.0  # Binance allows 10 per second per connection

    def __init__(self, url: str, registry: SubscriptionRegistry, catalog: InstrumentSource | None = None,
                 **kwargs: Any) -> None:
        kwargs.setdefault("max_age_s", CONNECTION_MAX_AGE_S)
        super().__init__(check_routed_url(url), registry, catalog, **kwargs)

    def channels(self, symbols: frozenset[str]) -> set[str]:
        out = set(GLOBAL_STREAMS)
        for base in symbols:
            native = self.native(base)
            if native:
                out.add(f"{native.lower()}@aggTrade")
        return out

    def connect_url(self) -> str:
        wanted = sorted(self.channels(self.registry.symbols) - set(GLOBAL_STREAMS))
        streams = list(GLOBAL_STREAMS) + wanted[:URL_MAX_STREAMS]
        self.url_channels = set(streams)
        return f"{self.url}?streams={'/'.join(streams)}"

    def subscribe_payload(self, channels: list[str], subscribe: bool) -> str:
        return orjson.dumps({"method": "SUBSCRIBE" if subscribe else "UNSUBSCRIBE", "params": channels,
                             "id": self.next_id()}).decode()

    def dedup_key(self, msg: object) -> Hashable | None:
        """Identity of a market message across connections, for the 24 h handover's overlap:
        aggTrade by its id ``a``, trade by ``t``, forceOrder by symbol/time/side/size, other
        events (mark price arrays...) by type, symbol and event time ``E``; acks have none."""
        if not isinstance(msg, dict):
            return None
        data = msg.get("data", msg)
        key: tuple[object, ...] | None
        if isinstance(data, list):
            head = data[0] if data and isinstance(data[0], dict) else None
            key = None if head is None else (msg.get("stream"), head.get("e"), head.get("s"), head.get("E"))
        elif not isinstance(data, dict) or data.get("e") is None:
            return None
        else:
            kind = data["e"]
            if kind == "aggTrade":
                key = (kind, data.get("s"), data.get("a"))
            elif kind == "trade":
                key = (kind, data.get("s"), data.get("t"))
            elif kind == "forceOrder" and isinstance(data.get("o"), dict):
                o = data["o"]
                key = (kind, o.get("s"), o.get("T"), o.get("S"), o.get("z"), o.get("ap"))
            else:
                key = (kind, data.get("s"), data.get("E"))
        try:
            hash(key)
        except TypeError:  # a malformed field (list/dict): no identity, the parser will judge it
            return None
        return key

    def parse(self, msg: object, recv_ns: int) -> list[Event]:
        catalog = self.catalog
        intervals = catalog.binance_funding_intervals() if catalog is not None else None
        return parse_message(msg, recv_ns, intervals)
