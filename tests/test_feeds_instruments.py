"""InstrumentCatalog against a local aiohttp server serving the three venues' instrument lists."""
import asyncio

import pytest
from aiohttp import web

from engine.feeds.instruments import InstrumentCatalog, bybit_rest_from_ws
from engine.feeds.okx import OkxFeed
from engine.feeds.registry import SubscriptionRegistry
from tests.feeds_support import FAST, VenueServer, running, wait_until
from tests.test_feeds_okx import INSTRUMENTS, TRADES

BINANCE = {"symbols": [
    {"symbol": "BTCUSDT", "contractType": "PERPETUAL", "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT"},
    {"symbol": "BTCUSDC", "contractType": "PERPETUAL", "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDC"},
    {"symbol": "BTCUSDT_250627", "contractType": "CURRENT_QUARTER", "status": "TRADING", "baseAsset": "BTC",
     "quoteAsset": "USDT"},
    {"symbol": "1000PEPEUSDT", "contractType": "PERPETUAL", "status": "TRADING", "baseAsset": "1000PEPE",
     "quoteAsset": "USDT"},
    {"symbol": "ETHUSDT", "contractType": "PERPETUAL", "status": "TRADING", "baseAsset": "ETH", "quoteAsset": "USDT"},
    {"symbol": "LUNAUSDT", "contractType": "PERPETUAL", "status": "SETTLING", "baseAsset": "LUNA",
     "quoteAsset": "USDT"},
]}
BYBIT_PAGES = [
    {"retCode": 0, "retMsg": "OK", "result": {"category": "linear", "nextPageCursor": "page2", "list": [
        {"symbol": "BTCUSDT", "contractType": "LinearPerpetual", "status": "Trading", "baseCoin": "BTC",
         "quoteCoin": "USDT", "fundingInterval": 480}]}},
    {"retCode": 0, "retMsg": "OK", "result": {"category": "linear", "nextPageCursor": "", "list": [
        {"symbol": "ROSEUSDT", "contractType": "LinearPerpetual", "status": "Trading", "baseCoin": "ROSE",
         "quoteCoin": "USDT", "fundingInterval": 240},
        {"symbol": "BTC-27JUN25", "contractType": "LinearFutures", "status": "Trading", "baseCoin": "BTC",
         "quoteCoin": "USDC"}]}},
]
# GET /fapi/v1/fundingInfo: only symbols whose cap, floor or interval was adjusted (the rest fund every 8 h)
FUNDING_INFO = [
    {"symbol": "ETHUSDT", "adjustedFundingRateCap": "0.02000000", "adjustedFundingRateFloor": "-0.02000000",
     "fundingIntervalHours": 4, "disclaimer": False},
    {"symbol": "1000PEPEUSDT", "adjustedFundingRateCap": "0.03000000", "adjustedFundingRateFloor": "-0.03000000",
     "fundingIntervalHours": 1, "disclaimer": False},
    {"symbol": "BTCUSDC", "adjustedFundingRateCap": "0.03000000", "adjustedFundingRateFloor": "-0.03000000",
     "fundingIntervalHours": 8, "disclaimer": False},
]


@pytest.fixture
async def rest():
    """Local REST server; ``state["fail"]`` makes every endpoint answer HTTP 500."""
    state = {"fail": False, "hits": 0, "funding_fail": False, "funding_hits": 0, "funding_body": FUNDING_INFO}

    async def binance(request):
        state["hits"] += 1
        return web.json_response(BINANCE, status=500 if state["fail"] else 200)

    async def funding_info(request):
        state["funding_hits"] += 1
        if state["fail"] or state["funding_fail"]:
            return web.json_response({"code": -1000, "msg": "unavailable"}, status=503)
        return web.json_response(state["funding_body"])

    async def bybit(request):
        state["hits"] += 1
        assert request.query["category"] == "linear"
        page = BYBIT_PAGES[1] if request.query.get("cursor") == "page2" else BYBIT_PAGES[0]
        return web.json_response(page, status=500 if state["fail"] else 200)

    async def okx(request):
        state["hits"] += 1
        assert request.query["instType"] == "SWAP"
        return web.json_response({"code": "0", "msg": "", "data": INSTRUMENTS}, status=500 if state["fail"] else 200)

    app = web.Application()
    app.router.add_get("/fapi/v1/exchangeInfo", binance)
    app.router.add_get("/fapi/v1/fundingInfo", funding_info)
    app.router.add_get("/v5/market/instruments-info", bybit)
    app.router.add_get("/api/v5/public/instruments", okx)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state["url"] = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        await runner.cleanup()


def catalog_for(url, **kw):
    return InstrumentCatalog(binance_rest=url, bybit_rest=url, okx_rest=url, timeout_s=2.0, **kw)


async def test_loads_every_venue_and_maps_coins_to_native_symbols(rest):
    catalog = catalog_for(rest["url"])
    assert not catalog.available
    assert await catalog.load() == {"binance": True, "bybit": True, "okx": True}
    assert catalog.available and catalog.degraded_reason() == ""
    assert catalog.instrument("binance", "BTC").symbol == "BTCUSDT"  # USDT preferred over USDC
    pepe = catalog.instrument("binance", "PEPE")
    assert (pepe.symbol, pepe.multiplier) == ("1000PEPEUSDT", 1000)
    assert catalog.instrument("binance", "LUNA") is None  # not trading
    assert catalog.instrument("bybit", "ROSE").funding_interval_h == 4.0  # second page followed
    assert catalog.instrument("okx", "BTC").symbol == "BTC-USDT-SWAP"
    assert catalog.okx_contracts()["BTC-USD-SWAP"].inverse
    assert catalog.known("btc") and catalog.known("1000PEPEUSDT") and not catalog.known("NOPE")
    assert catalog.venues_for("rose") == ["bybit"]
    assert "BTC" in catalog.suggest("BTCC") and catalog.suggest("ETG")[0] == "ETH"


async def test_unavailable_lists_mean_degraded_mode_not_failure(rest):
    rest["fail"] = True
    catalog = catalog_for(rest["url"], retry_after_s=60)
    status = await catalog.load()
    assert status == {"binance": False, "bybit": False, "okx": False}
    assert not catalog.available and not catalog.known("BTC") and catalog.suggest("BTC") == []
    assert "HTTP 500" in catalog.degraded_reason()
    hits = rest["hits"]
    await catalog.refresh_if_due()  # within retry_after_s: no new request
    assert rest["hits"] == hits
    unreachable = catalog_for("http://127.0.0.1:9")
    assert await unreachable.load() == {"binance": False, "bybit": False, "okx": False}


async def test_cached_until_max_age(rest):
    catalog = catalog_for(rest["url"], max_age_s=3600)
    await catalog.load()
    hits = rest["hits"]
    await catalog.refresh_if_due()
    assert rest["hits"] == hits  # cached
    catalog.max_age_s = 0
    await catalog.refresh_if_due()
    assert rest["hits"] > hits


async def test_okx_feed_uses_catalog_contract_sizes_and_skips_unlisted_coins(rest):
    catalog = catalog_for(rest["url"])
    registry = SubscriptionRegistry(["BTC", "NOPE"])
    async with asyncio.timeout(5), VenueServer("okx") as srv:
        feed = OkxFeed(srv.url("/ws/v5/public"), registry, catalog, **FAST)
        async with running(feed) as sink:
            await wait_until(lambda: srv.conns and srv.last.subscribed)
            assert srv.last.subscribed == {"liquidation-orders:SWAP", "instruments:SWAP", "trades:BTC-USDT-SWAP"}
            await srv.push(TRADES)  # no instruments frame: sizes come from the REST list
            await wait_until(lambda: sink.events)
    assert sink.events[0].notional == pytest.approx(5066.388)


async def test_binance_funding_intervals_come_from_funding_info(rest):
    catalog = catalog_for(rest["url"])
    await catalog.load()
    assert rest["funding_hits"] == 1
    assert catalog.binance_funding_available and catalog.binance_funding_error == ""
    assert catalog.instrument("binance", "ETH").funding_interval_h == 4.0
    assert catalog.instrument("binance", "PEPE").funding_interval_h == 1.0  # keyed by the native 1000PEPEUSDT
    assert catalog.instrument("binance", "BTC").funding_interval_h == 8.0  # not listed: the 8 h default
    assert catalog.funding_interval_h("binance", "ETHUSDT") == 4.0
    assert catalog.funding_interval_h("binance", "BTCUSDT") == 8.0
    assert catalog.status()["binance_funding"]["adjusted"] == 3


async def test_funding_info_unavailable_keeps_8h_and_says_so(rest, caplog):
    rest["funding_fail"] = True
    catalog = catalog_for(rest["url"], retry_after_s=60)
    with caplog.at_level("WARNING"):
        assert await catalog.load() == {"binance": True, "bybit": True, "okx": True}  # exchangeInfo still counts
    assert catalog.venue_available("binance") and not catalog.binance_funding_available
    assert "HTTP 503" in catalog.binance_funding_error
    assert catalog.instrument("binance", "ETH").funding_interval_h == 8.0
    assert catalog.status()["binance_funding"]["error"] == catalog.binance_funding_error
    assert "fundingInfo" in catalog.degraded_reason() and "8 h" in catalog.degraded_reason()
    assert any("fundingInfo" in r.getMessage() and "8 h" in r.getMessage() for r in caplog.records)
    hits = rest["funding_hits"]
    await catalog.refresh_if_due()  # within retry_after_s: no new request
    assert rest["funding_hits"] == hits
    rest["funding_fail"] = False
    catalog.retry_after_s = 0  # next housekeeping pass: fundingInfo alone is fetched again
    exchange_hits = rest["hits"]
    await catalog.refresh_if_due()
    assert rest["funding_hits"] == hits + 1 and rest["hits"] == exchange_hits
    assert catalog.binance_funding_available and catalog.degraded_reason() == ""
    assert catalog.instrument("binance", "ETH").funding_interval_h == 4.0


@pytest.mark.parametrize("body", [{"code": 0}, [{"symbol": "ETHUSDT", "fundingIntervalHours": "soon"}, 5],
                                  [{"symbol": "ETHUSDT", "fundingIntervalHours": 0}]])
async def test_malformed_funding_info_items_are_skipped_or_refused(rest, body):
    rest["funding_body"] = body
    catalog = catalog_for(rest["url"])
    await catalog.load()
    assert catalog.venue_available("binance")
    assert catalog.instrument("binance", "ETH").funding_interval_h == 8.0
    if isinstance(body, dict):
        assert not catalog.binance_funding_available and "array" in catalog.binance_funding_error


def test_bybit_rest_base_is_derived_from_the_ws_url():
    assert bybit_rest_from_ws("wss://stream.bybit.com/v5/public/linear") == "https://api.bybit.com"
    assert bybit_rest_from_ws("wss://stream-testnet.bybit.com/v5/public/linear") == "https://api-testnet.bybit.com"
    assert bybit_rest_from_ws("ws://127.0.0.1:8765/v5/public/linear") == "http://127.0.0.1:8765"
