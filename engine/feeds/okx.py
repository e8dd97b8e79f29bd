"""OKX v5 public: parse ``trades``, ``liquidation-orders`` (SWAP) and ``instruments`` frames.

Frames (PROTOCOLS.md, okx.com/docs-v5):
- push: ``{"arg": {"channel": ..., ...}, "data": [...]}``; control: ``{"event": "subscribe"|
  "unsubscribe"|"error", ...}``; heartbeat reply is the TEXT ``pong`` (handled before JSON).
- ``trades``: ``data[]`` of ``{"instId", "tradeId", "px", "sz", "side", "ts", "count"}``;
  ``side`` is the taker side, ``sz`` is in CONTRACTS for swaps.
- ``liquidation-orders``: ``data[]`` of ``{"instId", "instType", "details": [{"side", "posSide",
  "bkPx", "sz", "ts"}]}``; ``sz`` in contracts. ``posSide`` long/short names the liquidated
  position; with ``net`` the ORDER side decides: ``sell`` = a long was liquidated.
- ``instruments``: the swap list (same fields as REST ``/api/v5/public/instruments``): we learn
  each contract's size here. Recordings made by ``teleglas record`` contain it, so replays can
  convert contracts to coins and USD without the network.

Contracts -> coins -> USD: linear swaps (``ctValCcy`` is the coin): qty = sz * ctVal * ctMult
coins, notional = qty * px. Inverse swaps (``ctValCcy`` USD): notional = sz * ctVal * ctMult USD.
Without the instrument's ``ctVal`` an event cannot be sized: it is skipped with ``MissingContract``.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from ..events import Event, Liquidation, PositionSide, Side, Trade
from ..symbols import SymbolError, parse_instrument
from .base import JsonObject, ParseError, UnsupportedSymbol, VendorError, millis, number, parse_batch

VENUE = "okx"
# (keyed by any JSON value: the tables are looked up with whatever the frame holds)
TAKER_SIDE: dict[object, Side] = {"buy": Side.BUY, "sell": Side.SELL}
POS_SIDE_POSITION: dict[object, PositionSide] = {"long": PositionSide.LONG, "short": PositionSide.SHORT}
# one-way (net) mode: the liquidation ORDER side; selling closes a long
NET_ORDER_POSITION: dict[object, PositionSide] = {"sell": PositionSide.LONG, "buy": PositionSide.SHORT}


class MissingContract(UnsupportedSymbol):
    """No contract size known for this instrument: the instrument list is not loaded yet, or the
    name is no coin ticker (never in the list). Skipped and counted apart from parse errors."""


@dataclass(frozen=True, slots=True)
class Contract:
    inst_id: str
    base: str
    multiplier: int  # coins per quoted unit (1 on OKX so far)
    size: float  # ctVal * ctMult: coins per contract (linear) or USD per contract (inverse)
    inverse: bool


def contract_from_instrument(item: JsonObject) -> Contract | None:
    """A Contract from one REST/WS instrument object, or None when it is not a usable swap."""
    inst_id = item.get("instId")
    if not isinstance(inst_id, str):
        return None
    try:
        ct_val = float(item.get("ctVal") or "nan")
        ct_mult = float(item.get("ctMult") or 1)
        base, mult = parse_instrument(inst_id)
    except (TypeError, ValueError, SymbolError):
        return None
    size = ct_val * ct_mult
    if not math.isfinite(size) or size <= 0:
        return None
    ccy = str(item.get("ctValCcy") or "").upper()
    inverse = item.get("ctType") == "inverse" or ccy in ("USD", "USDT", "USDC")
    return Contract(inst_id, base, mult, size, inverse)


def contracts_from_instruments(items: list[object]) -> dict[str, Contract]:
    out = {}
    for item in items:
        if isinstance(item, dict):
            c = contract_from_instrument(item)
            if c is not None:
                out[c.inst_id] = c
    return out


def _items(data: object) -> list[object]:
    if not isinstance(data, list):
        raise ParseError("'data' is not a list")
    return data


class OkxParser:
    """Callable parser holding the contract table (``contracts``: instId -> Contract)."""

    def __init__(self, contracts: Mapping[str, Contract] | None = None) -> None:
        self.contracts: dict[str, Contract] = dict(contracts or {})

    def learn(self, contracts: Mapping[str, Contract]) -> None:
        self.contracts.update(contracts)

    def _contract(self, inst_id: object) -> Contract:
        if not isinstance(inst_id, str):
            raise ParseError("missing 'instId'")
        c = self.contracts.get(inst_id)
        if c is None:
            raise MissingContract(f"no contract size (ctVal) known for {inst_id[:30]}: instrument list not loaded")
        return c

    def _size(self, c: Contract, sz: float, px: float) -> tuple[float, float]:
        """(coins, USD) for ``sz`` contracts at quoted price ``px``."""
        if c.inverse:
            usd = sz * c.size
            return usd / px, usd
        coins = sz * c.size
        return coins, coins * px

    def _trade(self, item: JsonObject, recv_ns: int) -> Trade:
        c = self._contract(item.get("instId"))
        side = TAKER_SIDE.get(item.get("side"))
        if side is None:
            raise ParseError(f"trade side must be buy or sell, got {item.get('side')!r:.20}")
        px = number(item, "px", positive=True)
        sz = number(item, "sz", positive=True)
        coins, usd = self._size(c, sz, px)
        return Trade(VENUE, c.base, px / c.multiplier, coins * c.multiplier, usd, side, millis(item, "ts"), recv_ns)

    def _liquidations(self, item: JsonObject, recv_ns: int) -> list[Event]:
        c = self._contract(item.get("instId"))
        details = item.get("details")
        if not isinstance(details, list):
            raise ParseError("liquidation without a 'details' list")
        out: list[Event] = []
        for d in details:
            if not isinstance(d, dict):
                raise ParseError("liquidation detail is not an object")
            pos = d.get("posSide")
            if pos in ("net", "", None):  # one-way mode: the order side decides
                position = NET_ORDER_POSITION.get(d.get("side"))
            else:
                position = POS_SIDE_POSITION.get(pos)
            if position is None:
                raise ParseError(f"cannot tell the liquidated position: side={d.get('side')!r:.10} posSide={pos!r:.10}")
            px = number(d, "bkPx", positive=True)
            sz = number(d, "sz", positive=True)
            coins, usd = self._size(c, sz, px)
            out.append(Liquidation(VENUE, c.base, px / c.multiplier, coins * c.multiplier, usd, position,
                                   millis(d, "ts"), recv_ns))
        return out

    def __call__(self, msg: object, recv_ns: int) -> list[Event]:
        if not isinstance(msg, dict):
            raise ParseError("frame is not a JSON object")
        event = msg.get("event")
        if event is not None:
            if event == "error":
                raise VendorError(f"OKX error {msg.get('code')!r}: {msg.get('msg')!r:.200}")
            if event in ("subscribe", "unsubscribe", "notice", "channel-conn-count"):
                return []
            raise ParseError(f"unknown OKX event {str(event)[:30]!r}")
        arg = msg.get("arg")
        if not isinstance(arg, dict):
            raise ParseError("OKX frame without 'arg'")
        channel = arg.get("channel")
        if channel == "instruments":
            self.learn(contracts_from_instruments(_items(msg.get("data"))))
            return []
        parse_one: Callable[[JsonObject], list[Event]]
        if channel == "trades":
            parse_one = lambda item: [self._trade(item, recv_ns)]  # noqa: E731
        elif channel == "liquidation-orders":
            parse_one = lambda item: self._liquidations(item, recv_ns)  # noqa: E731
        else:
            raise ParseError(f"unknown OKX channel {str(channel)[:40]!r}")
        return parse_batch(msg.get("data"), parse_one, wrap_object=False)


def parse_message(msg: object, recv_ns: int) -> list[Event]:
    """Stateless convenience: only frames that need no contract sizes parse to events."""
    return OkxParser()(msg, recv_ns)


# ----- live client ---------------------------------------------------------------------------------
from .registry import SubscriptionRegistry  # noqa: E402
from .ws import InstrumentSource, WebSocketFeed  # noqa: E402

LIQUIDATIONS = "liquidation-orders:SWAP"
INSTRUMENTS = "instruments:SWAP"
# OKX drops a connection after 30 s without traffic; 10 s + a 5 s pong deadline finds a half-open one within 15 s
IDLE_PING_S = 10.0


class OkxFeed(WebSocketFeed):
    """OKX v5 public: ``trades`` per watched swap, ``liquidation-orders`` (SWAP, all instruments) and
    ``instruments`` (SWAP) so contract sizes are known even when the REST list is unavailable.
    Heartbeat: the TEXT ``ping`` after 10 s without any frame; the answer is the TEXT ``pong``."""

    venue = VENUE
    ping_payload = "ping"
    ping_when_idle = True
    text_pong = True
    batch_size = 20
    default_ping_interval = IDLE_PING_S
    default_pong_timeout = 5.0
    default_stale_after = 60.0
    default_quiet_after = 30.0  # per-coin trades only (no periodic stream): a quiet coin is normal

    def __init__(self, url: str, registry: SubscriptionRegistry, catalog: InstrumentSource | None = None,
                 **kwargs: Any) -> None:
        super().__init__(url, registry, catalog, **kwargs)
        self.parser = OkxParser()
        self._degraded_logged = False

    def guess_native(self, base: str) -> str:
        return f"{base}-USDT-SWAP"

    async def before_connect(self) -> None:
        await super().before_connect()
        catalog = self.catalog
        if catalog is not None and catalog.okx_contracts():
            self.parser.learn(catalog.okx_contracts())
            self._degraded_logged = False
        elif not self.parser.contracts and not self._degraded_logged:
            self._degraded_logged = True
            reason = catalog.errors.get("okx", "not loaded") if catalog is not None else "no catalog"
            logging.getLogger(__name__).warning(
                "okx: instrument list unavailable (%s): degraded mode — contract sizes come from the "
                "WebSocket instruments channel; OKX events are skipped until it has arrived", reason)

    def channels(self, symbols: frozenset[str]) -> set[str]:
        out = {LIQUIDATIONS, INSTRUMENTS}
        for base in symbols:
            native = self.native(base)
            if native:
                out.add(f"trades:{native}")
        return out

    def subscribe_payload(self, channels: list[str], subscribe: bool) -> str:
        args = []
        for ch in channels:
            name, _, target = ch.partition(":")
            if name in ("liquidation-orders", "instruments"):
                args.append({"channel": name, "instType": target})
            else:
                args.append({"channel": name, "instId": target})
        return orjson.dumps({"op": "subscribe" if subscribe else "unsubscribe", "args": args}).decode()

    def parse(self, msg: object, recv_ns: int) -> list[Event]:
        return self.parser(msg, recv_ns)
