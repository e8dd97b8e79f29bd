"""Symbol normalisation: every spelling a user or a venue uses maps to one canonical base asset.

``btc``, ``BTC``, ``BTCUSDT``, ``btcusdt``, ``BTC-USDT-SWAP``, ``BTC/USDT``, ``BTCUSD_PERP`` -> ``BTC``.
Venues list some cheap coins per 1000 (or per million) units: ``1000PEPEUSDT`` is the same
coin as ``PEPE-USDT-SWAP``. The canonical symbol is always the plain coin (``PEPE``); the
multiplier travels separately so prices can be converted to per-unit at the edge.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple


class SymbolError(ValueError):
    """The text cannot be a futures symbol."""


class Instrument(NamedTuple):
    base: str  # canonical coin, e.g. "PEPE"
    multiplier: int  # units of the coin per quoted unit (1000 for 1000PEPEUSDT, else 1)


MAX_SYMBOL_LEN = 24
_QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "USD")
_SEPARATORS = re.compile(r"[-/_:. ]+")
_VALID_BASE = re.compile(r"^[A-Z0-9]{1,15}$")
# 1000PEPE, 10000SATS, 1000000MOG, 1MBABYDOGE; not 1INCH (no 1000 prefix), not 1000 alone
_MULTIPLIER = re.compile(r"^(1000000|100000|10000|1000|1M)([A-Z][A-Z0-9]*)$")


@lru_cache(maxsize=4096)
def parse_instrument(text: str) -> Instrument:
    """Parse any user or venue spelling into (canonical base, multiplier). Raises SymbolError."""
    if not isinstance(text, str):
        raise SymbolError("symbol must be text")
    raw = text.strip().upper()
    if not raw or len(raw) > MAX_SYMBOL_LEN:
        raise SymbolError(f"not a symbol: {text[:MAX_SYMBOL_LEN]!r}")
    if raw[0] in "-/_:. " or raw[-1] in "-/_:. ":
        raise SymbolError(f"not a symbol: {text!r}")
    parts = [p for p in _SEPARATORS.split(raw) if p]
    if not parts:
        raise SymbolError(f"not a symbol: {text!r}")
    # drop a contract-type suffix: BTC-USDT-SWAP, BTCUSD_PERP, BTC-PERP
    while len(parts) > 1 and parts[-1] in ("SWAP", "PERP", "PERPETUAL", "FUTURES"):
        parts.pop()
    if len(parts) > 2:
        raise SymbolError(f"not a symbol: {text!r}")
    if len(parts) == 2:
        base, quote = parts
        if quote not in _QUOTES:
            raise SymbolError(f"unsupported quote currency in {text!r}")
    else:
        base = parts[0]
        for suffix in ("PERP",):
            if base.endswith(suffix) and len(base) > len(suffix):
                base = base[: -len(suffix)]
        for quote in _QUOTES:
            if base.endswith(quote) and len(base) > len(quote):
                base = base[: -len(quote)]
                break
    if base in _QUOTES:
        raise SymbolError(f"{text!r} is a quote currency, not a coin")
    if not _VALID_BASE.match(base) or base.isdigit():
        raise SymbolError(f"not a symbol: {text!r}")
    multiplier = 1
    m = _MULTIPLIER.match(base)
    if m:
        prefix, base = m.groups()
        multiplier = 1_000_000 if prefix == "1M" else int(prefix)
    return Instrument(base, multiplier)


def instrument_cache(reject: Callable[[str], str | None] | None = None, max_size: int = 8192
                     ) -> tuple[dict[str, Instrument | str], Callable[[str], Instrument | str]]:
    """A feed's memory of native names: ``(cache, learn)`` where ``cache`` maps a native symbol
    to its Instrument or to why it is no coin (a str), and ``learn(raw)`` parses a new name once
    (``reject`` may refuse it first, e.g. Binance's dated delivery contracts). Bounded: cleared
    when full. The hot path is ``cache.get(raw) or learn(raw)``."""
    cache: dict[str, Instrument | str] = {}

    def learn(raw: str) -> Instrument | str:
        inst: Instrument | str
        why = reject(raw) if reject is not None else None
        if why is not None:
            inst = why
        else:
            try:
                inst = parse_instrument(raw)
            except SymbolError as exc:
                inst = str(exc)
        if len(cache) >= max_size:
            cache.clear()
        cache[raw] = inst
        return inst

    return cache, learn


def normalize_symbol(text: str) -> str:
    """Canonical coin for any spelling (``'btc-usdt-swap'`` -> ``'BTC'``). Raises SymbolError."""
    return parse_instrument(text).base


# base -> {venue: multiplier} for the venues that quote a coin per 1000 (or per million) units,
# learnt by the feeds as frames arrive (``note_quoted``); alerts show levels in that unit too, so a
# trader can type the price into that venue's order ticket. Bounded by the venues' listings.
_QUOTED: dict[str, dict[str, int]] = {}


def note_quoted(venue: str, base: str, multiplier: int) -> None:
    """A venue quotes ``base`` per ``multiplier`` units (``1000PEPEUSDT`` on binance: 1000)."""
    by_venue = _QUOTED.get(base)
    if by_venue is None:
        by_venue = _QUOTED[base] = {}
    if by_venue.get(venue) != multiplier:
        by_venue[venue] = multiplier


def quoted_units(base: str) -> dict[str, int]:
    """{venue: multiplier} for the venues seen quoting ``base`` in other than one unit."""
    return dict(_QUOTED.get(base, ()))


def unit_name(multiplier: int, base: str) -> str:
    """How a venue names the unit of ``multiplier`` coins: ``1000PEPE``, ``1MBABYDOGE`` (the
    inverse of the prefix the parsers strip), or the coin itself for one."""
    if multiplier == 1:
        return base
    return ("1M" if multiplier == 1_000_000 else str(multiplier)) + base
