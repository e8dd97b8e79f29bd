"""The threshold contract (engine.contract): what judges a signal for a subscriber, and their tier."""
from __future__ import annotations

import pytest

from engine.contract import Below, check, judged_by
from engine.signals import Direction, Kind, Signal, Tier


def signal(kind, magnitudes, confidence=10, symbol="BTC"):
    return Signal("s", kind, symbol, Direction.LONG, Tier.INFO, confidence, 0, 0, 0, magnitudes, {})


C = Kind.LIQUIDATION_CASCADE
# (name, kind, magnitudes, score, overrides) -> (below, tier)
TABLE = [
    ("BTC cascade at $2M: reaches, WATCH, whatever the score", C, {"liq_usd": 2e6, "dominance": 1.0}, 5, {},
     (None, Tier.WATCH)),
    ("BTC cascade at $6M: URGENT", C, {"liq_usd": 6e6, "dominance": 1.0}, 5, {}, (None, Tier.URGENT)),
    ("BTC cascade just under $2M", C, {"liq_usd": 1.99e6, "dominance": 1.0}, 99, {}, (Below.CASCADE, Tier.WATCH)),
    ("evenly split burst", C, {"liq_usd": 9e6, "dominance": 0.5}, 99, {}, (Below.DOMINANCE, Tier.URGENT)),
    ("user threshold $10M: the $6M cascade is below", C, {"liq_usd": 6e6, "dominance": 1.0}, 99,
     {("*", "cascade"): 1e7}, (Below.CASCADE, Tier.WATCH)),
    ("user threshold $1M: the $3M cascade is URGENT for them", C, {"liq_usd": 3e6, "dominance": 1.0}, 5,
     {("BTC", "cascade"): 1e6}, (None, Tier.URGENT)),
    ("stop hunt: URGENT", Kind.STOP_HUNT, {"liq_usd": 2.5e6, "dominance": 0.95}, 40, {}, (None, Tier.URGENT)),
    ("funding 0.10 %: WATCH, score ignored", Kind.FUNDING_EXTREME, {"funding_8h": -0.001}, 30, {}, (None, Tier.WATCH)),
    ("funding 0.06 %: INFO", Kind.FUNDING_EXTREME, {"funding_8h": 0.0006}, 30, {}, (None, Tier.INFO)),
    ("funding 0.04 %: below", Kind.FUNDING_EXTREME, {"funding_8h": 0.0004}, 90, {}, (Below.FUNDING, Tier.INFO)),
    ("whale window of $25K orders: INFO", Kind.WHALE_WINDOW,
     {"whale_usd": 25_000, "whale_count": 10, "cluster_usd": 400_000}, 44, {}, (None, Tier.INFO)),
    ("whale window of $100K orders: WATCH", Kind.WHALE_WINDOW,
     {"whale_usd": 25_000, "whale_count": 10, "cluster_usd": 1e6}, 44, {}, (None, Tier.WATCH)),
    ("whale window, user wants $50K whales", Kind.WHALE_WINDOW,
     {"whale_usd": 25_000, "whale_count": 10, "cluster_usd": 1e6}, 90, {("*", "whale"): 50_000},
     (Below.WHALE, Tier.INFO)),
    ("accumulation at 66 %: INFO", Kind.ACCUMULATION, {"dominance": 0.66, "whale_usd": 25_000}, 40, {},
     (None, Tier.INFO)),
    ("accumulation at 75 %: WATCH", Kind.ACCUMULATION, {"dominance": 0.75, "whale_usd": 25_000}, 40, {},
     (None, Tier.WATCH)),
    ("divergence: judged by score", Kind.DIVERGENCE, {"spread_bps": 40}, 49, {}, (Below.SCORE, Tier.INFO)),
    ("volume spike score 85: WATCH", Kind.VOLUME_SPIKE, {"volume_usd": 1e6}, 85, {}, (None, Tier.WATCH)),
]


@pytest.mark.parametrize("name,kind,magnitudes,score,overrides,expected", TABLE, ids=[t[0] for t in TABLE])
def test_contract_table(name, kind, magnitudes, score, overrides, expected):
    assert check(signal(kind, magnitudes, score), overrides) == expected


def test_score_judges_only_kinds_without_a_size_knob():
    assert judged_by(Kind.DIVERGENCE) == ("score",) and judged_by(Kind.VOLUME_SPIKE) == ("score",)
    assert "score" not in judged_by(Kind.LIQUIDATION_CASCADE) + judged_by(Kind.FUNDING_EXTREME)


def test_class_defaults_apply_per_coin():
    pepe = signal(C, {"liq_usd": 1.2e5, "dominance": 0.9}, 5, symbol="PEPE")
    assert check(pepe) == (None, Tier.WATCH)  # small caps: $100K
    sol = signal(C, {"liq_usd": 1.6e6, "dominance": 0.9}, 5, symbol="SOL")
    assert check(sol) == (None, Tier.URGENT)  # mids: $500K, 3.2x
