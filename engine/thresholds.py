"""Default detector thresholds by symbol class, overridable per symbol.

Detectors run ONCE per symbol at the lowest threshold any subscriber needs (the "floor");
every Signal carries its magnitudes so delivery applies each user's own values cheaply.

| class | symbols (examples)                      | cascade USD / 30 s | whale order USD | divergence |
|-------|-----------------------------------------|-------------------:|----------------:|-----------:|
| major | BTC, ETH                                |          2,000,000 |          25,000 |     15 bps |
| mid   | SOL, BNB, XRP, DOGE, ADA, ... (MID set) |            500,000 |          15,000 |     25 bps |
| small | everything else                         |            100,000 |          10,000 |     40 bps |

Shared by every class: dominance >= 65 % (cascades and 5-minute flow), minimum score 50 (only for kinds
without a size knob, per user by delivery: engine/contract.py), funding extreme |rate| >= 0.05 % per 8 h, a divergence
must last 10 s, a large-order imbalance means >= 4 large orders and >= 2x the other side (waived when
the imbalance is >= 3 deviations above the coin's own trailing-hour norm: detectors/orderflow.py), a volume
spike is >= 3x the trailing per-minute baseline, a stop hunt needs >= 3 large absorbing orders and
30 % of the swept range reclaimed.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

MAJORS = frozenset({"BTC", "ETH"})
MIDS = frozenset({
    "SOL", "BNB", "XRP", "DOGE", "ADA", "TRX", "AVAX", "LINK", "TON", "DOT", "LTC", "BCH",
    "SUI", "NEAR", "APT", "ARB", "OP", "UNI", "ATOM", "FIL", "ETC", "HBAR", "XLM", "AAVE",
})


@dataclass(frozen=True, slots=True)
class Thresholds:
    cascade_usd: float  # liquidated USD within cascade_window_s to call a cascade
    cascade_window_s: float
    whale_usd: float  # one taker order at least this large is a "large" (whale) order
    dominance: float  # share (0..1) of the dominant side for cascades and flow signals
    min_score: float  # minimum confidence score a user wants to see (applied by delivery)
    funding_extreme: float  # |rate| per 8 h as a FRACTION (0.0005 = 0.05 %)
    divergence_bps: float = 15.0  # venues' prices apart by at least this much...
    divergence_s: float = 10.0  # ...for at least this long
    large_min: int = 4  # large-order imbalance: at least this many on the dominant side...
    large_ratio: float = 2.0  # ...and this multiple of the other side's (waived for a coin-relative outlier)
    volume_spike_x: float = 3.0  # 1-minute volume vs the trailing per-minute baseline
    absorb_min_large: int = 3  # stop hunt: large opposite-side orders after the sweep
    reclaim: float = 0.30  # stop hunt: share of the swept range price must win back


MAJOR = Thresholds(2_000_000, 30, 25_000, 0.65, 50, 0.0005)
MID = replace(MAJOR, cascade_usd=500_000, whale_usd=15_000, divergence_bps=25.0)
SMALL = replace(MAJOR, cascade_usd=100_000, whale_usd=10_000, divergence_bps=40.0)

# user-facing keys (as used by /thresholds and stored per user) -> Thresholds field
USER_KEYS = {
    "cascade": "cascade_usd",
    "whale": "whale_usd",
    "dominance": "dominance",
    "score": "min_score",
    "funding": "funding_extreme",
}
# fields a subscriber can pull down for everyone (the detector floor); the rest are tuning
FLOOR_FIELDS = frozenset(USER_KEYS.values())
THRESHOLD_FIELDS = frozenset(f.name for f in fields(Thresholds))


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

    def lower_floor(self, symbol: str, **values: float) -> Thresholds:
        """Lower (never raise) the detector floor for a symbol, e.g. when a user asks for less.

        Only the user-facing fields (``FLOOR_FIELDS``) can be lowered; values must be positive.
        Returns the symbol's thresholds after the change.
        """
        for name, value in values.items():
            if name not in FLOOR_FIELDS:
                raise ValueError(f"{name!r} is not a threshold a user can lower "
                                 f"(one of {', '.join(sorted(FLOOR_FIELDS))})")
            if not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        cur = self.for_symbol(symbol)
        new = {k: min(getattr(cur, k), float(v)) for k, v in values.items()}
        self.set_override(symbol, replace(cur, **new))
        return self.for_symbol(symbol)

    def for_symbol(self, symbol: str) -> Thresholds:
        t = self._cache.get(symbol)
        if t is None:
            t = self._overrides.get(symbol) or defaults_for(symbol)
            self._cache[symbol] = t
        return t
