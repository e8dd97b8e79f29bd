"""Pure parsers and formatters for command arguments (no aiogram, no I/O; easy to test), and
what the threshold buttons step through.

Every parser raises ``ValueError`` whose message is NOT shown to users (texts come from the
locales); handlers catch it and answer with a translated sentence. A threshold's RANGE is not
checked here: ``engine.thresholds.check_value`` is the one check (``bot.subscriptions`` calls it).
"""
from __future__ import annotations

import math
import re
import zoneinfo
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from bot.render import fmt_usd
from engine.thresholds import USER_KEYS

MAX_ARG_TEXT = 512  # longest command text we parse; longer is refused up front (access middleware)
MAX_SYMBOLS_PER_COMMAND = 10

MAX_MUTE_MINUTES = 30 * 24 * 60
MUTE_CHOICES = (30, 60, 120, 240, 480, 1440)  # minutes offered as buttons
WINDOWS = ("1m", "5m", "15m", "1h")

_DURATION = re.compile(r"^(\d{1,5})\s*(m|min|mins|minutes?|h|hr|hrs|hours?|d|days?|w|weeks?)?$")
_UNIT_MINUTES = {"m": 1, "h": 60, "d": 1440, "w": 10080}


def parse_duration(text: str) -> int:
    """'30m', '2h', '1d', '1w', '45' (minutes) -> minutes (1 .. 30 days)."""
    m = _DURATION.match(text.strip().lower())
    if not m:
        raise ValueError(f"not a duration: {text!r}")
    minutes = int(m.group(1)) * _UNIT_MINUTES[(m.group(2) or "m")[0]]
    if not 1 <= minutes <= MAX_MUTE_MINUTES:
        raise ValueError("duration out of range")
    return minutes


def looks_like_duration(text: str) -> bool:
    """True for text shaped like a duration even when out of range ('0m', '999d')."""
    return bool(re.fullmatch(r"\d+\s*(m|min|mins|minutes?|h|hr|hrs|hours?|d|days?|w|weeks?)?",
                             text.strip().lower()))


def fmt_duration(minutes: int) -> str:
    if minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    if minutes > 60:
        return f"{minutes // 60}h{minutes % 60:02d}m"
    return f"{minutes}m"


# ---------------------------------------------------------------------------- thresholds

_AMOUNT = re.compile(r"^\$?\s*([0-9]+(?:[.,][0-9]+)?)\s*([kmb]|%)?$")
_SCALE = {"k": 1e3, "m": 1e6, "b": 1e9}


@dataclass(frozen=True, slots=True)
class KeySpec:
    """How /thresholds shows a user key (engine.thresholds.USER_KEYS owns its field and range)."""

    key: str  # user key: cascade | whale | dominance | score | funding
    ladder: tuple[float, ...]  # values the -/+ buttons step through
    presets: tuple[float, ...]

    @property
    def field(self) -> str:
        return USER_KEYS[self.key].field

    @property
    def low(self) -> float:
        return USER_KEYS[self.key].low

    @property
    def high(self) -> float:
        return USER_KEYS[self.key].high


_USD_LADDER = tuple(
    float(m * 10 ** e) for e in range(3, 10) for m in (1, 2, 5) if 1_000 <= m * 10 ** e <= 1_000_000_000
)
_FUNDING_LADDER = (0.0001, 0.0002, 0.0003, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01)

SPECS: dict[str, KeySpec] = {
    "cascade": KeySpec("cascade", tuple(v for v in _USD_LADDER if v >= 10_000),
                       (250_000, 1_000_000, 2_000_000, 5_000_000)),
    "whale": KeySpec("whale", tuple(v for v in _USD_LADDER if v <= 100_000_000), (10_000, 25_000, 50_000, 100_000)),
    "dominance": KeySpec("dominance", tuple(x / 100 for x in range(50, 101, 5)), (0.6, 0.65, 0.75, 0.85)),
    "score": KeySpec("score", tuple(float(x) for x in range(5, 101, 5)), (50, 60, 70, 80)),
    "funding": KeySpec("funding", _FUNDING_LADDER, (0.0003, 0.0005, 0.001)),
}
assert tuple(SPECS) == tuple(USER_KEYS)  # the same keys, in the order users see them
KEYS = tuple(SPECS)
_KEY_ALIASES = {
    "cascade": "cascade", "cascades": "cascade", "liq": "cascade", "liquidation": "cascade",
    "whale": "whale", "whales": "whale", "order": "whale",
    "dominance": "dominance", "dom": "dominance", "share": "dominance",
    "score": "score", "confidence": "score", "min": "score", "minscore": "score",
    "funding": "funding", "fund": "funding",
}


def parse_key(text: str) -> str:
    key = _KEY_ALIASES.get(text.strip().lower())
    if key is None:
        raise ValueError(f"not a threshold key: {text!r}")
    return key


def parse_threshold_value(key: str, text: str) -> float:
    """User text -> the number it means for ``key``. '5M', '500k', '2.5m', '$2,000,000' (USD
    keys); '65%', '65', '0.65' (dominance); '70' (score); '0.05%', '0.05' (funding, percent per
    8 h). Raises ValueError (not a number of that kind); the range is checked where the value is
    set (``engine.thresholds.check_value``)."""
    raw = text.strip().lower().replace(" ", "")
    if key in ("cascade", "whale"):
        raw = raw.replace(",", "") if re.search(r",\d{3}", raw) else raw
    m = _AMOUNT.match(raw)
    if not m:
        raise ValueError(f"not a number: {text!r}")
    number = float(m.group(1).replace(",", "."))
    suffix = m.group(2)
    if key in ("cascade", "whale"):
        if suffix == "%":
            raise ValueError("a percentage is not an amount")
        value = number * _SCALE.get(suffix or "", 1.0)
    elif key == "dominance":
        if suffix in _SCALE:
            raise ValueError("not a share")
        value = number / 100 if (suffix == "%" or number > 1) else number
    elif key == "score":
        if suffix is not None:
            raise ValueError("score is a plain number")
        value = number
    else:  # funding: always percent per 8 h
        if suffix in _SCALE:
            raise ValueError("not a rate")
        value = number / 100
    return round(value, 8) if math.isfinite(value) else value


def fmt_threshold(key: str, value: float) -> str:
    if key in ("cascade", "whale"):
        return fmt_usd(value)
    if key == "dominance":
        return f"{value * 100:g}%"
    if key == "score":
        return f"{value:g}"
    return f"{value * 100:.3g}%"  # funding per 8 h


def fmt_range(key: str) -> tuple[str, str]:
    spec = SPECS[key]
    return fmt_threshold(key, spec.low), fmt_threshold(key, spec.high)


def step(key: str, value: float, up: bool) -> float:
    """Next ladder value above/below ``value`` (clamped to the allowed range)."""
    ladder = SPECS[key].ladder
    if up:
        i = bisect_right(ladder, value + 1e-12)
        return ladder[min(i, len(ladder) - 1)]
    i = bisect_left(ladder, value - 1e-12) - 1
    return ladder[max(i, 0)]


# ---------------------------------------------------------------------------- quiet hours, tz

_HHMM = re.compile(r"^(\d{1,2})(?::?(\d{2}))?$")


def _hhmm(text: str) -> str:
    m = _HHMM.match(text.strip())
    if not m:
        raise ValueError(f"not a time: {text!r}")
    h, mnt = int(m.group(1)), int(m.group(2) or 0)
    if h > 23 or mnt > 59:
        raise ValueError(f"not a time: {text!r}")
    return f"{h:02d}:{mnt:02d}"


def parse_quiet(text: str) -> tuple[str, str]:
    """'23:00-07:00', '23-7', '2300 0700' -> ('23:00', '07:00'); start != end."""
    parts = [p for p in re.split(r"\s*(?:-|–|—|to|\s)\s*", text.strip()) if p]
    if len(parts) != 2:
        raise ValueError(f"not a range: {text!r}")
    start, end = _hhmm(parts[0]), _hhmm(parts[1])
    if start == end:
        raise ValueError("start equals end")
    return start, end


QUIET_OFF_WORDS = ("off", "mati", "none", "no")
URGENT_WORDS = ("urgent", "mendesak")
_YES = ("on", "yes", "ya", "nyala")
_NO = ("off", "no", "tidak", "mati")


@dataclass(frozen=True, slots=True)
class QuietCommand:
    """What ``/quiet ARGS`` asks for: a new window (``start``/``end``), removing it (``clear``),
    and/or whether URGENT alerts pierce quiet hours (``urgent``; None = keep the stored choice)."""

    start: str | None = None
    end: str | None = None
    clear: bool = False
    urgent: bool | None = None


def parse_quiet_command(text: str) -> QuietCommand:
    """'23:00-07:00', 'off', '23:00-07:00 urgent off', 'urgent on', 'urgent' (= on).

    Raises ValueError for anything else (the caller shows an example)."""
    words = text.split()
    lowered = [w.lower() for w in words]
    urgent: bool | None = None
    at = next((i for i, w in enumerate(lowered) if w in URGENT_WORDS), None)
    if at is not None:
        rest = lowered[at + 1:]
        if not rest:
            urgent = True
        elif len(rest) == 1 and rest[0] in _YES:
            urgent = True
        elif len(rest) == 1 and rest[0] in _NO:
            urgent = False
        else:
            raise ValueError(f"not an urgent choice: {' '.join(rest)!r}")
        words = words[:at]
    window = " ".join(words).strip()
    if not window:
        if urgent is None:
            raise ValueError("nothing to set")
        return QuietCommand(urgent=urgent)
    if window.lower() in QUIET_OFF_WORDS:
        return QuietCommand(clear=True, urgent=urgent)
    start, end = parse_quiet(window)
    return QuietCommand(start=start, end=end, urgent=urgent)


_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?$")


def parse_tz(text: str) -> str:
    """'Asia/Jakarta', 'utc', '+7', 'UTC+7', 'GMT-3' -> an IANA zone name."""
    raw = text.strip()
    if not raw or len(raw) > 64:
        raise ValueError("empty")
    low = raw.lower()
    if low in ("utc", "gmt", "z", "+0", "-0"):
        return "UTC"
    m = _OFFSET.match(low)
    if m:
        sign, hours, minutes = m.group(1), int(m.group(2)), int(m.group(3) or 0)
        if minutes or hours > 14 or (sign == "-" and hours > 12):
            raise ValueError("only whole-hour offsets; use a zone name such as Asia/Kolkata")
        if hours == 0:
            return "UTC"
        # POSIX sign convention: Etc/GMT-7 is UTC+7
        return f"Etc/GMT{'-' if sign == '+' else '+'}{hours}"
    if not re.fullmatch(r"[A-Za-z0-9_+\-/]+", raw):
        raise ValueError("not a zone name")
    titled = "/".join("_".join(w.capitalize() for w in part.split("_")) for part in raw.split("/"))
    candidates = [raw] + ([titled] if raw.islower() else [])
    for name in candidates:
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            continue
        return name
    raise ValueError(f"unknown zone {raw!r}")
