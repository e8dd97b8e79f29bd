"""The signal engine: one gate (dedup + cooldown consumed only on emit), scores, tiers, threads."""
from __future__ import annotations

import json

import pytest

from engine.signals import (
    CONFLUENCE_MAX,
    CONFLUENCE_POINTS,
    COOLDOWN_MS,
    Direction,
    Finding,
    Kind,
    Levels,
    ListSink,
    Signal,
    SignalEngine,
    Tier,
)

T0 = 1_767_225_600_000


def finding(kind=Kind.WHALE_WINDOW, direction=Direction.LONG, ts=T0, symbol="BTC", points=40.0, thread=None,
            levels=None):
    return Finding(kind, symbol, direction, ts, 0, {"whale_usd": 25_000.0}, {"whale_cluster": points},
                   ("binance",), levels, thread)


def make():
    sink = ListSink()
    return SignalEngine(sink, wall_ns=lambda: 42), sink


@pytest.mark.parametrize(
    "name, findings, emitted",
    [
        ("one", [finding()], 1),
        ("exact duplicate", [finding(), finding()], 1),
        ("inside the cooldown", [finding(), finding(ts=T0 + COOLDOWN_MS[Kind.WHALE_WINDOW] - 1)], 1),
        ("after the cooldown", [finding(), finding(ts=T0 + COOLDOWN_MS[Kind.WHALE_WINDOW])], 2),
        ("out of order inside the cooldown", [finding(ts=T0 + 10_000), finding(ts=T0)], 1),
        ("other direction is another key", [finding(), finding(direction=Direction.SHORT)], 2),
        ("other symbol is another key", [finding(), finding(symbol="ETH")], 2),
        ("other kind is another key", [finding(), finding(kind=Kind.VOLUME_SPIKE)], 2),
    ],
)
def test_gate_table(name, findings, emitted):
    eng, sink = make()
    for f in findings:
        eng.submit(f)
    assert len(sink.signals) == emitted
    assert eng.emitted == emitted and eng.suppressed == len(findings) - emitted


def test_cooldown_is_consumed_only_by_an_emitted_signal():
    eng, sink = make()
    cd = COOLDOWN_MS[Kind.WHALE_WINDOW]
    eng.submit(finding(ts=T0))
    eng.submit(finding(ts=T0 + cd - 1))  # suppressed: must NOT restart the cooldown
    eng.submit(finding(ts=T0 + cd))  # a full cooldown after the emitted one -> emitted
    assert [s.ts for s in sink.signals] == [T0, T0 + cd]


def test_score_is_the_sum_of_named_components_clamped():
    eng, sink = make()
    f = finding()
    f.components = {"a": 70.0, "b": 50.0}
    sig = eng.submit(f)
    assert sig.confidence == 100 and sig.components == {"a": 70.0, "b": 50.0}
    f2 = finding(symbol="ETH")
    f2.components = {"a": -10.0}
    assert eng.submit(f2).confidence == 0


def test_confluence_raises_the_score_and_says_why():
    eng, sink = make()
    base = eng.submit(finding(kind=Kind.VOLUME_SPIKE)).confidence
    eng2, _ = make()
    eng2.submit(finding(kind=Kind.ACCUMULATION, ts=T0 - 60_000))
    eng2.submit(finding(kind=Kind.FUNDING_EXTREME, ts=T0 - 30_000))
    eng2.submit(finding(kind=Kind.WHALE_WINDOW, direction=Direction.SHORT, ts=T0 - 30_000))  # disagrees
    sig = eng2.submit(finding(kind=Kind.VOLUME_SPIKE))
    assert sig.components["confluence"] == min(CONFLUENCE_MAX, 2 * CONFLUENCE_POINTS)
    assert sig.confidence == base + 2 * CONFLUENCE_POINTS
    assert sig.extra["confluence"] == ["ACCUMULATION", "FUNDING_EXTREME"]


def test_neutral_and_stale_findings_do_not_confirm():
    eng, _ = make()
    eng.submit(finding(kind=Kind.DIVERGENCE, direction=Direction.NEUTRAL, ts=T0 - 1000))
    eng.submit(finding(kind=Kind.ACCUMULATION, ts=T0 - 3_600_000))
    sig = eng.submit(finding(kind=Kind.VOLUME_SPIKE))
    assert "confluence" not in sig.components


def test_a_suppressed_finding_still_counts_as_confirmation():
    eng, _ = make()
    eng.submit(finding(kind=Kind.ACCUMULATION, ts=T0 - 60_000))
    assert eng.submit(finding(kind=Kind.ACCUMULATION, ts=T0 - 30_000)) is None
    sig = eng.submit(finding(kind=Kind.WHALE_WINDOW))
    assert sig.components["confluence"] == CONFLUENCE_POINTS


def test_cascade_then_stop_hunt_is_one_thread_and_not_its_own_confluence():
    eng, sink = make()
    cascade = eng.submit(finding(kind=Kind.LIQUIDATION_CASCADE, thread="BTC:1"))
    hunt = eng.submit(finding(kind=Kind.STOP_HUNT, ts=T0 + 20_000, thread="BTC:1"))
    assert hunt.upgrades == cascade.id and cascade.upgrades is None
    assert "confluence" not in hunt.components


def test_headline_tier_is_the_default_subscribers_tier():
    eng, _ = make()
    big = Finding(Kind.LIQUIDATION_CASCADE, "BTC", Direction.SHORT, T0, 0,
                  {"liq_usd": 6_500_000.0, "dominance": 1.0}, {"cascade_size": 20.0}, ("binance",),
                  thread="BTC:1")
    small = Finding(Kind.LIQUIDATION_CASCADE, "ETH", Direction.SHORT, T0, 0,
                    {"liq_usd": 2_100_000.0, "dominance": 1.0}, {"cascade_size": 20.0}, ("binance",))
    assert eng.submit(big).tier is Tier.URGENT  # >= 3x BTC's $2M, whatever the score
    assert eng.submit(small).tier is Tier.WATCH


def test_an_update_edits_the_first_signal_of_its_kind_on_the_thread_past_the_cooldown():
    eng, sink = make()
    opening = eng.submit(Finding(Kind.LIQUIDATION_CASCADE, "BTC", Direction.SHORT, T0, 0,
                                 {"liq_usd": 2_100_000.0, "dominance": 1.0}, {"cascade_size": 20.0},
                                 ("binance",), thread="BTC:1"))
    grown = eng.submit(Finding(Kind.LIQUIDATION_CASCADE, "BTC", Direction.SHORT, T0 + 4_000, 0,
                               {"liq_usd": 6_300_000.0, "dominance": 1.0}, {"cascade_size": 30.0},
                               ("binance",), thread="BTC:1", update=True))
    assert grown is not None and grown.edits == opening.id and grown.tier is Tier.URGENT
    orphan = eng.submit(Finding(Kind.LIQUIDATION_CASCADE, "BTC", Direction.SHORT, T0, 0,
                                {"liq_usd": 3e6, "dominance": 1.0}, {}, (), thread="BTC:9", update=True))
    assert orphan is None  # nothing to edit: never emitted
    hunt = eng.submit(finding(kind=Kind.STOP_HUNT, ts=T0 + 20_000, thread="BTC:1"))
    assert hunt.upgrades == opening.id  # an update never becomes the thread's head
    assert [s.id for s in sink.signals] == [opening.id, grown.id, hunt.id]


def test_signal_round_trips_through_json():
    eng, _ = make()
    lv = Levels(99.0, 100.0, 99.4, 99.6, 98.8, (100.0, 100.5), T0 + 900_000)
    f = finding(kind=Kind.STOP_HUNT, levels=lv, thread="BTC:9")
    f.extra = {"flushed": "LONG"}
    sig = eng.submit(f)
    back = Signal.from_dict(json.loads(json.dumps(sig.to_dict())))
    assert back == sig and back.signal_ns == 42


def test_a_far_bigger_event_passes_the_cooldown_a_small_one_started():
    """One user's low floor lets a small cascade through; it must not mute a big one for everyone."""
    from engine.signals import Direction, Finding, Kind, ListSink, SignalEngine

    sink = ListSink()
    eng = SignalEngine(sink)

    def finding(ts, usd):
        return Finding(Kind.LIQUIDATION_CASCADE, "BTC", Direction.LONG, ts, 0, {"liq_usd": usd},
                       {"size": 40.0})

    assert eng.submit(finding(1_000_000, 150_000)) is not None
    assert eng.submit(finding(1_030_000, 200_000)) is None  # similar size: cooling down
    assert eng.submit(finding(1_060_000, 5_000_000)) is not None  # far bigger: let through
    assert eng.submit(finding(1_090_000, 6_000_000)) is None  # and it restarts the cooldown
