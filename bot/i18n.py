"""Texts as users read them: ``Texts`` (one language, every argument HTML-escaped), ``Html``
(already-safe markup), and time zones (the ONE fallback for a zone name that cannot be loaded:
UTC; labels and time stamps as users read them).

Used by handlers, keyboards, middlewares and the services alike; it imports nothing of theirs.
"""
from __future__ import annotations

import zoneinfo
from datetime import datetime, tzinfo, UTC
from functools import lru_cache

from bot.render import escape, html_to_text, utc_offset_text
from locales import Translator
from storage import User


class Html(str):
    """Text that is already Telegram HTML (built from escaped parts): not escaped again."""


def clip(value: object, limit: int = 24) -> str:
    """User input echoed back is cut short (it is escaped by ``Texts`` like every argument)."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def esc(value: object, limit: int = 64) -> str:
    """HTML-escape a value for a message (``bot.render.escape``), cut to ``limit`` characters."""
    return escape(clip(value, limit))


def _arg(value: object) -> object:
    """A template argument: Html as is; a whole number as a number (nothing to escape), so
    plural selectors ({ $n -> [one] … *[other] … }) can pick a branch — Fluent then writes it
    the language's way (1,234 / Indonesian 1.234), so pass numbers only where a selector needs
    them and where they stay small; everything else HTML-escaped."""
    if isinstance(value, Html):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return esc(value, 4096)


class Texts:
    """``t(key, **args)`` in one language. Every argument is HTML-escaped unless it is ``Html``
    or an int (passed as a number, for plural selectors)."""

    __slots__ = ("tr", "lang")

    def __init__(self, tr: Translator, lang: str) -> None:
        self.tr = tr
        self.lang = lang

    def __call__(self, key: str, **args: object) -> Html:
        """Safe Telegram HTML: the template is ours and every plain-str argument is escaped, so
        the result can be nested into another ``t(...)`` call as is."""
        safe = {k: _arg(v) for k, v in args.items()}
        return Html(self.tr.get(self.lang, key, **safe))

    def plain(self, key: str, **args: object) -> str:
        """The same text for where Telegram shows PLAIN text — callback-query toasts
        (answerCallbackQuery) and inline button labels: no tags, no entities, so a '&' in a
        value or a template's '&amp;' reads '&', not '&amp;'."""
        return html_to_text(self(key, **args))


# ---------------------------------------------------------------------------- time zones
# /tz +7 stores the IANA zone "Etc/GMT-7", whose POSIX sign is the opposite of what it means
# (UTC+7), and tzdata names such zones "+07". Users only ever see "UTC+7" for them.


def _load(name: str) -> tzinfo | None:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        return None


@lru_cache(maxsize=512)
def zone(name: str | None) -> tzinfo:
    """The zone of a stored name; a name that cannot be loaded (should not be stored: /tz and
    ``UserRepo.set_tz`` check it; tzdata may change) or none at all falls back to UTC."""
    return (_load(name) if name else None) or UTC


def user_tz(account: User | None) -> tzinfo:
    """The zone a user reads times in (UTC when unknown)."""
    return zone(account.tz if account is not None else None)


def tz_label(name: str, when: datetime | None = None) -> str:
    """A stored zone name as the user reads it: 'Etc/GMT-7' -> 'UTC+7', 'UTC' -> 'UTC',
    'Asia/Jakarta' -> 'Asia/Jakarta, UTC+7' (the offset ``when``, default now); a name that
    cannot be loaded is shown as it is."""
    loaded = _load(name)
    if loaded is None:
        return name
    moment = (when or datetime.now(UTC)).astimezone(loaded)
    offset = utc_offset_text(moment.utcoffset())
    if name in ("UTC", "GMT", "Zulu", "UCT", "Universal") or name.startswith("Etc/"):
        return offset
    return f"{name}, {offset}"


def zone_abbrev(moment: datetime) -> str:
    """The zone of an aware datetime in a time stamp: 'WIB', 'CET'... where tzdata has a name,
    'UTC+7' where it only has a number ('+07') — never the inverted 'Etc/GMT-7'."""
    name = moment.tzname() or ""
    if not name or name[0] in "+-" or name in ("UTC", "GMT"):
        return utc_offset_text(moment.utcoffset())
    return name


def local_time(epoch_s: float, tz: tzinfo, fmt: str = "%d %b %H:%M") -> str:
    """An epoch time in the user's zone with the zone after it: '21 Nov 15:17 UTC+7'."""
    moment = datetime.fromtimestamp(epoch_s, tz)
    return f"{moment.strftime(fmt)} {zone_abbrev(moment)}"
