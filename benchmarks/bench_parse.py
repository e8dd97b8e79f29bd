"""Parse-only throughput per venue: decoded-by-orjson frames -> normalised events, no engine.

    .venv/bin/python benchmarks/bench_parse.py [--seconds 1.0]

Prints events/s and frames/s for each venue's documented sample frames (as the live client sees
them: raw text in, ``orjson.loads`` + venue parser) and for the real Binance recordings in
../shared/data/real when present (the whole replay path: line split, decode, route, parse).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.feeds import binance, coinglass  # noqa: E402
from engine.feeds.bybit import BybitParser  # noqa: E402
from engine.feeds.okx import OkxParser, contracts_from_instruments  # noqa: E402
from engine.feeds.replay import ReplayFeed  # noqa: E402

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
OKX_INSTRUMENTS = [{"instId": "BTC-USDT-SWAP", "ctVal": "0.01", "ctMult": "1", "ctValCcy": "BTC", "ctType": "linear",
                    "state": "live"},
                   {"instId": "IOST-USDT-SWAP", "ctVal": "1000", "ctMult": "1", "ctValCcy": "IOST",
                    "ctType": "linear", "state": "live"}]
SAMPLES = {
    "binance": (binance.parse_message, [
        '{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":123456789,"s":"BTCUSDT","a":5933014,"p":"0.001",'
        '"q":"100","f":100,"l":105,"T":123456785,"m":true}}',
        '{"stream":"!forceOrder@arr","data":{"e":"forceOrder","E":1568014460893,"o":{"s":"BTCUSDT","S":"SELL",'
        '"o":"LIMIT","f":"IOC","q":"0.014","p":"9910","ap":"9910","X":"FILLED","l":"0.014","z":"0.014",'
        '"T":1568014460893}}}',
    ]),
    "bybit": (BybitParser(), [
        '{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,"data":[{"T":1672304486865,'
        '"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50","L":"PlusTick","i":"20f43950","BT":false}]}',
        '{"topic":"allLiquidation.ROSEUSDT","type":"snapshot","ts":1739502303204,"data":[{"T":1739502302929,'
        '"s":"ROSEUSDT","S":"Sell","v":"20000","p":"0.04499"}]}',
    ]),
    "okx": (OkxParser(contracts_from_instruments(OKX_INSTRUMENTS)), [
        '{"arg":{"channel":"trades","instId":"BTC-USDT-SWAP"},"data":[{"instId":"BTC-USDT-SWAP",'
        '"tradeId":"130639474","px":"42219.9","sz":"12","side":"buy","ts":"1630048897897","count":"3"}]}',
        '{"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[{"details":[{"bkLoss":"0",'
        '"bkPx":"0.007831","ccy":"","posSide":"short","side":"buy","sz":"13","ts":"1692266434010"}],'
        '"instId":"IOST-USDT-SWAP","instType":"SWAP"}]}',
    ]),
    "coinglass": (coinglass.parse_message, [
        '{"channel":"liquidationOrders","data":[{"baseAsset":"BTC","exName":"Binance","price":56738.0,"side":2,'
        '"symbol":"BTCUSDT","time":1725416318379,"volUsd":3858.184}]}',
        '{"channel":"futures_trades@Binance_BTCUSDT@10000","data":[{"baseAsset":"BTC","exName":"Binance",'
        '"price":56738.0,"side":2,"symbol":"BTCUSDT","time":1725416318381,"volUsd":20000.0}]}',
    ]),
}


def bench_samples(seconds: float, show: bool = True) -> dict[str, float]:
    """{venue: events/s} over its documented sample frames (decode + parse), ``seconds`` each."""
    loads = orjson.loads
    out: dict[str, float] = {}
    for venue, (parse, frames) in SAMPLES.items():
        raws = [f.encode() for f in frames]
        n_frames = n_events = 0
        t0 = time.perf_counter()
        deadline = t0 + seconds
        while time.perf_counter() < deadline:
            for _ in range(200):
                for raw in raws:
                    n_events += len(parse(loads(raw), 1))
                n_frames += len(raws)
        elapsed = time.perf_counter() - t0
        out[venue] = n_events / elapsed
        if show:
            print(f"{venue:<10} sample frames   {n_events / elapsed:>12,.0f} events/s  "
                  f"{n_frames / elapsed:>12,.0f} frames/s")
    return out


def bench_real() -> None:
    for name in ("btcusdt_20240808.gz", "btcusdt_20230405.dat.gz"):
        path = REAL / name
        if not path.is_file():
            print(f"{name}: absent ({REAL} not beside this checkout) — skipped")
            continue
        feed = ReplayFeed(path)
        t0 = time.perf_counter()
        events = sum(len(batch) for batch in feed.events())
        elapsed = time.perf_counter() - t0
        st = feed.stats
        print(f"binance    {name:<24} {events / elapsed:>10,.0f} events/s  {st.frames / elapsed:>10,.0f} frames/s "
              f"({events:,} events from {st.frames:,} frames incl. book/depth, gunzip included, "
              f"{st.parse_errors} errors, {elapsed:.2f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=1.0, help="time per sample benchmark")
    args = ap.parse_args()
    bench_samples(args.seconds)
    bench_real()


if __name__ == "__main__":
    main()
