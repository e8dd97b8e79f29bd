"""Alert text for every kind, in both languages, as Telegram HTML with every value escaped."""
from __future__ import annotations

import re

import pytest

from bot.render import TELEGRAM_TEXT_LIMIT, bar, fmt_rate, html_to_text, render_signal
from engine.signals import Direction, Kind, Levels, Signal, Tier
from locales import translator

T0 = 1_767_225_600_000
ALLOWED_TAGS = re.compile(r"</?(b|i|code)>")


def sig(kind: Kind, direction=Direction.LONG, magnitudes=None, levels=None, extra=None, venues=("binance", "bybit"),
        symbol="BTC", upgrades=None) -> Signal:
    return Signal(
        id="x1", kind=kind, symbol=symbol, direction=direction, tier=Tier.WATCH, confidence=77, ts=T0,
        recv_ns=0, signal_ns=0, magnitudes=magnitudes or {}, components={"cascade_size": 20.0, "dominance": 12.5,
                                                                            "confluence": 8.0},
        venues=venues, levels=levels, thread=None, upgrades=upgrades, extra=extra or {})


CASES = {
    "cascade": sig(Kind.LIQUIDATION_CASCADE, magnitudes={
        "liq_usd": 2.8e6, "liq_long_usd": 2.7e6, "liq_short_usd": 1e5, "dominance": 0.96, "count": 41,
        "zone_low": 95_800.0, "zone_high": 96_000.0, "window_s": 30}),
    "stop hunt": sig(Kind.STOP_HUNT, magnitudes={
        "liq_usd": 2.8e6, "liq_long_usd": 2.8e6, "liq_short_usd": 0.0, "absorb_usd": 1.2e6, "absorb_share": 0.7,
        "large_count": 9, "whale_usd": 25_000, "reclaim": 0.45, "price": 96_100.0},
        levels=Levels(95_800, 96_000, 96_000, 96_200, 95_650, (97_500, 98_000), T0 + 900_000),
        upgrades="x0"),
    "accumulation": sig(Kind.ACCUMULATION, magnitudes={
        "buy_usd": 2.8e6, "sell_usd": 1.1e6, "buy_share": 0.72, "dominance": 0.72, "net_delta": 1.7e6,
        "large_buys": 9, "large_sells": 2, "whale_usd": 5_000, "vwap": 0.84, "price": 0.845, "window_s": 300},
        symbol="MATIC"),
    "distribution": sig(Kind.DISTRIBUTION, Direction.SHORT, magnitudes={
        "buy_usd": 1e6, "sell_usd": 3e6, "buy_share": 0.25, "dominance": 0.75, "net_delta": -2e6,
        "large_buys": 1, "large_sells": 8, "whale_usd": 25_000, "vwap": 60_000, "price": 59_900, "window_s": 300}),
    "whale": sig(Kind.WHALE_WINDOW, Direction.SHORT, magnitudes={
        "whale_count": 12, "whale_usd": 25_000, "cluster_usd": 900_000, "opposite_count": 2,
        "baseline_per_min": 3.2, "window_s": 60, "price": 60_000}),
    "funding": sig(Kind.FUNDING_EXTREME, Direction.SHORT, magnitudes={
        "funding_8h": 0.0011, "funding_max_8h": 0.0012, "venue_count": 2},
        extra={"funding_by_venue": {"binance": 0.0012, "bybit": 0.001}}),
    "divergence price": sig(Kind.DIVERGENCE, Direction.NEUTRAL, magnitudes={
        "spread_bps": 41.0, "max_bps": 44.0, "duration_s": 12, "price_high": 150.6, "price_low": 150.0},
        extra={"venue_high": "bybit", "venue_low": "binance", "variant": "price"}, symbol="SOL"),
    "divergence flow": sig(Kind.DIVERGENCE, Direction.NEUTRAL, magnitudes={
        "share_gap": 0.4, "buy_share_high": 0.7, "buy_share_low": 0.3},
        extra={"venue_high": "binance", "venue_low": "okx", "variant": "flow"}),
    "volume spike": sig(Kind.VOLUME_SPIKE, magnitudes={
        "volume_usd": 9e6, "baseline_usd": 2e6, "ratio": 4.5, "buy_share": 0.8, "dominance": 0.8,
        "large_buys": 12, "large_sells": 1, "price": 60_000}),
}

EXPECT = {  # numbers that matter, per case (English)
    "cascade": ["$2.80M", "96%", "$95,800.0", "$96,000.0", "In progress", "Pressure: DOWN — longs force-sold",
                "a LONG setup only if absorption follows"],
    "stop hunt": ["$2.80M", "Hunt zone (traded): $95,800.0 – $96,000.0", "$1.20M", "Now: $96,100.0",
                  "Entry: $96,000.0 – $96,200.0 (-0.10% / +0.10%)",
                  "SL: $95,650.0 (-0.47%, below the traded extreme)",
                  "Targets: $97,500.0 (+1.46%, 3.1R) / $98,000.0 (+1.98%, 4.2R)", "Valid until", "⬆️"],
    "accumulation": ["72%", "28%", "$2.80M", "$1.10M", "Large buys: 9 orders ≥ $5.0K", "+$1.70M", "BULLISH",
                     "$0.845", "█"],
    "distribution": ["75%", "Large sells: 8", "BEARISH", "SHORT"],
    "whale": ["12 large sells", "$900.0K", "3.2"],
    "funding": ["+0.110%", "binance +0.120%", "bybit +0.100%", "Longs are crowded", "SHORT"],
    "divergence price": ["bybit $150.6", "binance $150", "41 bps", "12s"],
    "divergence flow": ["binance taker buys 70%", "okx taker buys 30%"],
    "volume spike": ["$9.00M", "4.5×", "$2.00M", "80%", "12 buys"],
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("lang", ["en", "id"])
def test_every_kind_renders(name, lang):
    text = render_signal(CASES[name], lang)
    assert len(text) <= TELEGRAM_TEXT_LIMIT
    assert "77/100" in text
    assert ("a ranking, not a probability" if lang == "en" else "bukan probabilitas") in text
    assert "2026-01-01 00:00:00 UTC" in text
    assert "{" not in text and "$$" not in text  # no unfilled placeables
    assert "probab" not in text.replace("not a probability", "").replace("bukan probabilitas", "")
    stripped = ALLOWED_TAGS.sub("", text)
    assert "<" not in stripped and ">" not in stripped.replace("≥", "")
    if lang == "en":
        plain = html_to_text(text)
        for needle in EXPECT[name]:
            assert needle in plain, (name, needle, plain)
        assert "Why: cascade size +20" in plain  # top reasons, named
        assert "Venues: binance, bybit" in plain or "Venues: " in plain


def test_values_from_data_are_escaped():
    s = sig(Kind.DIVERGENCE, Direction.NEUTRAL, symbol="<b>X&Y</b>", venues=("bin<ance>", "a&b"),
            magnitudes={"spread_bps": 30, "duration_s": 11, "price_high": 1, "price_low": 0.99},
            extra={"venue_high": "<script>", "venue_low": "a&b"})
    text = render_signal(s)
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "&lt;b&gt;X&amp;Y&lt;/b&gt;" in text and "bin&lt;ance&gt;" in text
    assert "<script>" in html_to_text(text)  # the reader sees the literal text


def test_binance_liquidation_caveat_only_on_liquidation_kinds():
    assert "lower bounds" in render_signal(CASES["cascade"])
    assert "lower bounds" not in render_signal(CASES["volume spike"])


def test_bars_and_rates():
    assert bar(0.72) == "█" * 14 + "░" * 6 and bar(-1) == "░" * 20 and bar(2) == "█" * 20
    assert fmt_rate(-0.00045) == "-0.045%"


def test_locales_have_the_same_keys_and_placeholders():
    tr = translator()
    en, idn = tr.keys("en"), tr.keys("id")
    assert en == idn
    for key in en:
        assert tr.placeholders("en", key) == tr.placeholders("id", key), key


def test_every_component_name_has_a_translation():
    """Each score component a detector can award (``"name": round(...)`` or ``"name": 10.0 if ...``
    in engine/detectors) is a named reason in the locales."""
    from pathlib import Path

    import engine.detectors as det

    pattern = re.compile(r'"([a-z_]+)"(?::|\] =) (?:round\(|[\w.]+ (?:if|\*))')
    names = {"confluence"}
    for path in Path(det.__file__).parent.glob("*.py"):
        names |= set(pattern.findall(path.read_text()))
    assert {"cascade_size", "multi_venue", "absorption", "reclaim", "flow_share", "timeframes_agree",
            "funding_level", "venues_agree", "price_gap", "flow_gap", "whale_cluster", "volume_ratio"} <= names
    keys = translator().keys("en")
    assert {n for n in names if f"reason-{n.replace('_', '-')}" not in keys} == set()


def test_too_long_text_is_cut_between_lines_never_inside_a_tag():
    from bot.render import fit_lines

    lines = ["<b>headline</b>"] + [f"<b>{i:04d}</b> &amp; " + "x" * 80 for i in range(100)]
    text = fit_lines(lines, limit=1000)
    assert len(text) <= 1000 and text.endswith("\n…")
    body = text.rsplit("\n", 1)[0]
    assert body.count("<b>") == body.count("</b>")
    assert all(line in lines for line in body.split("\n"))


@pytest.mark.parametrize(("share", "text"), [
    (1.0, "100%"), (0.0, "0%"), (0.997, "99%"), (0.003, "1%"), (0.65, "65%"), (0.5, "50%"),
])
def test_a_share_never_rounds_to_all_or_nothing(share, text):
    from bot.render import fmt_pct

    assert fmt_pct(share) == text


@pytest.mark.parametrize(("zone", "suffix"), [
    ("Etc/GMT-7", "UTC+7"), ("Asia/Jakarta", "WIB"), ("UTC", "UTC"), ("Asia/Kolkata", "IST"),
])
def test_alert_times_name_the_zone_readably(zone, suffix):
    from zoneinfo import ZoneInfo

    from bot.render import fmt_time

    assert fmt_time(1_767_225_600_000, ZoneInfo(zone)).endswith(" " + suffix)


def test_a_cascade_that_ended_says_so_and_that_there_is_no_setup():
    ended = sig(Kind.LIQUIDATION_CASCADE, magnitudes={
        "liq_usd": 4.1e6, "liq_long_usd": 4.1e6, "liq_short_usd": 0.0, "dominance": 1.0, "count": 80,
        "zone_low": 95_100.0, "zone_high": 96_000.0, "window_s": 47}, extra={"flushed": "LONG", "status": "ended"})
    plain = html_to_text(render_signal(ended, "en"))
    assert "Ended after 47s" in plain and "No absorption yet — no setup." in plain
    assert "In progress" not in plain and "Liquidated in 47s: $4.10M" in plain
    plain_id = html_to_text(render_signal(ended, "id"))
    assert "Selesai" in plain_id and "tidak ada setup" in plain_id


def test_levels_also_in_the_unit_a_venue_quotes_the_coin_in():
    """1000PEPE on Binance and Bybit: a trader types the price into that ticket as shown."""
    pepe = sig(Kind.STOP_HUNT, symbol="PEPE", magnitudes={"liq_usd": 2e5, "price": 0.0000101},
               levels=Levels(0.0000100, 0.0000102, 0.00001005, 0.00001010, 0.0000099, (0.0000102, 0.0000104),
                             T0 + 900_000),
               extra={"quoted": {"binance": 1000, "bybit": 1000}})
    plain = html_to_text(render_signal(pepe, "en"))
    assert ("In 1000PEPE (binance, bybit): entry $0.01005 – $0.0101 · SL $0.0099 · "
            "targets $0.0102 / $0.0104") in plain
    assert "Dalam 1000PEPE" in html_to_text(render_signal(pepe, "id"))


def test_a_calibrated_kind_shows_the_observed_hit_rate_beside_the_score():
    plain = html_to_text(render_signal(sig(Kind.WHALE_WINDOW, magnitudes={"whale_count": 9},
                                           extra={"calibrated": {"n": 120, "rate": 0.68, "kind_n": 400}}), "en"))
    assert "Score: 77/100 (a ranking, not a probability)" in plain
    assert "Past signals like this: 68% hit (120 checked)" in plain
    uncalibrated = html_to_text(render_signal(sig(Kind.WHALE_WINDOW, magnitudes={"whale_count": 9}), "en"))
    assert "Past signals" not in uncalibrated
