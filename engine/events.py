"""Normalised market events: what every feed produces and every detector consumes.

All events are slotted dataclasses (cheap to build, no per-instance dict).
Times: ``ts`` is the exchange's event time in epoch **milliseconds**; ``recv_ns`` is our
local receive time in epoch **nanoseconds**. Detectors only ever look at ``ts``.
Prices are per ONE unit of the canonical base asset (a ``1000PEPEUSDT`` price is divided
by 1000 at the edge), so prices from different venues are directly comparable.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Venue(str, Enum):
    BINANCE = "binance"
    BYBIT = "bybit"
    OKX = "okx"
    COINGLASS = "coinglass"
    SIMULATOR = "simulator"

    def __str__(self) -> str:  # used in alert text: "binance", not "Venue.BINANCE"
        return self.value


class Side(str, Enum):
    """Taker side of a trade: BUY = the aggressor bought (lifted the offer)."""

    BUY = "BUY"
    SELL = "SELL"


class PositionSide(str, Enum):
    """Which POSITION a liquidation closed. LONG = a long was force-sold."""

    LONG = "LONG"
    SHORT = "SHORT"


@dataclass(slots=True)
class Trade:
    venue: str  # a Venue value, or the exchange name CoinGlass reports ("Binance", "OKX"...)
    symbol: str  # canonical base asset, e.g. "BTC"
    price: float
    qty: float  # base units
    notional: float  # USD
    side: Side  # taker side
    ts: int  # exchange event time, epoch ms
    recv_ns: int  # local receive time, epoch ns


@dataclass(slots=True)
class Liquidation:
    venue: str
    symbol: str
    price: float
    qty: float
    notional: float  # USD
    position: PositionSide  # the liquidated position
    ts: int
    recv_ns: int


@dataclass(slots=True)
class Funding:
    venue: str
    symbol: str
    rate: float  # fraction per funding interval (0.0001 = 0.01 %)
    interval_h: float  # funding interval in hours (8 on most venues)
    next_ts: int  # next funding time, epoch ms (0 when unknown)
    ts: int
    recv_ns: int

    @property
    def rate_8h(self) -> float:
        """The rate rescaled to a fraction per 8 hours, whatever the venue's interval."""
        return self.rate * (8.0 / self.interval_h) if self.interval_h > 0 else self.rate


@dataclass(slots=True)
class MarkOI:
    """Mark price and/or open interest snapshot (either may be absent: NaN-free, use None)."""

    venue: str
    symbol: str
    mark: float | None
    index: float | None
    open_interest_usd: float | None
    ts: int
    recv_ns: int


Event = Trade | Liquidation | Funding | MarkOI
