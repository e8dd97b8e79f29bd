"""Recordings built from the simulator, in the venues' own wire formats (``teleglas record`` layout).

``write_sim_tape(path, minutes, seed)`` writes ``<receive_ns> <frame>`` lines: the simulator's
binance events as Binance combined-stream frames (aggTrade, forceOrder, markPriceUpdate carrying
funding) and its bybit events as Bybit v5 frames (publicTrade, allLiquidation, tickers), each
coin in the unit the venue quotes it in (1000PEPE). Numbers are written with ``repr`` so they
parse back to the same floats, quoted-unit conversions aside.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import orjson

from engine.events import Funding, Liquidation, MarkOI, PositionSide, Side, Trade
from engine.simulator import MarketSimulator


def _s(x: float) -> str:
    return repr(float(x))


def sim_frames(sim: MarketSimulator) -> list[tuple[int, bytes]]:
    quoted = {s.symbol: s.quoted_per for s in sim.symbols}
    funding: dict[tuple[str, str], float] = {}
    dumps = orjson.dumps
    out: list[tuple[int, bytes]] = []
    agg = 0
    for ev in sim.events():
        mult = quoted.get(ev.symbol, 1)
        native = (f"{mult}{ev.symbol}" if mult != 1 else ev.symbol) + "USDT"
        cls = type(ev)
        if ev.venue == "binance":
            if cls is Trade:
                agg += 1
                data = {"e": "aggTrade", "E": ev.ts, "s": native, "a": agg, "p": _s(ev.price * mult),
                        "q": _s(ev.qty / mult), "f": agg, "l": agg, "T": ev.ts, "m": ev.side is Side.SELL}
                frame = {"stream": native.lower() + "@aggTrade", "data": data}
            elif cls is Liquidation:
                q = _s(ev.qty / mult)
                order = {"s": native, "S": "SELL" if ev.position is PositionSide.LONG else "BUY", "o": "LIMIT",
                         "f": "IOC", "q": q, "p": _s(ev.price * mult), "ap": _s(ev.price * mult), "X": "FILLED",
                         "l": q, "z": q, "T": ev.ts}
                frame = {"stream": "!forceOrder@arr", "data": {"e": "forceOrder", "E": ev.ts, "o": order}}
            elif cls is Funding:
                funding[("binance", ev.symbol)] = ev.rate
                continue
            elif cls is MarkOI and ev.mark is not None:
                data = {"e": "markPriceUpdate", "E": ev.ts, "s": native, "p": _s(ev.mark * mult),
                        "P": _s(ev.mark * mult), "T": ev.ts + 3_600_000}
                if ev.index is not None:
                    data["i"] = _s(ev.index * mult)
                if ("binance", ev.symbol) in funding:
                    data["r"] = _s(funding.pop(("binance", ev.symbol)))
                frame = {"stream": "!markPrice@arr@1s", "data": [data]}
            else:
                continue
        elif ev.venue == "bybit":
            if cls is Trade:
                item = {"T": ev.ts, "s": native, "S": "Buy" if ev.side is Side.BUY else "Sell",
                        "v": _s(ev.qty / mult), "p": _s(ev.price * mult), "i": str(ev.ts), "BT": False}
                frame = {"topic": f"publicTrade.{native}", "type": "snapshot", "ts": ev.ts, "data": [item]}
            elif cls is Liquidation:
                item = {"T": ev.ts, "s": native, "S": "Buy" if ev.position is PositionSide.LONG else "Sell",
                        "v": _s(ev.qty / mult), "p": _s(ev.price * mult)}
                frame = {"topic": f"allLiquidation.{native}", "type": "snapshot", "ts": ev.ts, "data": [item]}
            elif cls is Funding:
                data = {"symbol": native, "fundingRate": _s(ev.rate), "nextFundingTime": str(ev.next_ts or 0)}
                frame = {"topic": f"tickers.{native}", "type": "delta", "ts": ev.ts, "data": data}
            elif cls is MarkOI and ev.mark is not None:
                data = {"symbol": native, "markPrice": _s(ev.mark * mult)}
                if ev.index is not None:
                    data["indexPrice"] = _s(ev.index * mult)
                if ev.open_interest_usd is not None:
                    data["openInterestValue"] = _s(ev.open_interest_usd)
                frame = {"topic": f"tickers.{native}", "type": "delta", "ts": ev.ts, "data": data}
            else:
                continue
        else:
            continue
        out.append((ev.recv_ns, dumps(frame)))
    return out


def write_sim_tape(path: Path, minutes: float = 20.0, seed: int = 7) -> Path:
    sim = MarketSimulator(seed=seed, duration_s=minutes * 60)
    lines = b"".join(b"%d %s\n" % (ns, raw) for ns, raw in sim_frames(sim))
    if str(path).endswith(".gz"):
        with gzip.open(path, "wb", compresslevel=1) as fh:
            fh.write(lines)
    else:
        Path(path).write_bytes(lines)
    return path
