"""Default detector thresholds by symbol class, overridable per symbol.

Detectors run ONCE per symbol at the lowest threshold any subscriber needs (the "floor");
every Signal carries its magnitudes so delivery applies each user's own values cheaply.

| class | symbols (examples)                     | cascade USD / 30 s | whale order USD |
|-------|----------------------------------------|-------------------:|----------------:|
| major | BTC, ETH                               |          2,000,000 |          25,000 |
| mid   | SOL, BNB, XRP, DOGE, ADA, ... (MID set) |            500,000 |          15,000 |
| small | everything else                        |            100,000 |          10,000 |

Shared by every class: dominance >= 65 %, minimum score 70, funding extreme |rate| >= 0.05 % per 8 h.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

MAJORS = frozenset({"BTC", "ETH"})
MIDS = frozenset({
    "SOL", "BNB", "XRP", "DOGE", "ADA", "TRX", "AVAX", "LINK", "TON", "DOT", "LTC", "BCH",
    "SUI", "NEAR", "APT", "ARB", "OP", "UNI", "ATOM", "FIL", "ETC", "HBAR", "XLM", "AAVE",
})


@dataclass(frozen=True, slots=True)
class Thresholds:
    cascade_usd: float  # liquidated USD within cascade_window_s to call a cascade
    cascade_window_s: float
    whale_usd: float  # one taker order at least this large is a "whale" order
    dominance: float  # share (0..1) of the dominant side for cascades and flow signals
    min_score: float  # minimum confidence score a user wants to see
    funding_extreme: float  # |rate| per 8 h as a FRACTION (0.0005 = 0.05 %)


MAJOR = Thresholds(2_000_000, 30, 25_000, 0.65, 70, 0.0005)
MID = replace(MAJOR, cascade_usd=500_000, whale_usd=15_000)
SMALL = replace(MAJOR, cascade_usd=100_000, whale_usd=10_000)

# user-facing keys (as used by /thresholds and stored per user) -> Thresholds field
USER_KEYS = {
    "cascade": "cascade_usd",
    "whale": "whale_usd",
    "dominance": "dominance",
    "score": "min_score",
    "funding": "funding_extreme",
}


def symbol_class(symbol: str) -> str:
    if symbol in MAJORS:
        return "major"
    if symbol in MIDS:
        return "mid"
    return "small"


def defaults_for(symbol: str) -> Thresholds:
    cls = symbol_class(symbol)
    return MAJOR if cls == "major" else MID if cls == "mid" else SMALL


class ThresholdBook:
    """Defaults by class, per-symbol overrides, and the detector floor per symbol."""

    def __init__(self, overrides: dict[str, Thresholds] | None = None) -> None:
        self._overrides: dict[str, Thresholds] = dict(overrides or {})
        self._cache: dict[str, Thresholds] = {}

    def set_override(self, symbol: str, thresholds: Thresholds) -> None:
        self._overrides[symbol] = thresholds
        self._cache.pop(symbol, None)

    def lower_floor(self, symbol: str, **fields: float) -> None:
        """Lower (never raise) the detector floor for a symbol, e.g. when a user asks for less."""
        cur = self.for_symbol(symbol)
        new = {k: min(getattr(cur, k), v) for k, v in fields.items()}
        self.set_override(symbol, replace(cur, **new))

    def for_symbol(self, symbol: str) -> Thresholds:
        t = self._cache.get(symbol)
        if t is None:
            t = self._overrides.get(symbol) or defaults_for(symbol)
            self._cache[symbol] = t
        return t
