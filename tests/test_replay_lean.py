"""The lean replay/parse path (issue 12) changes speed, never results: the same tape gives the same
events, the same feed counters and the same signals as a plain line-by-line replay through the
checked (slow) parsers."""
from __future__ import annotations

import asyncio
import gzip

import orjson
import pytest

from engine.core import Engine, run_feeds
from engine.feeds import binance, replay
from engine.feeds.base import ParseError, PartialParse, UnsupportedSymbol
from engine.feeds.replay import ReplayFeed, detect_venue, new_parsers, parse_line
from engine.signals import ListSink, SignalEngine
from tests.tape import write_sim_tape


def reference_events(path, monkeypatch) -> tuple[list, int, int]:
    """What the replay did before issue 12: one readline per frame, ``parse_line``, decode,
    ``detect_venue`` on every frame, and Binance trades through the fully checked parser."""
    monkeypatch.setattr(binance, "_trade", binance._trade_checked)
    parsers = new_parsers()
    events, errors, frames = [], 0, 0
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            frames += 1
            try:
                recv_ns, frame = parse_line(line)
                msg = orjson.loads(frame)
                events.extend(parsers[detect_venue(msg)](msg, recv_ns))
            except (PartialParse, UnsupportedSymbol) as exc:
                errors += isinstance(exc, PartialParse)
                events.extend(exc.events)
            except (ParseError, orjson.JSONDecodeError):
                errors += 1
    monkeypatch.undo()
    return events, errors, frames


def signals_of(batches) -> list[dict]:
    sink = ListSink()
    engine = Engine(SignalEngine(sink))
    for batch in batches:
        engine.process_many(batch)
    out = []
    for s in sink.signals:
        d = s.to_dict()
        d.pop("signal_ns")  # the wall clock when the signal was made
        out.append(d)
    return out


@pytest.fixture(scope="module")
def sim_tape(tmp_path_factory):
    return write_sim_tape(tmp_path_factory.mktemp("tape") / "sim.gz", minutes=20, seed=7)


def test_a_simulated_tape_replays_to_the_same_events_and_signals_as_the_plain_path(sim_tape, monkeypatch):
    expected, errors, frames = reference_events(sim_tape, monkeypatch)
    feed = ReplayFeed(sim_tape)
    got = [ev for batch in feed.events() for ev in batch]
    assert got == expected
    assert feed.stats.frames == frames and feed.stats.parse_errors == errors == 0
    assert feed.stats.events == len(expected)
    assert feed.stats.last_event_ts == expected[-1].ts and feed.stats.last_msg_ns == expected[-1].recv_ns
    assert feed.stats.lag_ms != 0.0
    want = signals_of([expected])
    assert want, "the tape must hold signals for this comparison to mean anything"
    assert {s["kind"] for s in want} >= {"STOP_HUNT", "LIQUIDATION_CASCADE"}
    # and through run_feeds, as `teleglas replay` runs it
    sink = ListSink()
    engine = Engine(SignalEngine(sink))
    asyncio.run(run_feeds(engine, [ReplayFeed(sim_tape)]))
    assert [{k: v for k, v in s.to_dict().items() if k != "signal_ns"} for s in sink.signals] == want


def test_odd_lines_are_judged_as_before_across_block_boundaries(tmp_path, monkeypatch):
    trade = (b'{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161256322,"T":1723161256322,'
             b'"s":"BTCUSDT","t":1,"p":"61800.30","q":"0.006","X":"MARKET","m":false}}')
    lines = [
        b"1723161255088176367 " + trade,
        b"",  # blank: no frame
        b"   ",
        b" 1723161255088176368 " + trade,  # leading blank
        b"1723161255088176369 " + trade + b"\r",  # CRLF recording
        b"1723161255088177 " + trade,  # receive time in microseconds
        b"garbage",
        b"1723161255088176370",  # no frame
        b"1723161255088176371 {not json",
        b"1723161255088176372 " + trade.replace(b'"0.006"', b'"NaN"'),
        b"1723161255088176373 " + trade.replace(b'"BTCUSDT"', b'"BTCUSDT_250627"'),  # delivery: skipped
        b"1723161255088176374 " + trade.replace(b'"BTCUSDT"', b'"1000PEPEUSDT"'),
        b'1723161255088176375 {"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[{"T":1723161256400,'
        b'"s":"BTCUSDT","S":"Buy","v":"0.5","p":"61801","i":"x","BT":false}]}',
        b"1723161255088176376 " + trade.replace(b'"m":false', b'"m":1'),
        b"1723161255088176377 " + trade,  # last line, no newline
    ]
    path = tmp_path / "odd.txt"
    path.write_bytes(b"\n".join(lines))
    expected, errors, frames = reference_events(path, monkeypatch)
    for chunk in (7, 64, 1 << 20):  # lines cut across read blocks
        monkeypatch.setattr(replay, "READ_CHUNK", chunk)
        feed = ReplayFeed(path, yield_every=3)
        got = [ev for batch in feed.events() for ev in batch]
        assert got == expected
        assert (feed.stats.frames, feed.stats.parse_errors) == (frames, errors) == (13, 5)
        assert feed.stats.events == len(expected) == 7
    assert expected[3].recv_ns == 1723161255088177000 and expected[4].symbol == "PEPE"


BASE = {"e": "trade", "E": 1723161256322, "T": 1723161256322, "s": "BTCUSDT", "t": 1, "p": "61800.30",
        "q": "0.006", "m": False}


@pytest.mark.parametrize("change", [
    {}, {"m": True}, {"s": "1000PEPEUSDT", "p": "0.0081"}, {"p": 61800}, {"q": 2}, {"p": True},
    {"p": "inf"}, {"p": "nan"}, {"p": "-1"}, {"q": "0"}, {"p": "abc"}, {"p": None}, {"p": [1]},
    {"m": None}, {"m": 0}, {"T": "1"}, {"T": None}, {"s": None}, {"s": 5}, {"s": "BTCUSDT_250627"},
    {"s": "USDT"}, {"p": " 61800.5 "}, {"p": "1_000"}, {"q": "-inf", "p": "nan"},
])
@pytest.mark.parametrize("drop", [None, "p", "q", "T", "m", "s", "E"])
def test_the_fast_trade_parser_agrees_with_the_checked_one(change, drop):
    data = dict(BASE, **change)
    if drop:
        data.pop(drop, None)

    def outcome(fn):
        try:
            return fn(dict(data), 5)
        except Exception as exc:  # noqa: BLE001 — the exact type and message are the contract
            return type(exc), str(exc)

    binance._NATIVE.clear()
    first = outcome(binance._trade)  # nothing cached yet: the checked path learns the name
    assert first == outcome(binance._trade_checked)
    assert outcome(binance._trade) == first  # cached: the fast path


def test_the_native_symbol_cache_stays_bounded():
    from engine.symbols import instrument_cache

    cache, learn = instrument_cache(max_size=10)
    for i in range(25):
        learn(f"COIN{i}USDT")
    assert len(cache) <= 10
    assert (cache.get("COIN3USDT") or learn("COIN3USDT")).base == "COIN3"
    assert learn("not a coin!") == cache["not a coin!"] and isinstance(cache["not a coin!"], str)
    binance._NATIVE.clear()  # the feeds' own caches are built the same way
    assert binance._instrument({"s": "1000PEPEUSDT"}).base == "PEPE"
    assert "1000PEPEUSDT" in binance._NATIVE


def test_the_json_lines_export_of_a_tape_matches_the_plain_path(sim_tape, monkeypatch, capsys):
    """`teleglas replay FILE --json` (the lean path) against the same export built from the
    plain path's events: identical signals, line for line (engine wall-clock time aside)."""
    from bot.backtest import run_offline, signal_json
    from bot.cli import main

    expected, _, _ = reference_events(sim_tape, monkeypatch)
    want: list[dict] = []
    run_offline(iter([expected]), track=False, on_signal=lambda s: want.append(signal_json(s)))
    capsys.readouterr()
    assert main(["replay", str(sim_tape), "--json"]) == 0
    got = [orjson.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    for row in want + got:
        row.pop("signal_ns")
    assert want and got == want
