"""Instrument lists from the venues' REST APIs: which coins exist where, under which native
symbol, with which multiplier (``1000PEPEUSDT``) and, on OKX, which contract size (``ctVal``).

Loaded once with aiohttp (timeouts on every request), cached in memory with a timestamp and
refreshed when older than ``max_age_s``. When a list cannot be had the catalog does not fail:
``available`` / ``venue_available(v)`` are False, ``degraded_reason()`` says why, feeds fall back to
guessed native symbols, and OKX learns contract sizes from its WebSocket ``instruments`` channel.

Funding intervals: Bybit's list carries ``fundingInterval``; Binance's exchangeInfo does not, so
``GET /fapi/v1/fundingInfo`` is fetched with it (same timeout, same retry and max-age rules). It lists
only the symbols whose cap, floor or interval was adjusted — every other symbol funds every 8 h. When
it cannot be had, Binance keeps the 8 h default and the degraded mode is visible:
``binance_funding_available`` is False, ``binance_funding_error`` / ``degraded_reason()`` /
``status()["binance_funding"]`` say why, and one warning is logged per failed attempt.
The bot's /add uses ``known(text)`` and ``suggest(text)``; when ``available`` is False it cannot
verify a symbol and should say so.
"""
from __future__ import annotations

import asyncio
import difflib
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
import orjson

from ..symbols import SymbolError, parse_instrument
from .base import JsonObject
from .okx import Contract, contract_from_instrument

log = logging.getLogger(__name__)

# Bybit's REST base has no setting of its own (DESIGN.md's setting names are a contract); it is
# derived from BYBIT_WS_URL (stream.bybit.com -> api.bybit.com, a local test host stays itself).
BYBIT_REST_URL = "https://api.bybit.com"
BINANCE_PATH = "/fapi/v1/exchangeInfo"
BINANCE_FUNDING_PATH = "/fapi/v1/fundingInfo"
DEFAULT_FUNDING_INTERVAL_H = 8.0
BYBIT_PATH = "/v5/market/instruments-info"
OKX_PATH = "/api/v5/public/instruments"
VENUES = ("binance", "bybit", "okx")
_QUOTE_PREFERENCE = {"USDT": 0, "USDC": 1, "USD": 2}
MAX_BYBIT_PAGES = 10


def bybit_rest_from_ws(ws_url: str) -> str:
    parts = urlsplit(ws_url)
    scheme = "https" if parts.scheme in ("wss", "https") else "http"
    host = parts.netloc
    for prefix, repl in (("stream-testnet.", "api-testnet."), ("stream-demo.", "api-demo."), ("stream.", "api.")):
        if host.startswith(prefix):
            return f"{scheme}://{repl}{host[len(prefix):]}"
    return f"{scheme}://{host}" if host else BYBIT_REST_URL


@dataclass(frozen=True, slots=True)
class VenueInstrument:
    venue: str
    symbol: str  # venue-native: "1000PEPEUSDT", "PEPE-USDT-SWAP"
    base: str  # canonical coin: "PEPE"
    multiplier: int  # coins per quoted unit
    quote: str
    contract: Contract | None = None  # OKX only: contract size
    funding_interval_h: float = 8.0


class CatalogError(Exception):
    pass


class VenueUrls(Protocol):
    """The settings the catalog is built from (``config.settings.Settings`` has them; read only)."""

    @property
    def BINANCE_REST_URL(self) -> str: ...

    @property
    def BYBIT_WS_URL(self) -> str: ...

    @property
    def OKX_REST_URL(self) -> str: ...


def _better(new: VenueInstrument, old: VenueInstrument | None) -> bool:
    if old is None:
        return True
    return _QUOTE_PREFERENCE.get(new.quote, 9) < _QUOTE_PREFERENCE.get(old.quote, 9)


def parse_binance(body: object) -> dict[str, VenueInstrument]:
    if not isinstance(body, dict) or not isinstance(body.get("symbols"), list):
        raise CatalogError("exchangeInfo without a 'symbols' list")
    out: dict[str, VenueInstrument] = {}
    for item in body["symbols"]:
        if not isinstance(item, dict) or item.get("contractType") != "PERPETUAL" or item.get("status") != "TRADING":
            continue
        try:
            base, mult = parse_instrument(str(item.get("symbol")))
        except SymbolError:
            continue
        inst = VenueInstrument("binance", str(item["symbol"]), base, mult, str(item.get("quoteAsset", "")))
        if _better(inst, out.get(base)):
            out[base] = inst
    return out


def parse_binance_funding(body: object) -> dict[str, float]:
    """fundingInfo -> {native symbol: interval hours}. The answer is a JSON array of
    ``{"symbol", "adjustedFundingRateCap", "adjustedFundingRateFloor", "fundingIntervalHours",
    "disclaimer"}``; items without a usable positive interval are skipped."""
    if not isinstance(body, list):
        raise CatalogError(f"fundingInfo answer is not a JSON array: {str(body)[:120]}")
    out: dict[str, float] = {}
    for item in body:
        if not isinstance(item, dict) or not isinstance(item.get("symbol"), str):
            continue
        raw = item.get("fundingIntervalHours")
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not 0 < raw <= 24 * 7:
            continue
        out[item["symbol"]] = float(raw)
    return out


def parse_bybit(pages: list[JsonObject]) -> dict[str, VenueInstrument]:
    out: dict[str, VenueInstrument] = {}
    for body in pages:
        for item in body["result"]["list"]:
            if not isinstance(item, dict) or item.get("contractType") != "LinearPerpetual":
                continue
            if item.get("status") not in ("Trading", None):
                continue
            try:
                base, mult = parse_instrument(str(item.get("symbol")))
            except SymbolError:
                continue
            try:
                interval_h = float(item.get("fundingInterval") or 480) / 60.0
            except (TypeError, ValueError):
                interval_h = 8.0
            inst = VenueInstrument("bybit", str(item["symbol"]), base, mult, str(item.get("quoteCoin", "")),
                                   funding_interval_h=interval_h)
            if _better(inst, out.get(base)):
                out[base] = inst
    return out


def parse_okx(body: object) -> tuple[dict[str, VenueInstrument], dict[str, Contract]]:
    if not isinstance(body, dict) or str(body.get("code")) != "0" or not isinstance(body.get("data"), list):
        code = body.get("code") if isinstance(body, dict) else "?"
        raise CatalogError(f"instruments answer is not a success envelope: code={code}")
    by_base: dict[str, VenueInstrument] = {}
    contracts: dict[str, Contract] = {}
    for item in body["data"]:
        if not isinstance(item, dict) or item.get("state", "live") != "live":
            continue
        c = contract_from_instrument(item)
        if c is None:
            continue
        contracts[c.inst_id] = c
        if c.inverse:
            continue  # subscriptions use the linear USDT/USDC swap; inverse sizes still convert liquidations
        quote = c.inst_id.split("-")[1] if c.inst_id.count("-") >= 2 else ""
        inst = VenueInstrument("okx", c.inst_id, c.base, c.multiplier, quote, c)
        if _better(inst, by_base.get(c.base)):
            by_base[c.base] = inst
    return by_base, contracts


class InstrumentCatalog:
    def __init__(self, *, binance_rest: str = "https://fapi.binance.com", bybit_rest: str = BYBIT_REST_URL,
                 okx_rest: str = "https://www.okx.com", timeout_s: float = 10.0, max_age_s: float = 6 * 3600,
                 retry_after_s: float = 300.0, venues: tuple[str, ...] = VENUES) -> None:
        self.urls = {"binance": binance_rest.rstrip("/"), "bybit": bybit_rest.rstrip("/"), "okx": okx_rest.rstrip("/")}
        self.venues = tuple(v for v in venues if v in VENUES)
        self.timeout_s = timeout_s
        self.max_age_s = max_age_s
        self.retry_after_s = retry_after_s
        self._by_venue: dict[str, dict[str, VenueInstrument]] = {}
        self._okx_contracts: dict[str, Contract] = {}
        self.loaded_at: dict[str, float] = {}  # wall clock of the last successful load
        self._attempted_at: dict[str, float] = {}  # monotonic
        self.errors: dict[str, str] = {}
        self._all_bases: list[str] = []
        self._lock = asyncio.Lock()
        # Binance fundingInfo: native symbol -> interval hours (only the adjusted symbols; others 8 h)
        self._binance_funding: dict[str, float] = {}
        self.binance_funding_loaded_at = 0.0  # wall clock of the last successful fundingInfo load
        self.binance_funding_error = ""  # why fundingInfo is unavailable ("" when loaded or not tried)
        self._binance_funding_attempted = -1e18  # monotonic

    @classmethod
    def from_settings(cls, settings: VenueUrls, **kwargs: Any) -> InstrumentCatalog:
        return cls(binance_rest=settings.BINANCE_REST_URL, bybit_rest=bybit_rest_from_ws(settings.BYBIT_WS_URL),
                   okx_rest=settings.OKX_REST_URL, **kwargs)

    # ----- loading -------------------------------------------------------------------------------
    async def _get(self, session: aiohttp.ClientSession, url: str, params: dict[str, str] | None = None) -> object:
        async with session.get(url, params=params) as resp:
            if resp.status != 200:
                raise CatalogError(f"HTTP {resp.status} from {url}")
            return orjson.loads(await resp.read())

    async def _load_venue(self, session: aiohttp.ClientSession, venue: str) -> None:
        base = self.urls[venue]
        if venue == "binance":
            self._by_venue["binance"] = parse_binance(await self._get(session, base + BINANCE_PATH))
        elif venue == "bybit":
            pages: list[JsonObject] = []
            cursor = ""
            for _ in range(MAX_BYBIT_PAGES):
                params = {"category": "linear", "limit": "1000"}
                if cursor:
                    params["cursor"] = cursor
                body = await self._get(session, base + BYBIT_PATH, params)
                if not isinstance(body, dict) or body.get("retCode") != 0 or not isinstance(body.get("result"), dict) \
                        or not isinstance(body["result"].get("list"), list):
                    raise CatalogError(f"instruments-info answer is not a success envelope: {str(body)[:120]}")
                pages.append(body)
                cursor = body["result"].get("nextPageCursor") or ""
                if not cursor:
                    break
            self._by_venue["bybit"] = parse_bybit(pages)
        else:
            by_base, contracts = parse_okx(await self._get(session, base + OKX_PATH, {"instType": "SWAP"}))
            self._by_venue["okx"] = by_base
            self._okx_contracts = contracts

    async def load(self, venues: tuple[str, ...] | None = None) -> dict[str, bool]:
        """Fetch the lists (concurrently). Returns {venue: loaded}. Never raises for network trouble.
        Loading Binance also loads its fundingInfo (its outcome: ``binance_funding_available``)."""
        async with self._lock:
            return await self._load(tuple(v for v in (venues or self.venues) if v in VENUES))

    async def refresh_if_due(self) -> None:
        """Load venues never loaded (at most every ``retry_after_s``) or older than ``max_age_s``.
        Feeds call this before each connect; concurrent callers wait for one fetch."""
        async with self._lock:
            now_m, now_w = time.monotonic(), time.time()
            due = tuple(v for v in self.venues
                        if (v not in self.loaded_at and now_m - self._attempted_at.get(v, -1e18) >= self.retry_after_s)
                        or (v in self.loaded_at and now_w - self.loaded_at[v] >= self.max_age_s))
            funding_due = "binance" in self.venues and "binance" not in due and (
                (not self.binance_funding_loaded_at
                 and now_m - self._binance_funding_attempted >= self.retry_after_s)
                or (self.binance_funding_loaded_at and now_w - self.binance_funding_loaded_at >= self.max_age_s))
            if due or funding_due:
                await self._load(due, funding=funding_due or "binance" in due)

    async def _load(self, venues: tuple[str, ...], *, funding: bool | None = None) -> dict[str, bool]:
        if funding is None:
            funding = "binance" in venues
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            jobs: list[Awaitable[object]] = [self._load_venue(session, v) for v in venues]
            if funding:
                jobs.append(self._get(session, self.urls["binance"] + BINANCE_FUNDING_PATH))
            results = await asyncio.gather(*jobs, return_exceptions=True)
        if funding:
            self._funding_result(results.pop())
        status: dict[str, bool] = {}
        for venue, result in zip(venues, results):
            self._attempted_at[venue] = time.monotonic()
            if isinstance(result, BaseException):
                if isinstance(result, asyncio.CancelledError):
                    raise result
                reason = str(result) or type(result).__name__
                self.errors[venue] = reason
                log.warning("%s instrument list unavailable (%s): %s", venue, self.urls[venue], reason)
                status[venue] = False
            else:
                self.errors.pop(venue, None)
                self.loaded_at[venue] = time.time()
                status[venue] = True
                log.info("%s instrument list: %d coins", venue, len(self._by_venue.get(venue, {})))
        self._all_bases = sorted({b for m in self._by_venue.values() for b in m})
        self._apply_binance_funding()
        return status

    def _funding_result(self, result: object) -> None:
        self._binance_funding_attempted = time.monotonic()
        if isinstance(result, asyncio.CancelledError):
            raise result
        if not isinstance(result, BaseException):
            try:
                result = parse_binance_funding(result)
            except CatalogError as exc:
                result = exc
        if isinstance(result, BaseException):
            self.binance_funding_error = str(result) or type(result).__name__
            log.warning("binance fundingInfo unavailable (%s): %s; every Binance symbol is assumed to fund "
                        "every 8 h until it loads", self.urls["binance"] + BINANCE_FUNDING_PATH,
                        self.binance_funding_error)
            return
        self._binance_funding = result
        self.binance_funding_error = ""
        self.binance_funding_loaded_at = time.time()
        log.info("binance fundingInfo: %d symbols with an adjusted funding (%d not on 8 h)", len(result),
                 sum(1 for h in result.values() if h != DEFAULT_FUNDING_INTERVAL_H))

    def _apply_binance_funding(self) -> None:
        table = self._binance_funding
        insts = self._by_venue.get("binance")
        if not insts:
            return
        for base, inst in insts.items():
            hours = table.get(inst.symbol, DEFAULT_FUNDING_INTERVAL_H)
            if inst.funding_interval_h != hours:
                insts[base] = replace(inst, funding_interval_h=hours)

    # ----- queries -------------------------------------------------------------------------------
    @property
    def available(self) -> bool:
        """True when at least one venue's list is loaded; False = degraded (nothing verified)."""
        return bool(self.loaded_at)

    def venue_available(self, venue: str) -> bool:
        return venue in self.loaded_at

    @property
    def binance_funding_available(self) -> bool:
        """True when Binance's fundingInfo is loaded; False = every Binance symbol assumed on 8 h."""
        return bool(self.binance_funding_loaded_at)

    def degraded_reason(self) -> str:
        funding_missing = "binance" in self.venues and not self.binance_funding_available and \
            (self.binance_funding_error or "binance" in self.loaded_at)
        if self.available and not self.errors and not funding_missing:
            return ""
        missing = [v for v in self.venues if v not in self.loaded_at]
        parts = [f"{v}: {self.errors.get(v, 'not loaded yet')}" for v in missing]
        if funding_missing:
            parts.append(f"binance fundingInfo: {self.binance_funding_error or 'not loaded yet'} "
                         "(funding intervals assumed 8 h)")
        return "; ".join(parts)

    def funding_interval_h(self, venue: str, native_symbol: str) -> float:
        """The funding interval of a venue-native symbol (Binance: from fundingInfo, else 8 h)."""
        if venue == "binance":
            return self._binance_funding.get(native_symbol, DEFAULT_FUNDING_INTERVAL_H)
        for inst in self._by_venue.get(venue, {}).values():
            if inst.symbol == native_symbol:
                return inst.funding_interval_h
        return DEFAULT_FUNDING_INTERVAL_H

    def binance_funding_intervals(self) -> dict[str, float]:
        """Native symbol -> hours for the Binance symbols whose interval fundingInfo lists (the
        live dict: replaced, never mutated, on reload). Symbols absent here fund every 8 h."""
        return self._binance_funding

    def instrument(self, venue: str, base: str) -> VenueInstrument | None:
        return self._by_venue.get(venue, {}).get(base)

    def bases(self, venue: str | None = None) -> frozenset[str]:
        if venue is not None:
            return frozenset(self._by_venue.get(venue, {}))
        return frozenset(self._all_bases)

    def okx_contracts(self) -> dict[str, Contract]:
        return self._okx_contracts

    def known(self, text: str) -> bool:
        """Is this coin listed on any loaded venue? (False in degraded mode: check ``available``.)"""
        try:
            base = parse_instrument(text).base
        except SymbolError:
            return False
        return any(base in m for m in self._by_venue.values())

    def venues_for(self, text: str) -> list[str]:
        try:
            base = parse_instrument(text).base
        except SymbolError:
            return []
        return [v for v in VENUES if base in self._by_venue.get(v, {})]

    def suggest(self, text: str, n: int = 3) -> list[str]:
        """Close matches for a mistyped coin ("BTCC" -> ["BTC"...]); [] when nothing is loaded."""
        word = text.strip().upper()
        try:
            word = parse_instrument(text).base
        except SymbolError:
            pass
        return difflib.get_close_matches(word, self._all_bases, n=n, cutoff=0.6)

    def status(self) -> dict[str, Any]:
        return {"available": self.available, "loaded_at": dict(self.loaded_at), "errors": dict(self.errors),
                "coins": {v: len(self._by_venue.get(v, {})) for v in self.venues},
                "binance_funding": {"available": self.binance_funding_available,
                                    "loaded_at": self.binance_funding_loaded_at,
                                    "adjusted": len(self._binance_funding), "error": self.binance_funding_error}}
