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

import math
from collections.abc import Mapping
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



@dataclass(frozen=True, slots=True)
class UserKey:
    """A threshold a subscriber sets (/thresholds KEY VALUE): the ``Thresholds`` field it moves
    and the range a value must lie in (stored units: USD, share 0..1, score, rate per 8 h)."""

    key: str  # cascade | whale | dominance | score | funding
    field: str
    low: float
    high: float


# the user-facing keys (as used by /thresholds and stored per user), in the order users see them
USER_KEYS: dict[str, UserKey] = {k.key: k for k in (
    UserKey("cascade", "cascade_usd", 10_000, 1_000_000_000),
    UserKey("whale", "whale_usd", 1_000, 100_000_000),
    UserKey("dominance", "dominance", 0.5, 1.0),
    UserKey("score", "min_score", 1, 100),
    UserKey("funding", "funding_extreme", 0.0001, 0.01),
)}
# fields a subscriber's value can pull down for everyone (the detector floor); the rest are tuning
FLOOR_FIELDS = frozenset(k.field for k in USER_KEYS.values())
_SLACK = 1e-12  # '0.01%' parsed as 0.0001 may come out a hair below the bound


class OutOfRange(ValueError):
    """A user's value outside its key's range (``UserKey.low`` .. ``high``)."""

    def __init__(self, key: str, value: float) -> None:
        super().__init__(f"{key} {value} out of range")
        self.key = key
        self.value = value


def check_value(key: str, value: float) -> float:
    """THE validation of a user's threshold: ``value`` for ``key``, or OutOfRange (also for
    NaN and infinities); ValueError for a key that is not a user key."""
    spec = USER_KEYS.get(key)
    if spec is None:
        raise ValueError(f"not a threshold key: {key!r} (one of {', '.join(USER_KEYS)})")
    value = float(value)
    if not math.isfinite(value) or not spec.low - _SLACK <= value <= spec.high + _SLACK:
        raise OutOfRange(key, value)
    return value


def clamp_value(key: str, value: float) -> float:
    """A STORED value brought into ``key``'s range (rows written before a range existed, e.g.
    a minimum score of 0): what it may pull a detector floor down to."""
    spec = USER_KEYS[key]
    if math.isnan(value):
        return spec.high
    return min(spec.high, max(spec.low, value))


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
    """Defaults by class, per-symbol overrides, and the detector floor per symbol.

    A symbol's thresholds are its base (override, else its class defaults) with each floor
    field pulled down to the lowest value its subscribers need (``set_floor``) — never above
    the base: the base is what the engine's own tiering, the signal history and ``/stats``
    assume a subscriber with default thresholds gets.
    """

    def __init__(self, overrides: dict[str, Thresholds] | None = None) -> None:
        self._overrides: dict[str, Thresholds] = dict(overrides or {})
        self._floors: dict[str, dict[str, float]] = {}  # symbol -> field -> floor below the base
        self._cache: dict[str, Thresholds] = {}

    def base(self, symbol: str) -> Thresholds:
        """The symbol's thresholds without any subscriber's floor."""
        return self._overrides.get(symbol) or defaults_for(symbol)

    def set_floor(self, symbol: str, **values: float | None) -> Thresholds:
        """Set (both ways) the detector floor of ``symbol`` for the given fields: a value is the
        lowest any subscriber now needs (used when below the base), None puts the field back to
        the base. Fields not named keep their floor.

        Only the user-facing fields (``FLOOR_FIELDS``) have a floor; values must be positive
        and finite (ValueError otherwise, and nothing changes). Returns the thresholds now.
        """
        for name, value in values.items():
            if name not in FLOOR_FIELDS:
                raise ValueError(f"{name!r} is not a threshold a subscriber can move "
                                 f"(one of {', '.join(sorted(FLOOR_FIELDS))})")
            if value is not None and not (isinstance(value, (int, float))
                                          and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        floors = self._floors.setdefault(symbol, {})
        for name, value in values.items():
            if value is None:
                floors.pop(name, None)
            else:
                floors[name] = float(value)
        if not floors:
            del self._floors[symbol]
        self._cache.pop(symbol, None)
        return self.for_symbol(symbol)

    def floored(self) -> frozenset[str]:
        """Symbols whose floor is set below their base for some field."""
        return frozenset(self._floors)

    def for_symbol(self, symbol: str) -> Thresholds:
        t = self._cache.get(symbol)
        if t is None:
            t = self.base(symbol)
            floors = self._floors.get(symbol)
            if floors:
                t = replace(t, **{k: min(getattr(t, k), v) for k, v in floors.items()})
            self._cache[symbol] = t
        return t


def floor_fields(values: Mapping[str, float | None]) -> dict[str, float | None]:
    """User keys -> ``Thresholds`` fields, for ``set_floor`` (``{"cascade": 5e5}`` ->
    ``{"cascade_usd": 5e5}``)."""
    return {USER_KEYS[key].field: value for key, value in values.items()}
