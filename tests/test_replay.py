import gzip

import orjson
import pytest

from engine.core import Engine, run_feeds
from engine.events import Funding, Liquidation, MarkOI, PositionSide, Side, Trade
from engine.feeds import binance
from engine.feeds.base import ParseError
from engine.feeds.replay import ReplayFeed, to_ns
from engine.signals import ListSink, SignalEngine
from tests.paths import real_file


@pytest.mark.parametrize(("name", "trades", "marks"), [
    ("btcusdt_20240808.gz", 21_313, 0),  # counts from shared/data/real/SOURCES.md
    ("btcusdt_20230405.dat.gz", 10_738, 415),
])
def test_real_recordings_parse_with_zero_errors(name, trades, marks):
    feed = ReplayFeed(real_file(name))
    events = [ev for batch in feed.events() for ev in batch]
    assert feed.stats.parse_errors == 0
    assert sum(type(e) is Trade for e in events) == trades
    assert sum(type(e) is MarkOI for e in events) == marks
    assert sum(type(e) is Funding for e in events) == marks
    assert all(e.symbol == "BTC" and e.venue == "binance" for e in events)


def test_receive_time_unit_is_detected_ns_and_us():
    ns_feed = ReplayFeed(real_file("btcusdt_20240808.gz"))
    us_feed = ReplayFeed(real_file("btcusdt_20230405.dat.gz"))
    for feed in (ns_feed, us_feed):
        first = next(iter(feed.events()))[0]
        # receive time within a few seconds of the exchange time, whatever unit the file used
        assert abs(first.recv_ns / 1e6 - first.ts) < 5_000


def test_sample_trade_line_from_sources_md():
    line = ('{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161256322,"T":1723161256322,'
            '"s":"BTCUSDT","t":5266583935,"p":"61800.30","q":"0.006","X":"MARKET","m":false}}')
    (ev,) = binance.parse_message(orjson.loads(line), 1723161255088176367)
    assert ev == Trade("binance", "BTC", 61800.30, 0.006, pytest.approx(61800.30 * 0.006), Side.BUY,
                       1723161256322, 1723161255088176367)


def test_force_order_sell_means_a_long_was_liquidated():
    msg = {"e": "forceOrder", "E": 1568014460893, "o": {"s": "BTCUSDT", "S": "SELL", "o": "LIMIT", "f": "IOC",
           "q": "0.014", "p": "9910", "ap": "9910", "X": "FILLED", "l": "0.014", "z": "0.014", "T": 1568014460893}}
    (ev,) = binance.parse_message({"stream": "!forceOrder@arr", "data": msg}, 1)
    assert isinstance(ev, Liquidation)
    assert ev.position is PositionSide.LONG
    assert ev.notional == pytest.approx(9910 * 0.014)


def test_thousand_prefixed_symbol_is_priced_per_coin():
    msg = {"e": "aggTrade", "E": 1, "s": "1000PEPEUSDT", "a": 1, "p": "0.0100", "q": "1000", "f": 1, "l": 1,
           "T": 2, "m": True}
    (ev,) = binance.parse_message(msg, 1)
    assert ev.symbol == "PEPE" and ev.side is Side.SELL
    assert ev.price == pytest.approx(0.00001) and ev.qty == pytest.approx(1_000_000)
    assert ev.notional == pytest.approx(10.0)


@pytest.mark.parametrize("msg", [
    [1, 2],
    {"stream": "x", "data": "nope"},
    {"e": "aggTrade", "s": "BTCUSDT", "p": "abc", "q": "1", "T": 1, "m": True},
    {"e": "aggTrade", "s": "BTCUSDT", "p": "NaN", "q": "1", "T": 1, "m": True},
    {"e": "aggTrade", "s": "BTCUSDT", "p": "-5", "q": "1", "T": 1, "m": True},
    {"e": "aggTrade", "s": "BTCUSDT", "p": "5", "q": "1", "T": "1", "m": True},
    {"e": "aggTrade", "s": "BTCUSDT", "p": "5", "q": "1", "T": 1, "m": "yes"},
    {"e": "aggTrade", "p": "5", "q": "1", "T": 1, "m": True},
    {"e": "forceOrder", "E": 1, "o": {"s": "BTCUSDT", "S": "HOLD", "p": "1", "q": "1", "T": 1}},
    {"e": "somethingNew"},
])
def test_malformed_binance_messages_raise_parse_error(msg):
    with pytest.raises(ParseError):
        binance.parse_message(msg, 1)


def test_to_ns_detects_units():
    assert to_ns(1723161255088176367) == 1723161255088176367
    assert to_ns(1680652800005000) == 1680652800005000000
    assert to_ns(1680652800005) == 1680652800005000000


async def test_replay_counts_and_skips_bad_lines(tmp_path):
    good = ('{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1,"s":"BTCUSDT","a":1,"p":"100",'
            '"q":"2","f":1,"l":1,"T":1700000000000,"m":false}}')
    lines = [
        f"1700000000000000000 {good}",
        "not a line",
        "1700000000000000001 {not json",
        "1700000000000000002 {\"topic\":\"publicTrade.BTCUSDT\",\"data\":[]}",  # venue without a parser yet
        f"1700000000000000003 {good}",
        "",
    ]
    path = tmp_path / "rec.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines))
    feed = ReplayFeed(path)
    sink = ListSink()
    engine = Engine(SignalEngine(sink))
    await run_feeds(engine, [feed])
    assert engine.stats.trades == 2
    assert feed.stats.frames == 5
    assert feed.stats.parse_errors >= 2
    assert feed.stats.events == 2


def test_mark_and_funding_come_from_the_usdt_contract_only():
    usdc = {"e": "markPriceUpdate", "E": 1, "s": "BTCUSDC", "p": "60000", "i": "60000", "r": "0.0003", "T": 2}
    assert binance.parse_message(usdc, 1) == []  # skipped, not an error
    usdt = dict(usdc, s="BTCUSDT", r="0.0001")
    events = binance.parse_message({"stream": "!markPrice@arr@1s", "data": [usdc, usdt]}, 1)
    assert [type(e).__name__ for e in events] == ["MarkOI", "Funding"]
    assert events[1].rate == pytest.approx(0.0001)


def test_a_file_that_is_no_recording_is_refused_not_replayed_as_a_quiet_market(tmp_path, capsys):
    """A CSV (like ../shared/data/real/market_data.csv) is not the replay format: every line is a
    parse error; that must not end as "0 signals" with exit 0."""
    from bot.cli import main

    path = tmp_path / "market.csv"
    path.write_text("symbol,timestamp,liq_long_count\nBTCUSDT,2024-12-10 11:02:46,0\n")
    for argv in (["replay", str(path)], ["replay", str(path), "--json"], ["demo", "--replay", str(path)],
                 ["backtest", str(path), "--no-progress"]):
        assert main(argv) == 2, argv
        assert "is a recorded frame" in capsys.readouterr().err
