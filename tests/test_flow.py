"""Order-flow windows: table-driven edge cases, and equality with an independent recomputation
straight from the real Binance recordings (decoded here with the stdlib, not the engine)."""
from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest

from engine.core import Engine
from engine.events import Funding, Liquidation, MarkOI, PositionSide, Side, Trade
from engine.feeds.binance import parse_message
from engine.feeds.replay import parse_line
from engine.flow import FLOW_WINDOWS, WINDOW_SECONDS, FlowSnapshot
from engine.signals import ListSink, SignalEngine

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
T0 = 1_767_225_600_000


def trade(ts, price=100.0, usd=1_000.0, side=Side.BUY, venue="binance", symbol="SOL"):
    return Trade(venue, symbol, price, usd / price, usd, side, ts, ts * 1_000_000)


def engine() -> Engine:
    return Engine(SignalEngine(ListSink(), wall_ns=lambda: 0))


def test_flow_windows_constant():
    assert FLOW_WINDOWS == ("1m", "5m", "15m", "1h")


def test_no_data_is_none_and_bad_window_is_refused():
    e = engine()
    assert e.flow("BTC") is None
    e.process(trade(T0))
    with pytest.raises(ValueError, match="window must be one of"):
        e.flow("SOL", "2m")


def test_single_trade_snapshot():
    e = engine()
    e.process(trade(T0 + 10, price=150.0, usd=3_000.0, side=Side.SELL))
    s = e.flow("SOL", "1m")
    assert isinstance(s, FlowSnapshot)
    assert (s.buy_usd, s.sell_usd, s.trades) == (0.0, 3_000.0, 1)
    assert s.buy_share == 0.0 and s.net_delta == -3_000.0 and s.cvd == -3_000.0
    assert s.vwap == pytest.approx(150.0) and s.last_price == 150.0
    assert s.venues == ("binance",) and s.ts == T0 + 10


@pytest.mark.parametrize(
    "name, trades, window, expect",
    [
        # (name, [(offset_ms, usd, side)], window, {field: value})
        ("empty window after a quiet hour", [(0, 5_000, Side.BUY), (3_700_000, 1, Side.SELL)], "1h",
         {"buy_usd": 0.0, "sell_usd": 1.0, "trades": 1}),
        ("one giant trade", [(0, 1_000, Side.BUY), (500, 80_000_000, Side.BUY)], "5m",
         {"buy_usd": 80_001_000.0, "large_buys": 1, "buy_share": 1.0}),
        ("trade leaves the 1m window after 60 s", [(0, 1_000, Side.BUY), (60_000, 2_000, Side.SELL)], "1m",
         {"buy_usd": 0.0, "sell_usd": 2_000.0, "trades": 1}),
        ("but stays in 5m", [(0, 1_000, Side.BUY), (60_000, 2_000, Side.SELL)], "5m",
         {"buy_usd": 1_000.0, "sell_usd": 2_000.0, "trades": 2}),
        ("out of order inside the window counts", [(5_000, 1_000, Side.BUY), (1_000, 2_000, Side.SELL)], "1m",
         {"buy_usd": 1_000.0, "sell_usd": 2_000.0, "trades": 2}),
        ("late beyond 1m counts only in longer windows", [(120_000, 1_000, Side.BUY), (1_000, 2_000, Side.SELL)], "1m",
         {"sell_usd": 0.0, "trades": 1}),
        ("late beyond 1m still in 5m", [(120_000, 1_000, Side.BUY), (1_000, 2_000, Side.SELL)], "5m",
         {"sell_usd": 2_000.0, "trades": 2}),
        ("duplicate trades are two fills", [(0, 1_000, Side.BUY), (0, 1_000, Side.BUY)], "1m",
         {"buy_usd": 2_000.0, "trades": 2}),
        ("empty side share", [(0, 1_000, Side.SELL)], "15m", {"buy_share": 0.0}),
    ],
)
def test_flow_table(name, trades, window, expect):
    e = engine()
    for offset, usd, side in trades:
        e.process(trade(T0 + offset, usd=usd, side=side))
    s = e.flow("SOL", window)
    for field, value in expect.items():
        assert getattr(s, field) == pytest.approx(value), (name, field)


def test_late_trade_leaves_the_window_when_its_second_does():
    e = engine()
    e.process(trade(T0 + 30_000, usd=1_000))
    e.process(trade(T0 + 1_000, usd=2_000, side=Side.SELL))  # late, second 1
    e.process(trade(T0 + 61_500, usd=10))  # second 61: second 1 has left the 1m window
    s = e.flow("SOL", "1m")
    assert s.sell_usd == 0.0 and s.buy_usd == pytest.approx(1_010.0)
    assert e.flow("SOL", "5m").sell_usd == pytest.approx(2_000.0)


def test_more_than_an_hour_late_is_dropped():
    e = engine()
    e.process(trade(T0 + 4_000_000))
    e.process(trade(T0, usd=7_777))
    assert e.states["SOL"].flow.late_dropped == 1
    assert e.flow("SOL", "1h").trades == 1
    assert e.flow("SOL", "1h").cvd == pytest.approx(1_000.0)


@pytest.mark.parametrize("price", [0.0, -5.0, math.nan, math.inf])
def test_impossible_prices_are_rejected_and_counted(price):
    e = engine()
    e.process(trade(T0, price=100.0))
    e.process(Trade("binance", "SOL", price, 1.0, 100.0, Side.BUY, T0 + 1, 0))
    assert e.stats.rejected == 1
    assert e.flow("SOL", "1m").trades == 1


def test_absurd_jump_is_rejected_but_a_new_level_is_eventually_accepted():
    e = engine()
    e.process(trade(T0, price=100.0))
    e.process(trade(T0 + 1, price=100_000.0))  # a per-1000 unit mistake or a garbage print
    assert e.stats.rejected == 1 and e.flow("SOL").last_price == 100.0
    for i in range(60):  # the market really is there now (or the old reference was the odd one)
        e.process(trade(T0 + 2 + i, price=40.0))
    assert e.flow("SOL").last_price == 40.0


def test_liquidations_and_funding_in_the_snapshot():
    e = engine()
    e.process(trade(T0, price=100.0))
    e.process(Liquidation("bybit", "SOL", 99.0, 10.0, 990.0, PositionSide.LONG, T0 + 10, 0))
    e.process(Liquidation("binance", "SOL", 101.0, 10.0, 1010.0, PositionSide.SHORT, T0 + 20, 0))
    e.process(Funding("binance", "SOL", 0.0001, 8.0, 0, T0, 0))
    e.process(Funding("okx", "SOL", 0.0001, 4.0, 0, T0, 0))
    s = e.flow("SOL", "5m")
    assert s.liq_long_usd == pytest.approx(990.0) and s.liq_short_usd == pytest.approx(1010.0)
    assert s.funding_8h == {"binance": pytest.approx(0.0001), "okx": pytest.approx(0.0002)}


def test_mark_prices_move_time_forward():
    e = engine()
    e.process(trade(T0, usd=5_000))
    e.process(MarkOI("binance", "SOL", 100.0, 100.0, None, T0 + 61_000, 0))
    assert e.flow("SOL", "1m").buy_usd == 0.0
    assert e.flow("SOL", "5m").buy_usd == pytest.approx(5_000.0)


def test_set_floor_changes_what_counts_as_large():
    e = engine()
    e.process(trade(T0, usd=12_000))
    assert e.flow("SOL").large_buys == 0  # mid cap: 15k
    e.set_floor("SOL", whale_usd=10_000)
    e.process(trade(T0 + 1, usd=12_000))
    s = e.flow("SOL")
    assert s.large_buys == 1 and s.large_threshold_usd == 10_000
    with pytest.raises(ValueError):
        e.set_floor("SOL", reclaim=0.1)
    with pytest.raises(ValueError):
        e.set_floor("SOL", bogus=1)


# ------------------------------------------------------------------ real recordings

class Recompute:
    """Independent order flow straight from decoded frames: keeps every trade, sums on demand.

    Large orders are counted per ORDER: consecutive prints with the same trade time and side are
    one taker order (one venue here), large when their summed notional reaches the threshold."""

    def __init__(self, large_usd: float) -> None:
        self.large = large_usd
        self.trades: list[tuple[int, float, float, bool]] = []  # (ts, price, qty, taker_buy)
        self.orders: list[list] = []  # [ts, usd, taker_buy]
        self.newest_sec = -1
        self.funding: float | None = None

    def feed(self, raw: bytes) -> None:
        msg = json.loads(raw)
        data = msg["data"] if "stream" in msg else msg
        kind = data.get("e")
        if kind in ("trade", "aggTrade"):
            ts = data["T"]
            self.trades.append((ts, float(data["p"]), float(data["q"]), not data["m"]))
            usd = float(data["p"]) * float(data["q"])
            last = self.orders[-1] if self.orders else None
            if last is not None and last[0] == ts and last[2] is (not data["m"]):
                last[1] += usd
            else:
                self.orders.append([ts, usd, not data["m"]])
            self.newest_sec = max(self.newest_sec, ts // 1000)
        elif kind == "markPriceUpdate":
            self.newest_sec = max(self.newest_sec, data["E"] // 1000)
            if data.get("r") not in (None, ""):
                self.funding = float(data["r"])

    def window(self, seconds: int) -> dict:
        lo = self.newest_sec - seconds + 1
        buy = sell = qty = 0.0
        lb = ls = n = 0
        for ts, price, q, is_buy in self.trades:
            if ts // 1000 < lo:
                continue
            usd = price * q
            n += 1
            qty += q
            if is_buy:
                buy += usd
            else:
                sell += usd
        for ts, usd, is_buy in self.orders:
            if ts // 1000 >= lo and usd >= self.large:
                lb += is_buy
                ls += not is_buy
        newest = max(t[0] for t in self.trades)
        last = [t for t in self.trades if t[0] == newest][-1]  # the latest print of the newest ms
        cvd = sum(p * q if b else -p * q for _ts, p, q, b in self.trades)
        return {"buy_usd": buy, "sell_usd": sell, "large_buys": lb, "large_sells": ls, "trades": n,
                "vwap": (buy + sell) / qty if qty else 0.0, "cvd": cvd, "last_price": last[1],
                "net_delta": buy - sell, "buy_share": buy / (buy + sell) if buy + sell else 0.5}


@pytest.mark.parametrize("name", ["btcusdt_20240808.gz", "btcusdt_20230405.dat.gz"])
def test_real_recording_flow_equals_independent_recomputation(name):
    path = REAL / name
    if not path.is_file():
        pytest.skip(f"real recording {path} not present (../shared/data/real next to the repo)")
    e = engine()
    ref = Recompute(large_usd=e.thresholds.for_symbol("BTC").whale_usd)
    checks = 0
    with gzip.open(path, "rb") as fh:
        for i, line in enumerate(fh):
            line = line.strip()
            if not line:
                continue
            recv_ns, raw = parse_line(line)
            for ev in parse_message(json.loads(raw), recv_ns):  # the engine's own path
                e.process(ev)
            ref.feed(line.partition(b" ")[2])  # the independent path: stdlib json, own sums
            if ref.trades and (i % 7_919 == 0):
                checks += _compare(e, ref)
    checks += _compare(e, ref)
    assert checks >= 20
    assert e.stats.rejected == 0
    if ref.funding is not None:
        assert e.flow("BTC").funding_8h == {"binance": pytest.approx(ref.funding)}


def _compare(e: Engine, ref: Recompute) -> int:
    for window in FLOW_WINDOWS:
        snap = e.flow("BTC", window)
        want = ref.window(WINDOW_SECONDS[window])
        for field, value in want.items():
            got = getattr(snap, field)
            assert got == pytest.approx(value, rel=1e-9, abs=1e-6), (window, field)
    return len(FLOW_WINDOWS)


class PerTradeRange:
    """The traded range as it was kept before issue 12: a ring of ``window_s + 1`` per-second
    (high, low) slots updated on every trade -- the reference the per-second version must equal."""

    def __init__(self, window_s: int) -> None:
        self.window_s = window_s
        self.sec = [-1] * (window_s + 1)
        self.hi = [0.0] * (window_s + 1)
        self.lo = [0.0] * (window_s + 1)

    def add(self, ts: int, price: float) -> None:
        sec = ts // 1000
        i = sec % len(self.sec)
        if self.sec[i] == sec:
            self.hi[i] = max(self.hi[i], price)
            self.lo[i] = min(self.lo[i], price)
        elif sec > self.sec[i]:
            self.sec[i], self.hi[i], self.lo[i] = sec, price, price

    def range(self, now_ts: int, window_s: int | None) -> tuple[float, float] | None:
        now = now_ts // 1000
        oldest = now - (self.window_s if window_s is None else min(window_s, self.window_s))
        inside = [i for i, sec in enumerate(self.sec) if oldest <= sec <= now]
        if not inside:
            return None
        return min(self.lo[i] for i in inside), max(self.hi[i] for i in inside)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_traded_range_put_once_a_second_equals_the_per_trade_ring(seed):
    """The flow state hands each finished second's high/low to the traded range and lends it the
    current second: the same (low, high) as a ring updated on every trade, whatever the order --
    late trades (a second, half a minute, over an hour late), quiet gaps, liquidation- and
    mark-only seconds, queries behind the newest trade."""
    import random

    from engine.flow import FlowState

    rnd = random.Random(seed)
    flow, ref = FlowState(50_000.0, traded_window_s=30), PerTradeRange(30)
    ts = T0
    for _ in range(6_000):
        r = rnd.random()
        if r < 0.02:
            ts += rnd.choice((5_000, 31_000, 90_000))  # a quiet gap
        ts += rnd.randrange(0, 700)
        when = ts
        if rnd.random() < 0.1:
            when = ts - rnd.choice((400, 1_500, 12_000, 29_000, 31_000, 45_000, 3_700_000))
        price = 100.0 + rnd.gauss(0, 1)
        if r > 0.97:
            flow.add_liquidation(when, 5_000.0, rnd.random() < 0.5)
        elif r > 0.94:
            flow.advance(when)
        else:
            flow.add_trade(rnd.choice(("binance", "bybit")), when, price, 1.0, price, rnd.random() < 0.5)
            ref.add(when, price)
        for now in (ts, ts - rnd.randrange(0, 40_000)):
            for window_s in (None, 30, 7):
                assert flow.traded_range(now, window_s) == ref.range(now, window_s), (now, window_s)


def test_per_second_detector_work_runs_only_for_symbols_with_events_in_that_second(monkeypatch):
    """The window detectors run once per second of event time per symbol, at that symbol's first
    event of a new second: a coin that is quiet costs nothing per second, however many are
    watched, and a coin back from a gap is judged once, not once per missed second."""
    e = engine()
    calls: dict[str, int] = {}
    real = e._on_second

    def counting(st, ts, recv_ns):
        calls[st.symbol] = calls.get(st.symbol, 0) + 1
        real(st, ts, recv_ns)

    monkeypatch.setattr(e, "_on_second", counting)
    for k in range(100):
        e.process(trade(T0 + k * 1000 + 1, symbol="BTC"))
        e.process(trade(T0 + k * 1000 + 2, symbol="BTC"))  # the same second: no second run
    for symbol in ("ETH", "SOL", "PEPE"):
        e.process(trade(T0, symbol=symbol))
    e.process(trade(T0 + 99_000, symbol="ETH"))  # back after 99 quiet seconds
    assert calls == {"BTC": 99, "ETH": 1}
