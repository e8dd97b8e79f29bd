"""Bybit v5 public linear: parse frames into normalised events.

Frames (PROTOCOLS.md, bybit-exchange.github.io/docs/v5/websocket):
- ``allLiquidation.{symbol}``: ``data`` list of ``{"T", "s", "S", "v", "p"}``. ``S`` is the
  POSITION side — ``Buy`` = a LONG was liquidated — the opposite of Binance's order side.
  ``v`` base quantity, ``p`` bankruptcy price (strings).
- ``publicTrade.{symbol}``: ``data`` list of ``{"T", "s", "S", "v", "p", "i", "BT"}``; ``S`` = taker side.
- ``tickers.{symbol}``: a snapshot, then deltas carrying only the changed fields; deltas are
  merged into the cached snapshot. ``fundingRate`` is a fraction, ``openInterestValue`` is USD.
- control frames: ``{"success": true, "op": "subscribe"|"ping", "ret_msg": "pong", ...}`` and
  ``{"op": "pong"}``; ``"success": false`` is an error frame (e.g. an unknown topic).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from ..events import Event, Funding, Liquidation, MarkOI, PositionSide, Side, Trade
from ..symbols import Instrument, instrument_cache, note_quoted
from .base import JsonObject, ParseError, VendorError, millis, number, parse_batch

VENUE = "bybit"
# allLiquidation ``S`` is the side of the liquidated POSITION (Bybit docs: "Buy" = long position
# liquidated). Binance's forceOrder ``S`` is the ORDER side — the mapping is the opposite there.
# (keyed by any JSON value: the tables are looked up with whatever the frame holds)
LIQUIDATION_POSITION: dict[object, PositionSide] = {"Buy": PositionSide.LONG, "Sell": PositionSide.SHORT}
TAKER_SIDE: dict[object, Side] = {"Buy": Side.BUY, "Sell": Side.SELL}
DEFAULT_FUNDING_INTERVAL_H = 8.0


# native symbol -> Instrument, or why it is no coin (str): parsed once per name, bounded
_NATIVE, _learn = instrument_cache()


def _instrument(item: JsonObject, key: str = "s") -> Instrument:
    raw = item.get(key)
    if not isinstance(raw, str):
        raise ParseError(f"missing symbol field {key!r}")
    inst = _NATIVE.get(raw) or _learn(raw)
    if not isinstance(inst, Instrument):  # why the name is no coin (as cheap as a type() test on a hit)
        raise ParseError(inst)
    if inst.multiplier != 1:  # 1000PEPEUSDT: alerts show levels in this venue's unit too
        note_quoted("bybit", inst.base, inst.multiplier)
    return inst


def _trade(item: JsonObject, recv_ns: int) -> Trade:
    base, mult = _instrument(item)
    side = TAKER_SIDE.get(item.get("S"))
    if side is None:
        raise ParseError(f"trade side must be Buy or Sell, got {item.get('S')!r:.20}")
    price = number(item, "p", positive=True)
    qty = number(item, "v", positive=True)
    return Trade(VENUE, base, price / mult, qty * mult, price * qty, side, millis(item, "T"), recv_ns)


def _liquidation(item: JsonObject, recv_ns: int) -> Liquidation:
    base, mult = _instrument(item)
    position = LIQUIDATION_POSITION.get(item.get("S"))
    if position is None:
        raise ParseError(f"liquidation side must be Buy or Sell, got {item.get('S')!r:.20}")
    price = number(item, "p", positive=True)
    qty = number(item, "v", positive=True)
    return Liquidation(VENUE, base, price / mult, qty * mult, price * qty, position, millis(item, "T"), recv_ns)


def _items(data: object, parse: Callable[[JsonObject, int], Event], recv_ns: int) -> list[Event]:
    return parse_batch(data, lambda item: [parse(item, recv_ns)])


def is_pong(msg: JsonObject) -> bool:
    op = msg.get("op")
    return op == "pong" or (op == "ping" and msg.get("ret_msg") == "pong")


class BybitParser:
    """Stateful only for ``tickers``: keeps each symbol's merged snapshot."""

    def __init__(self) -> None:
        self.tickers: dict[str, JsonObject] = {}
        self._last_funding: dict[str, tuple[float, int, float]] = {}

    def __call__(self, msg: object, recv_ns: int) -> list[Event]:
        if not isinstance(msg, dict):
            raise ParseError("frame is not a JSON object")
        topic = msg.get("topic")
        if topic is None:
            if "op" in msg or "success" in msg:
                if msg.get("success") is False:
                    raise VendorError(f"Bybit rejected {msg.get('op')!r}: {msg.get('ret_msg')!r:.200}")
                return []  # subscribe ack or pong
            raise ParseError("Bybit frame without a topic")
        if not isinstance(topic, str):
            raise ParseError("'topic' is not a string")
        kind, _, _ = topic.partition(".")
        if kind == "publicTrade":
            return _items(msg.get("data"), _trade, recv_ns)
        if kind == "allLiquidation":
            return _items(msg.get("data"), _liquidation, recv_ns)
        if kind == "tickers":
            return self._ticker(msg, recv_ns)
        raise ParseError(f"unknown Bybit topic {topic[:40]!r}")

    def _ticker(self, msg: JsonObject, recv_ns: int) -> list[Event]:
        data = msg.get("data")
        if not isinstance(data, dict):
            raise ParseError("tickers 'data' is not an object")
        ts = millis(msg, "ts")
        raw_symbol = data.get("symbol")
        if not isinstance(raw_symbol, str):
            raise ParseError("tickers frame without 'symbol'")
        base, mult = _instrument(data, "symbol")
        if msg.get("type") == "snapshot":
            merged = self.tickers[raw_symbol] = dict(data)
        else:  # delta: only the fields that changed
            merged = self.tickers.setdefault(raw_symbol, {})
            merged.update(data)
        out: list[Event] = []
        if any(k in data for k in ("markPrice", "indexPrice", "openInterestValue")):
            mark = number(merged, "markPrice", positive=True) / mult if "markPrice" in merged else None
            index = number(merged, "indexPrice", positive=True) / mult if "indexPrice" in merged else None
            oi = number(merged, "openInterestValue") if "openInterestValue" in merged else None
            if oi is not None and oi < 0:
                raise ParseError("negative open interest")
            out.append(MarkOI(VENUE, base, mark, index, oi, ts, recv_ns))
        if "fundingRate" in merged and merged.get("fundingRate") not in ("", None):
            rate = number(merged, "fundingRate")
            next_ts = int(merged["nextFundingTime"]) if str(merged.get("nextFundingTime", "")).isdigit() else 0
            interval = DEFAULT_FUNDING_INTERVAL_H
            if "fundingIntervalHour" in merged:
                interval = number(merged, "fundingIntervalHour", positive=True)
            key = (rate, next_ts, interval)
            if self._last_funding.get(raw_symbol) != key:  # tickers push every 100 ms: only changes
                self._last_funding[raw_symbol] = key
                out.append(Funding(VENUE, base, rate, interval, next_ts, ts, recv_ns))
        return out


def parse_message(msg: object, recv_ns: int) -> list[Event]:
    """Stateless convenience for one frame (tickers deltas are not merged across calls)."""
    return BybitParser()(msg, recv_ns)


# ----- live client ---------------------------------------------------------------------------------
from .registry import SubscriptionRegistry  # noqa: E402
from .ws import InstrumentSource, WebSocketFeed  # noqa: E402

TOPICS = ("publicTrade", "allLiquidation", "tickers")


class BybitFeed(WebSocketFeed):
    """Bybit v5 public linear: ``publicTrade``, ``allLiquidation``, ``tickers`` per watched coin;
    JSON ``{"op":"ping"}`` every 20 s (Bybit cuts idle connections after 10 min)."""

    venue = VENUE
    ping_payload = '{"op":"ping"}'
    batch_size = 10  # args per subscribe request
    # Bybit asks for a ping every 20 s; every 10 s with a 5 s answer deadline finds a half-open
    # connection within 15 s. 'tickers' pushes every 100 ms per watched coin, so 10 s without
    # market data reads "stale"; 30 s without any frame (pongs included) is a dead connection.
    default_ping_interval = 10.0
    default_pong_timeout = 5.0
    default_stale_after = 30.0
    default_quiet_after = 10.0

    def __init__(self, url: str, registry: SubscriptionRegistry, catalog: InstrumentSource | None = None,
                 **kwargs: Any) -> None:
        super().__init__(url, registry, catalog, **kwargs)
        self.parser = BybitParser()

    def channels(self, symbols: frozenset[str]) -> set[str]:
        out: set[str] = set()
        for base in symbols:
            native = self.native(base)
            if native:
                out.update(f"{topic}.{native}" for topic in TOPICS)
        return out

    def subscribe_payload(self, channels: list[str], subscribe: bool) -> str:
        return orjson.dumps({"op": "subscribe" if subscribe else "unsubscribe", "args": channels,
                             "req_id": str(self.next_id())}).decode()

    def is_pong(self, msg: object) -> bool:
        return isinstance(msg, dict) and is_pong(msg)

    def parse(self, msg: object, recv_ns: int) -> list[Event]:
        return self.parser(msg, recv_ns)
