"""record -> replay round trip: raw frames from local venue servers, played back through the parsers."""
import asyncio
import gzip

import pytest

from bot.cli import main
from config.settings import Settings
from engine.events import Liquidation, Trade
from engine.feeds.instruments import InstrumentCatalog
from engine.feeds.record import FrameWriter, record
from engine.feeds.replay import ReplayFeed
from tests.feeds_support import FAST, ThreadedServer, VenueServer
from tests.test_feeds_binance import AGG_TRADE, FORCE_ORDER, wrap
from tests.test_feeds_bybit import ALL_LIQUIDATION, PUBLIC_TRADE
from tests.test_feeds_coinglass import KEY, LIQUIDATION as CG_LIQUIDATION
from tests.test_feeds_okx import INSTRUMENTS_FRAME, TRADES as OKX_TRADES

NOWHERE = "http://127.0.0.1:9"  # connection refused at once: the catalog runs degraded, no network


def offline_catalog():
    return InstrumentCatalog(binance_rest=NOWHERE, bybit_rest=NOWHERE, okx_rest=NOWHERE, timeout_s=1.0)


@pytest.mark.parametrize("name", ["rec.txt", "rec.gz"])
async def test_record_every_venue_then_replay_through_the_same_parsers(tmp_path, name):
    out = tmp_path / name
    greet_binance = (wrap("btcusdt@aggTrade", AGG_TRADE), wrap("!forceOrder@arr", FORCE_ORDER))
    async with asyncio.timeout(10), \
            VenueServer("binance", greeting=greet_binance) as bn, \
            VenueServer("bybit", greeting=(PUBLIC_TRADE, ALL_LIQUIDATION)) as bb, \
            VenueServer("okx", greeting=(INSTRUMENTS_FRAME, OKX_TRADES)) as ok, \
            VenueServer("coinglass", key=KEY, greeting=(CG_LIQUIDATION,)) as cg:
        settings = Settings(_env_file=None, MARKET_SOURCES="binance,bybit,okx,coinglass,simulator",
                            BINANCE_WS_URL=bn.url("/market/stream"), BYBIT_WS_URL=bb.url("/v5/public/linear"),
                            OKX_WS_URL=ok.url("/ws/v5/public"), COINGLASS_WS_URL=cg.url("/ws-api"),
                            COINGLASS_API_KEY=KEY)
        result = await record(settings, out, duration=0.8, symbols=["BTC", "ROSE"], catalog=offline_catalog(),
                              **{**FAST, "stale_after": 5.0})
    assert set(result["feeds"]) == {"binance", "bybit", "okx", "coinglass"}  # simulator is not a live source
    with gzip.open(out, "rt") if name.endswith(".gz") else out.open() as fh:
        lines = fh.read().splitlines()
    assert len(lines) == result["frames"] >= 7
    assert all(line.split(" ", 1)[0].isdigit() and len(line.split(" ", 1)[0]) == 19 for line in lines)
    assert "pong" not in {line.split(" ", 1)[1] for line in lines}

    feed = ReplayFeed(out)
    events = [ev for batch in feed.events() for ev in batch]
    assert feed.stats.parse_errors == 0
    by_venue = {(ev.venue, type(ev).__name__) for ev in events}
    assert by_venue == {("binance", "Trade"), ("binance", "Liquidation"), ("bybit", "Trade"),
                        ("bybit", "Liquidation"), ("okx", "Trade"), ("binance", "Liquidation")}
    okx_trade = next(ev for ev in events if ev.venue == "okx")
    assert isinstance(okx_trade, Trade) and okx_trade.notional == pytest.approx(5066.388)  # ctVal from the file
    assert any(isinstance(ev, Liquidation) and ev.symbol == "ROSE" for ev in events)


def test_frame_writer_keeps_one_frame_per_line(tmp_path):
    w = FrameWriter(tmp_path / "x.txt")
    w.write(1723161255088176367, '{"a":\n1}')
    w.write(1723161255088176368, b'{"b":2}')
    w.close()
    assert (tmp_path / "x.txt").read_text() == '1723161255088176367 {"a": 1}\n1723161255088176368 {"b":2}\n'


def test_cli_record_then_replay(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no stray .env
    out = tmp_path / "cli.gz"
    trade = AGG_TRADE.replace('"p":"0.001"', '"p":"9905"').replace('"T":123456785', '"T":1568014460000')
    greet = (wrap("btcusdt@aggTrade", trade), wrap("!forceOrder@arr", FORCE_ORDER))  # coherent prices
    with ThreadedServer("binance", greeting=greet) as srv:
        for name, value in {"MARKET_SOURCES": "binance", "BINANCE_WS_URL": srv.url("/market/stream"),
                            "BINANCE_REST_URL": NOWHERE, "OKX_REST_URL": NOWHERE,
                            "BYBIT_WS_URL": "ws://127.0.0.1:9/v5/public/linear", "LOG_LEVEL": "ERROR"}.items():
            monkeypatch.setenv(name, value)
        assert main(["record", "--out", str(out), "--duration", "0.7", "--symbols", "btc"]) == 0
    printed = capsys.readouterr().out
    assert "recording BTC from binance" in printed and "binance" in printed
    assert main(["replay", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "trades 1," in printed and "liquidations 1," in printed and "parse errors: 0" in printed


def test_cli_record_usage_errors(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MARKET_SOURCES", "simulator")
    assert main(["record", "--out", str(tmp_path / "nope" / "x.gz"), "--duration", "1"]) == 2
    assert main(["record", "--out", str(tmp_path / "x.gz"), "--duration", "-1"]) == 2
    assert main(["record", "--out", str(tmp_path / "x.gz"), "--symbols", "not a coin!"]) == 2
    assert main(["record", "--out", str(tmp_path / "x.gz"), "--duration", "1"]) == 2  # no live source
    captured = capsys.readouterr()
    assert "at least one live source" in captured.err and "--duration" in captured.err
    assert not (tmp_path / "x.gz").exists()  # refused before anything was contacted or written
    assert "recording" not in captured.out
    monkeypatch.setenv("MARKET_SOURCES", f"simulator,replay:{tmp_path / 'y.gz'}")
    assert main(["record", "--out", str(tmp_path / "x.gz")]) == 2
    assert not (tmp_path / "x.gz").exists()


async def test_record_with_no_live_source_writes_nothing_and_loads_no_instrument_list(tmp_path, monkeypatch):
    from config.settings import load_settings
    from engine.feeds import record as rec
    from engine.feeds.instruments import InstrumentCatalog
    from engine.feeds.live import FeedConfigError

    async def no_load(self):  # would contact the venues
        raise AssertionError("the instrument lists must not be fetched")

    monkeypatch.setattr(InstrumentCatalog, "load", no_load)
    monkeypatch.setenv("MARKET_SOURCES", "simulator")
    with pytest.raises(FeedConfigError, match="at least one live source"):
        await rec.record(load_settings(need_database=False), tmp_path / "z.gz", duration=1)
    assert not (tmp_path / "z.gz").exists()
