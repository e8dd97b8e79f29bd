"""The threshold contract: which of a subscriber's thresholds judge a signal, and its tier for them.

Pure and shared: delivery routes every subscriber with it, the engine gives each Signal the tier a
subscriber with DEFAULT thresholds gets, and ``teleglas demo`` / ``replay --json`` say whether such a
subscriber would receive it. No aiogram, no I/O.

The rule (README, "What reaches you"):

1. A kind with a size knob is judged by its size thresholds ONLY — at or above them it reaches the
   user whatever its score (unless they muted it, it is their quiet hours, or its tier is off):

   | kind                        | thresholds that judge it                 |
   |-----------------------------|------------------------------------------|
   | LIQUIDATION_CASCADE         | ``cascade`` (USD liquidated), ``dominance`` |
   | STOP_HUNT                   | ``cascade``, ``dominance``               |
   | WHALE_WINDOW                | ``whale`` (the size counted as a large order) |
   | ACCUMULATION / DISTRIBUTION | ``dominance`` (taker share), ``whale``   |
   | FUNDING_EXTREME             | ``funding`` (abs rate per 8 h)           |

2. Kinds without a size knob (DIVERGENCE, VOLUME_SPIKE) are judged by the minimum ``score``.

3. The tier is per subscriber, by the size relative to THEIR threshold (``ratio`` = size / threshold):

   | kind                        | URGENT                    | WATCH                   | INFO          |
   |-----------------------------|---------------------------|-------------------------|---------------|
   | STOP_HUNT (a confirmed setup)| always                   |                         |               |
   | LIQUIDATION_CASCADE         | ratio >= 3                | ratio >= 1              |               |
   | FUNDING_EXTREME             |                           | ratio >= 2              | ratio >= 1    |
   | ACCUMULATION / DISTRIBUTION |                           | share edge >= 1.5x      | otherwise     |
   | WHALE_WINDOW                |                           | avg order >= 3x ``whale``| otherwise    |
   | DIVERGENCE / VOLUME_SPIKE   |                           | score >= 80             | otherwise     |

   ("share edge" is how far the dominant share is above 50 % relative to the threshold's: 72.5 %
   against the default 65 % is 1.5x.) Context kinds (flow, whales, funding, divergence, spikes)
   are never URGENT: URGENT is for a moment to act on now.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum

from .signals import Kind, Signal, Tier
from .thresholds import USER_KEYS, Thresholds, defaults_for

ALL_SYMBOLS = "*"  # a threshold stored for every coin (storage uses the same marker)


class Below(str, Enum):
    """Which threshold a signal is below (the routing skip reason, by its stored name)."""

    CASCADE = "below_cascade"
    WHALE = "below_whale"
    DOMINANCE = "below_dominance"
    FUNDING = "below_funding"
    SCORE = "below_score"


# user key -> (magnitude in Signal.magnitudes, how to read it, reason when below)
_RULES: dict[str, tuple[str, Callable[[float], float], Below]] = {
    "cascade": ("liq_usd", float, Below.CASCADE),
    "whale": ("whale_usd", float, Below.WHALE),
    "dominance": ("dominance", float, Below.DOMINANCE),
    "funding": ("funding_8h", abs, Below.FUNDING),
}

# kind -> the user keys that judge it (in this order); absent kinds are judged by the score
SIZE_KEYS: dict[Kind, tuple[str, ...]] = {
    Kind.LIQUIDATION_CASCADE: ("cascade", "dominance"),
    Kind.STOP_HUNT: ("cascade", "dominance"),
    Kind.WHALE_WINDOW: ("whale",),
    Kind.ACCUMULATION: ("dominance", "whale"),
    Kind.DISTRIBUTION: ("dominance", "whale"),
    Kind.FUNDING_EXTREME: ("funding",),
}

Overrides = Mapping[tuple[str, str], float]
_NO_OVERRIDES: Overrides = {}


def threshold(overrides: Overrides, symbol: str, key: str, defaults: Thresholds) -> float:
    """The user's value for ``key`` on ``symbol``: per-symbol, else '*', else the default."""
    value = overrides.get((symbol, key))
    if value is None:
        value = overrides.get((ALL_SYMBOLS, key))
    if value is None:
        value = getattr(defaults, USER_KEYS[key].field)
    return float(value)


def judged_by(kind: Kind) -> tuple[str, ...]:
    """The user keys that decide whether ``kind`` reaches a subscriber (``("score",)`` when the
    kind has no size knob)."""
    return SIZE_KEYS.get(kind, ("score",))


def check(signal: Signal, overrides: Overrides = _NO_OVERRIDES,
          defaults: Thresholds | None = None) -> tuple[Below | None, Tier]:
    """(the first threshold ``signal`` is below for this subscriber or None, their tier for it)."""
    defaults = defaults or defaults_for(signal.symbol)
    symbol = signal.symbol
    m = signal.magnitudes
    keys = SIZE_KEYS.get(signal.kind)
    if keys is None:
        if signal.confidence < threshold(overrides, symbol, "score", defaults):
            return Below.SCORE, _score_tier(signal.confidence)
        return None, _score_tier(signal.confidence)
    values: dict[str, tuple[float, float]] = {}
    below: Below | None = None
    for key in keys:
        magnitude, read, reason = _RULES[key]
        raw = m.get(magnitude)
        if raw is None:
            continue  # a signal without that figure is not judged by it
        value = read(raw)
        limit = threshold(overrides, symbol, key, defaults)
        values[key] = (value, limit)
        if below is None and value < limit:
            below = reason
    return below, _tier(signal, values)


def _score_tier(confidence: int) -> Tier:
    return Tier.WATCH if confidence >= 80 else Tier.INFO


def _ratio(values: Mapping[str, tuple[float, float]], key: str) -> float:
    pair = values.get(key)
    if pair is None:
        return 1.0
    value, limit = pair
    return value / limit if limit > 0 else 1.0


def _tier(signal: Signal, values: Mapping[str, tuple[float, float]]) -> Tier:
    kind = signal.kind
    if kind is Kind.STOP_HUNT:
        return Tier.URGENT
    if kind is Kind.LIQUIDATION_CASCADE:
        return Tier.URGENT if _ratio(values, "cascade") >= 3.0 else Tier.WATCH
    if kind is Kind.FUNDING_EXTREME:
        return Tier.WATCH if _ratio(values, "funding") >= 2.0 else Tier.INFO
    if kind in (Kind.ACCUMULATION, Kind.DISTRIBUTION):
        pair = values.get("dominance")
        if pair is not None:
            share, limit = pair
            edge = (share - 0.5) / (limit - 0.5) if limit > 0.5 else 1.0
            return Tier.WATCH if edge >= 1.5 else Tier.INFO
        return Tier.INFO
    if kind is Kind.WHALE_WINDOW:
        m = signal.magnitudes
        count = m.get("whale_count", 0.0)
        pair = values.get("whale")
        if count > 0 and pair is not None and pair[1] > 0:
            average = m.get("cluster_usd", 0.0) / count
            return Tier.WATCH if average >= 3.0 * pair[1] else Tier.INFO
        return Tier.INFO
    return _score_tier(signal.confidence)


def default_tier(signal: Signal) -> Tier:
    """The tier a subscriber with default thresholds gets (the headline tier of a Signal)."""
    return check(signal)[1]
