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
    {"symbol": "LUNAUSDT", "contractType": "PERPETUAL", "status": "SETTLING", "baseAsset": "LUNA", "quoteAsset": "USDT"},
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


@pytest.fixture
async def rest():
    """Local REST server; ``state["fail"]`` makes every endpoint answer HTTP 500."""
    state = {"fail": False, "hits": 0}

    async def binance(request):
        state["hits"] += 1
        return web.json_response(BINANCE, status=500 if state["fail"] else 200)

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


def test_bybit_rest_base_is_derived_from_the_ws_url():
    assert bybit_rest_from_ws("wss://stream.bybit.com/v5/public/linear") == "https://api.bybit.com"
    assert bybit_rest_from_ws("wss://stream-testnet.bybit.com/v5/public/linear") == "https://api-testnet.bybit.com"
    assert bybit_rest_from_ws("ws://127.0.0.1:8765/v5/public/linear") == "http://127.0.0.1:8765"
