"""Argument parsers behind the commands (pure functions)."""
from __future__ import annotations

import pytest

from engine.thresholds import OutOfRange, check_value
from bot.parsing import (
    fmt_threshold,
    parse_duration,
    parse_key,
    parse_quiet,
    parse_threshold_value,
    parse_tz,
    step,
)
from datetime import UTC


@pytest.mark.parametrize("text, minutes", [("30m", 30), ("2h", 120), ("1d", 1440), ("1w", 10080),
                                           ("45", 45), ("90 min", 90), ("30d", 43200)])
def test_durations(text, minutes):
    assert parse_duration(text) == minutes


@pytest.mark.parametrize("text", ["", "0m", "31d", "2x", "-5m", "1.5h", "🚀", "1h30"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize("key, text, value", [
    ("cascade", "5M", 5e6), ("cascade", "500k", 5e5), ("cascade", "2.5m", 2.5e6),
    ("cascade", "$2,000,000", 2e6), ("cascade", "1b", 1e9), ("whale", "25K", 25e3),
    ("dominance", "65%", 0.65), ("dominance", "65", 0.65), ("dominance", "0.7", 0.7),
    ("score", "70", 70), ("funding", "0.05%", 0.0005), ("funding", "0.1", 0.001),
])
def test_threshold_values(key, text, value):
    assert parse_threshold_value(key, text) == pytest.approx(value)


@pytest.mark.parametrize("key, text", [("cascade", "5"), ("cascade", "2B"), ("dominance", "20%"),
                                       ("score", "0"), ("funding", "5%")])
def test_out_of_range(key, text):
    value = parse_threshold_value(key, text)  # a number: the range is the engine's one check
    with pytest.raises(OutOfRange):
        check_value(key, value)


@pytest.mark.parametrize("key, text", [("cascade", "65%"), ("cascade", "lots"), ("score", "70%"),
                                       ("dominance", "5M"), ("cascade", "1e9"), ("cascade", "nan")])
def test_not_numbers(key, text):
    with pytest.raises(ValueError):
        parse_threshold_value(key, text)


def test_keys_and_steps():
    assert parse_key("Liq") == "cascade" and parse_key("DOM") == "dominance"
    with pytest.raises(ValueError):
        parse_key("drop")
    assert step("cascade", 2e6, True) == 5e6 and step("cascade", 2e6, False) == 1e6
    assert step("cascade", 3e6, False) == 2e6  # off-ladder values step to the neighbour
    assert step("cascade", 1e9, True) == 1e9 and step("whale", 1e3, False) == 1e3
    assert fmt_threshold("funding", 0.0005) == "0.05%"


def test_quiet_and_tz():
    assert parse_quiet("23:00-07:00") == ("23:00", "07:00")
    assert parse_quiet("23 - 7") == ("23:00", "07:00")
    for bad in ("23:00", "24:00-07:00", "07:00-07:00", "a-b"):
        with pytest.raises(ValueError):
            parse_quiet(bad)
    assert parse_tz("+7") == "Etc/GMT-7" and parse_tz("UTC-3") == "Etc/GMT+3"
    assert parse_tz("utc") == "UTC" and parse_tz("Asia/Jakarta") == "Asia/Jakarta"
    assert parse_tz("america/new_york") == "America/New_York"
    for bad in ("+5:30", "+15", "Mars/Base", "../etc/passwd", "x" * 100):
        with pytest.raises(ValueError):
            parse_tz(bad)


def test_time_zone_labels_show_utc_offsets_the_right_way_round():
    from datetime import datetime, timedelta
    import zoneinfo

    from bot.i18n import local_time, tz_label
    from bot.render import utc_offset_text

    january, july = datetime(2026, 1, 15, tzinfo=UTC), datetime(2026, 7, 15, tzinfo=UTC)
    assert tz_label(parse_tz("+7")) == "UTC+7" and tz_label(parse_tz("UTC-3")) == "UTC-3"
    assert tz_label("UTC") == "UTC" and tz_label("Etc/GMT+12") == "UTC-12"
    assert tz_label("Asia/Kolkata") == "Asia/Kolkata, UTC+5:30"
    assert tz_label("America/St_Johns", january) == "America/St_Johns, UTC-3:30"
    assert tz_label("America/St_Johns", july) == "America/St_Johns, UTC-2:30"
    assert utc_offset_text(timedelta(hours=-5, minutes=-30)) == "UTC-5:30"
    assert utc_offset_text(None) == "UTC"
    assert local_time(0, zoneinfo.ZoneInfo("Etc/GMT-7")) == "01 Jan 07:00 UTC+7"
    assert local_time(1_750_000_000, zoneinfo.ZoneInfo("Asia/Jakarta")) == "15 Jun 22:06 WIB"
    assert local_time(0, zoneinfo.ZoneInfo("UTC"), "%H:%M") == "00:00 UTC"
