"""Deterministic synthetic futures market with scripted episodes and their ground truth.

Same seed -> same events, byte for byte. The market has several symbols on two venues:
- a trade tape: Poisson arrivals, heavy-tailed (Pareto) USD sizes, taker side with a slowly
  wandering bias, and a price that moves with signed flow plus diffusion; each venue prints at
  the common mid plus its own small basis and noise;
- background liquidations (rare, small, either side), funding every minute per venue, mark/OI;
- scripted episodes, each exposed as an ``Episode`` (kind, symbol, direction, start, end) so tests
  and backtests can score detectors against the truth:
  * STOP_HUNT LONG  — longs swept: price drops through a zone with a cascade of LONG
    liquidations, then large taker BUYS absorb and price reclaims part of the zone;
  * STOP_HUNT SHORT — the mirror: shorts squeezed up, then large taker SELLS absorb;
  * ACCUMULATION / DISTRIBUTION — minutes of one-sided taker flow with whale orders;
  * FUNDING_EXTREME — funding pinned far above normal on both venues (SHORT bias: longs crowded);
  * DIVERGENCE — one venue's price drifts tens of bps away from the other's, then returns;
  * LIQUIDATION_CASCADE — a cascade WITHOUT absorption, split across the venues so that no venue
    alone crosses the threshold (1.3x in total): the sweep goes on and price keeps sliding, no
    stop hunt may be called. Its direction is the pressure (SHORT for a flush of longs);
  * decoys that must raise no alarm of the kinds they imitate (``DECOYS``): a cascade just under
    the threshold (0.8x) and an evenly split burst of long and short liquidations (2x).
Liquidation prices are what the venues send: Bybit's ``allLiquidation`` price is the BANKRUPTCY
price (0.3-1 % beyond the market here), never a traded price; detectors must not build levels on it.
Episode sizes scale with the symbol class's default thresholds (engine/thresholds.py), so a
scripted episode is clearly over the line for its class and the background stays below it.
Time is simulated (epoch ms from ``start_ts``); nothing here reads the wall clock.
"""
from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass

from .events import Event, Funding, Liquidation, MarkOI, PositionSide, Side, Trade
from .feeds.base import EventSink, FeedStats, PlayedFeed
from .symbols import note_quoted
from .thresholds import defaults_for

TICK_MS = 100
# one event of a tick, keyed for the tick's time order: (ts, sequence number, event)
Printed = tuple[int, int, Event]
DEFAULT_START_TS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


@dataclass(frozen=True, slots=True)
class SimSymbol:
    symbol: str
    price: float
    avg_trade_usd: float
    trades_per_s: float  # per venue
    depth_usd_1pct: float  # USD of taker flow that moves price ~1 %
    quoted_per: int = 1  # units per quoted unit on the venues (Binance and Bybit list 1000PEPE)
    # two-sided background regimes (0 = off; see _FlowBackground): activity bursts and ordinary
    # traders' one-sided runs (a TWAP buying for a few minutes), either side, per hour
    bursts_per_h: float = 0.0
    runs_per_h: float = 0.0


DEFAULT_SYMBOLS = (
    SimSymbol("BTC", 60_000.0, 6_000.0, 6.0, 400_000_000.0),
    SimSymbol("ETH", 3_000.0, 4_000.0, 5.0, 200_000_000.0),
    SimSymbol("SOL", 150.0, 2_000.0, 4.0, 60_000_000.0),
    SimSymbol("PEPE", 0.00001, 800.0, 3.0, 15_000_000.0, quoted_per=1000),
)
DEFAULT_VENUES = ("binance", "bybit")


@dataclass(frozen=True, slots=True)
class Episode:
    """Ground truth for one scripted episode. Times are event times, epoch ms."""

    kind: str  # an engine.signals.Kind value
    symbol: str
    direction: str  # LONG / SHORT / NEUTRAL (the bias a correct signal would carry)
    start_ts: int
    end_ts: int
    venue: str | None = None  # the venue that diverged, for DIVERGENCE


@dataclass(frozen=True, slots=True)
class EpisodePlan:
    """What to script: kind + direction for a symbol, starting ``at_s`` seconds into the run."""

    kind: str
    symbol: str
    direction: str
    at_s: float


# duration of each scripted episode kind, seconds
EPISODE_SECONDS = {
    "STOP_HUNT": 40.0,  # 20 s sweep + 20 s absorption/reclaim
    "ACCUMULATION": 240.0,
    "DISTRIBUTION": 240.0,
    "FUNDING_EXTREME": 600.0,
    "DIVERGENCE": 60.0,
    "LIQUIDATION_CASCADE": 50.0,  # 20 s split sweep, then 30 s of sliding without absorption
    "DECOY_NEAR_CASCADE": 30.0,
    "DECOY_SPLIT_BURST": 30.0,
}
# decoy kind -> the signal kinds it imitates (any of them on its symbol during it is a false alarm)
DECOYS: dict[str, tuple[str, ...]] = {
    "DECOY_NEAR_CASCADE": ("LIQUIDATION_CASCADE", "STOP_HUNT"),
    "DECOY_SPLIT_BURST": ("LIQUIDATION_CASCADE", "STOP_HUNT"),
}


def default_plan(duration_s: float, symbols: tuple[SimSymbol, ...] = DEFAULT_SYMBOLS) -> list[EpisodePlan]:
    """One of each episode kind, spread over the run with quiet gaps between them."""
    names = [s.symbol for s in symbols]
    kinds = [
        ("STOP_HUNT", "LONG"),
        ("ACCUMULATION", "LONG"),
        ("DIVERGENCE", "NEUTRAL"),
        ("STOP_HUNT", "SHORT"),
        ("DISTRIBUTION", "SHORT"),
        ("FUNDING_EXTREME", "SHORT"),
        ("LIQUIDATION_CASCADE", "SHORT"),
        ("DECOY_NEAR_CASCADE", "NEUTRAL"),
        ("DECOY_SPLIT_BURST", "NEUTRAL"),
    ]
    gap = duration_s / (len(kinds) + 1)
    plan = []
    for i, (kind, direction) in enumerate(kinds):
        at = gap * (i + 0.5)
        if at + EPISODE_SECONDS[kind] > duration_s - 10:
            continue
        plan.append(EpisodePlan(kind, names[i % len(names)], direction, at))
    return plan


class _SymbolSim:
    __slots__ = ("spec", "mid", "bias", "basis", "funding", "rate_mult", "buy_prob", "drift",
                 "whale_rate", "whale_side", "liq_usd_per_tick", "liq_side", "basis_target",
                 "funding_override", "whale_usd", "cascade_usd", "oi_usd", "divergence_bps",
                 "liq_venue_cycle", "liq_split", "liq_count")
    # set by reset_modifiers() every tick, then by the episode scripts
    rate_mult: float
    buy_prob: float | None
    drift: float
    whale_rate: float
    whale_side: Side
    liq_usd_per_tick: float
    liq_side: PositionSide
    basis_target: dict[str, float]
    funding_override: float | None
    liq_venue_cycle: bool
    liq_split: bool

    def __init__(self, spec: SimSymbol, venues: tuple[str, ...]) -> None:
        self.spec = spec
        self.mid = spec.price
        self.bias = 0.0  # slowly wandering buy-probability bias
        self.basis = {v: 0.0 for v in venues}
        self.funding = {v: 0.0001 for v in venues}
        th = defaults_for(spec.symbol)
        self.whale_usd = th.whale_usd
        self.cascade_usd = th.cascade_usd
        self.divergence_bps = th.divergence_bps
        self.oi_usd = spec.depth_usd_1pct * 20
        self.liq_count = 0  # scripted liquidations so far (alternation of venues and sides)
        self.reset_modifiers(venues)

    def reset_modifiers(self, venues: tuple[str, ...]) -> None:
        self.rate_mult = 1.0
        self.buy_prob = None  # None = background behaviour
        self.drift = 0.0  # log-price change per tick forced by a script
        self.whale_rate = 0.0  # extra whale orders per tick
        self.whale_side = Side.BUY
        self.liq_usd_per_tick = 0.0
        self.liq_side = PositionSide.LONG
        self.basis_target = {v: 0.0 for v in venues}
        self.funding_override = None
        self.liq_venue_cycle = False  # scripted liquidations alternate venues (a split cascade)
        self.liq_split = False  # scripted liquidations alternate long and short (a decoy burst)


class MarketSimulator:
    """Iterate ``events()`` for the whole time-ordered tape; ``episodes`` is the ground truth."""

    def __init__(
        self,
        *,
        seed: int = 1,
        duration_s: float = 3600.0,
        symbols: tuple[SimSymbol, ...] = DEFAULT_SYMBOLS,
        venues: tuple[str, ...] = DEFAULT_VENUES,
        plan: list[EpisodePlan] | None = None,
        start_ts: int = DEFAULT_START_TS,
        whale_levels: int = 1,
    ) -> None:
        if len(venues) < 1:
            raise ValueError("at least one venue")
        self.seed = seed
        self.duration_s = duration_s
        for spec in symbols:  # as the live feeds learn it from 1000PEPEUSDT
            if spec.quoted_per != 1:
                for venue in venues:
                    note_quoted(venue, spec.symbol, spec.quoted_per)
        self.symbols = symbols
        self.venues = venues
        self.start_ts = start_ts
        # scripted whale orders print as this many same-millisecond prints (a multi-level sweep)
        self.whale_levels = max(1, int(whale_levels))
        self._flow_bg: dict[str, _FlowBackground] = {}
        self.plan = default_plan(duration_s, symbols) if plan is None else list(plan)
        known = {s.symbol for s in symbols}
        for p in self.plan:
            if p.symbol not in known:
                raise ValueError(f"episode for unknown symbol {p.symbol}")
            if p.kind not in EPISODE_SECONDS and p.kind not in FLOW_DECOY_SECONDS:
                raise ValueError(f"unknown episode kind {p.kind}")
        self.episodes: list[Episode] = [
            Episode(
                p.kind, p.symbol, p.direction,
                start_ts + int(p.at_s * 1000),
                start_ts + int((p.at_s + (EPISODE_SECONDS.get(p.kind) or FLOW_DECOY_SECONDS[p.kind])) * 1000),
                venues[-1] if p.kind == "DIVERGENCE" else None,
            )
            for p in sorted(self.plan, key=lambda p: p.at_s)
        ]

    # ---- scripting -------------------------------------------------------------------------
    def _apply_episode(self, sim: _SymbolSim, ep: Episode, t_ms: int) -> None:
        """Set the symbol's modifiers for this tick of an active episode."""
        elapsed = (t_ms - ep.start_ts) / 1000.0
        length = (ep.end_ts - ep.start_ts) / 1000.0
        ticks_per_s = 1000 / TICK_MS
        up = ep.direction == "LONG"
        if ep.kind == "STOP_HUNT":
            # a LONG setup comes from a sweep of longs: price is pushed DOWN first
            sweep_sign = -1.0 if up else 1.0
            if elapsed < 20.0:  # the sweep: forced selling (or buying) through the zone
                sim.rate_mult = 3.0
                sim.buy_prob = 0.25 if up else 0.75
                sim.drift = sweep_sign * 0.008 / (20.0 * ticks_per_s)  # -0.8 % over 20 s
                sim.liq_usd_per_tick = 2.2 * sim.cascade_usd / (20.0 * ticks_per_s)
                sim.liq_side = PositionSide.LONG if up else PositionSide.SHORT
            else:  # absorption: big opposite takers, price reclaims half the zone
                sim.rate_mult = 2.5
                sim.buy_prob = 0.72 if up else 0.28
                sim.whale_rate = 14.0 / (20.0 * ticks_per_s)
                sim.whale_side = Side.BUY if up else Side.SELL
                sim.drift = -sweep_sign * 0.0045 / (20.0 * ticks_per_s)
        elif ep.kind == "LIQUIDATION_CASCADE":
            # pressure SHORT = longs flushed, price pushed down, and nobody absorbs it
            down = ep.direction == "SHORT"
            sweep_sign = -1.0 if down else 1.0
            sim.liq_side = PositionSide.LONG if down else PositionSide.SHORT
            sim.liq_venue_cycle = True
            if elapsed < 20.0:
                sim.rate_mult = 2.5
                sim.buy_prob = 0.28 if down else 0.72
                sim.drift = sweep_sign * 0.006 / (20.0 * ticks_per_s)
                sim.liq_usd_per_tick = 1.3 * sim.cascade_usd / (20.0 * ticks_per_s)
            else:  # still sliding, one-sided, no large opposite orders
                sim.rate_mult = 1.5
                sim.buy_prob = 0.40 if down else 0.60
                sim.drift = sweep_sign * 0.002 / (30.0 * ticks_per_s)
        elif ep.kind == "DECOY_NEAR_CASCADE":  # one-sided but 0.8x the threshold, over 20 s
            if elapsed < 20.0:
                sim.liq_usd_per_tick = 0.8 * sim.cascade_usd / (20.0 * ticks_per_s)
                sim.liq_side = PositionSide.LONG
                sim.drift = -0.002 / (20.0 * ticks_per_s)
        elif ep.kind == "DECOY_SPLIT_BURST":  # 2x the threshold, half longs and half shorts
            if elapsed < 20.0:
                sim.liq_usd_per_tick = 2.0 * sim.cascade_usd / (20.0 * ticks_per_s)
                sim.liq_split = True
                sim.rate_mult = 2.0
        elif ep.kind in ("ACCUMULATION", "DISTRIBUTION"):
            acc = ep.kind == "ACCUMULATION"
            sim.rate_mult = 1.6
            sim.buy_prob = 0.70 if acc else 0.30
            sim.whale_rate = 1.0 / (10.0 * ticks_per_s)  # a whale order every ~10 s
            sim.whale_side = Side.BUY if acc else Side.SELL
            sim.drift = (1 if acc else -1) * 0.005 / (length * ticks_per_s)
        elif ep.kind == "FUNDING_EXTREME":
            sim.funding_override = 0.0011 if ep.direction == "SHORT" else -0.0011
        elif ep.kind == "DIVERGENCE":
            # ramp one venue's basis to 2.5x the class's divergence threshold (37.5 bps for
            # majors, 100 bps for small caps, whose venues drift apart more) within ~5 s, hold,
            # and let it come back at the end
            gap = 2.5 * sim.divergence_bps / 1e4
            sim.basis_target[ep.venue or self.venues[-1]] = gap if elapsed < length - 5 else 0.0
        elif ep.kind in FLOW_DECOY_SECONDS:
            _apply_flow_decoy(sim, self._flow_bg[ep.symbol], ep, t_ms)

    # ---- generation ------------------------------------------------------------------------
    def events(self) -> Iterator[Event]:
        rng = random.Random(self.seed)
        venues = self.venues
        sims = {s.symbol: _SymbolSim(s, venues) for s in self.symbols}
        flow_bg = self._flow_bg = {s.symbol: _FlowBackground(s) for s in self.symbols}
        episodes = self.episodes
        end_ts = self.start_ts + int(self.duration_s * 1000)
        alpha = 1.8  # Pareto tail index of trade sizes
        pareto_scale = (alpha - 1) / alpha
        paretovariate = rng.paretovariate
        random_ = rng.random
        gauss = rng.gauss
        diffusion = 0.004 / math.sqrt(3600 * 1000 / TICK_MS)  # ~0.4 % per hour
        t = self.start_ts
        tick_buf: list[Printed] = []
        seq = 0
        while t < end_ts:
            tick_buf.clear()
            for sym, sim in sims.items():
                sim.reset_modifiers(venues)
                for ep in episodes:
                    if ep.symbol == sym and ep.start_ts <= t < ep.end_ts:
                        self._apply_episode(sim, ep, t)
                spec = sim.spec
                # background taker bias wanders slowly (AR(1)) around zero
                sim.bias = 0.995 * sim.bias + gauss(0.0, 0.01)
                sim.bias = max(-0.12, min(0.12, sim.bias))
                buy_prob = sim.buy_prob if sim.buy_prob is not None else 0.5 + sim.bias
                fb = flow_bg[sym]
                if fb.active:
                    buy_prob = fb.tick(sim, rng, t, buy_prob)
                sim.mid *= math.exp(sim.drift + gauss(0.0, diffusion))
                for v in venues:  # basis relaxes towards its target
                    sim.basis[v] += (sim.basis_target[v] - sim.basis[v]) * 0.08
                lam = spec.trades_per_s * sim.rate_mult * TICK_MS / 1000.0
                flow = 0.0
                for venue in venues:
                    n = _poisson(rng, lam)
                    extra = 1 if sim.whale_rate and random_() < sim.whale_rate / len(venues) else 0
                    for i in range(n + extra):
                        whale = i >= n
                        if whale:
                            side = sim.whale_side
                            usd = sim.whale_usd * (2.0 + 3.0 * random_())
                        else:
                            side = Side.BUY if random_() < buy_prob else Side.SELL
                            usd = spec.avg_trade_usd * pareto_scale * paretovariate(alpha)
                            usd = min(usd, spec.avg_trade_usd * 60)
                        sign = 1.0 if side is Side.BUY else -1.0
                        flow += sign * usd
                        half_spread = 0.00002 * random_()
                        price = sim.mid * (1.0 + sim.basis[venue] + sign * half_spread)
                        ts = t + int(random_() * TICK_MS)
                        seq += 1
                        tick_buf.append((ts, seq, Trade(
                            venue, sym, price, usd / price, usd, side, ts,
                            ts * 1_000_000 + int(20_000_000 + 40_000_000 * random_()),
                        )))
                        if whale and self.whale_levels > 1:  # the whale sweeps the book
                            seq = _split_into_levels(tick_buf, self.whale_levels, seq)
                if fb.pending:  # a scripted single order (decoys: one giant print, one sweep)
                    seq, injected = fb.emit(sim, t, tick_buf, seq, venues[0])
                    flow += injected
                # price impact of this tick's net taker flow
                sim.mid *= 1.0 + 0.01 * flow / spec.depth_usd_1pct
                # liquidations: scripted cascade and a rare background trickle
                if sim.liq_usd_per_tick and random_() < 0.6:
                    usd = sim.liq_usd_per_tick / 0.6 * (0.4 + 1.2 * random_())
                    seq += 1
                    sim.liq_count += 1
                    position = sim.liq_side
                    if sim.liq_split:
                        position = PositionSide.LONG if sim.liq_count % 2 else PositionSide.SHORT
                    liq_venue = venues[sim.liq_count % len(venues)] if sim.liq_venue_cycle else None
                    tick_buf.append(self._liq(rng, sim, t, position, usd, seq, liq_venue))
                if random_() < 0.03 * TICK_MS / 1000.0:
                    usd = min(sim.cascade_usd / 200 * pareto_scale * paretovariate(alpha), sim.cascade_usd / 10)
                    position = PositionSide.LONG if random_() < 0.5 else PositionSide.SHORT
                    seq += 1
                    tick_buf.append(self._liq(rng, sim, t, position, usd, seq))
                # funding each minute, mark/OI every 5 s, per venue
                offset = t - self.start_ts
                if offset % 60_000 == 0:
                    for venue in venues:
                        rate = sim.funding_override
                        if rate is None:
                            rate = 0.0001 + gauss(0.0, 0.00002)
                        sim.funding[venue] = rate
                        seq += 1
                        next_ts = (t // 28_800_000 + 1) * 28_800_000
                        tick_buf.append((t, seq, Funding(venue, sym, rate, 8.0, next_ts, t,
                                                         t * 1_000_000 + 30_000_000)))
                if offset % 5_000 == 0:
                    sim.oi_usd *= 1.0 + gauss(0.0, 0.0005)
                    for venue in venues:
                        seq += 1
                        mark = sim.mid * (1.0 + sim.basis[venue])
                        tick_buf.append((t, seq, MarkOI(venue, sym, mark, sim.mid, sim.oi_usd, t,
                                                        t * 1_000_000 + 30_000_000)))
            tick_buf.sort(key=_order)
            for item in tick_buf:
                yield item[2]
            t += TICK_MS

    def _liq(self, rng: random.Random, sim: _SymbolSim, t: int, side: PositionSide, usd: float,
             seq: int, venue: str | None = None) -> Printed:
        pick = self.venues[int(rng.random() * len(self.venues))]
        venue = venue or pick
        # a long is force-SOLD below the mid, a short force-bought above; the price a venue
        # SENDS is the order's price (Binance: its limit, just beyond the market) or, on Bybit,
        # the position's bankruptcy price (0.3-1 % beyond anything that traded)
        sign = -1.0 if side is PositionSide.LONG else 1.0
        beyond = 0.003 + 0.007 * rng.random() if venue == "bybit" else 0.0002 * rng.random()
        price = sim.mid * (1.0 + sim.basis[venue] + sign * beyond)
        ts = t + int(rng.random() * TICK_MS)
        return (ts, seq, Liquidation(venue, sim.spec.symbol, price, usd / price, usd, side, ts,
                                     ts * 1_000_000 + 40_000_000))

    def batches(self, max_events: int = 512) -> Iterator[list[Event]]:
        batch: list[Event] = []
        for ev in self.events():
            batch.append(ev)
            if len(batch) >= max_events:
                yield batch
                batch = []
        if batch:
            yield batch


def _order(item: Printed) -> tuple[int, int]:
    return item[0], item[1]


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth's method: fine for the small per-tick rates used here
    limit = math.exp(-lam)
    k = 0
    p = rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


# ---- two-sided background by symbol class, multi-level sweeps, flow decoys (issue 9, items 4-6) ---
# Realistic two-sided flow is not a coin flip per trade: activity comes in bursts, and ordinary
# traders run one-sided for a few minutes (a TWAP buying, a fund trimming) on both sides with a
# few large child orders -- on mid and small caps these runs are large against the coin's own
# volume. That is the flow the accumulation/distribution detectors must stay quiet on; the
# scripted ACCUMULATION/DISTRIBUTION episodes (70 % share, a whale order every ~10 s for 4 min)
# are what they must still catch.
CLASS_SYMBOLS: dict[str, tuple[SimSymbol, ...]] = {
    "major": (
        SimSymbol("BTC", 60_000.0, 6_000.0, 6.0, 400_000_000.0, bursts_per_h=3.0, runs_per_h=2.0),
        SimSymbol("ETH", 3_000.0, 4_000.0, 5.0, 200_000_000.0, bursts_per_h=3.0, runs_per_h=2.0),
    ),
    "mid": (
        SimSymbol("SOL", 150.0, 2_000.0, 4.0, 60_000_000.0, bursts_per_h=4.0, runs_per_h=6.0),
        SimSymbol("AVAX", 30.0, 1_200.0, 2.5, 20_000_000.0, bursts_per_h=4.0, runs_per_h=6.0),
        SimSymbol("LINK", 15.0, 900.0, 2.0, 12_000_000.0, bursts_per_h=4.0, runs_per_h=6.0),
    ),
    "small": (
        SimSymbol("PEPE", 0.00001, 800.0, 3.0, 15_000_000.0, bursts_per_h=5.0, runs_per_h=10.0),
        SimSymbol("WIF", 2.0, 900.0, 2.5, 8_000_000.0, bursts_per_h=5.0, runs_per_h=10.0),
        SimSymbol("ORDI", 40.0, 700.0, 2.0, 6_000_000.0, bursts_per_h=5.0, runs_per_h=10.0),
    ),
}

# decoys: look like something, are nothing. Truth is an Episode with one of these kinds; a decoy
# is never "caught" -- a flow signal (ACCUMULATION, DISTRIBUTION, WHALE_WINDOW) during one is an
# alarm. Direction: the giant order's side (LONG buy / SHORT sell), NEUTRAL for balanced volume.
FLOW_DECOY_SECONDS = {
    "DECOY_HEAVY_VOLUME": 180.0,  # 5x the usual trade rate, exactly two-sided
    "DECOY_GIANT_PRINT": 10.0,  # one order of 25x the whale floor, one print
    "DECOY_SWEEP": 10.0,  # one order of 160x the whale floor (BTC: $4M) over 25 price levels
}
FLOW_DECOY_ALARMS = ("ACCUMULATION", "DISTRIBUTION", "WHALE_WINDOW")
DECOYS.update({kind: FLOW_DECOY_ALARMS for kind in FLOW_DECOY_SECONDS})
SWEEP_LEVELS = 25


def is_decoy(kind: str) -> bool:
    return kind in DECOYS


class _FlowBackground:
    """Per-symbol background regimes and scripted single orders (see CLASS_SYMBOLS)."""

    __slots__ = ("spec", "active", "burst_left", "burst_mult", "run_left", "run_side", "run_tilt",
                 "run_whale_rate", "pending", "done")

    def __init__(self, spec: SimSymbol) -> None:
        self.spec = spec
        self.active = spec.bursts_per_h > 0 or spec.runs_per_h > 0
        self.burst_left = 0  # ticks
        self.burst_mult = 1.0
        self.run_left = 0
        self.run_side = Side.BUY
        self.run_tilt = 0.0
        self.run_whale_rate = 0.0
        self.pending: list[tuple[float, Side, int]] = []  # (usd, side, levels) to print this tick
        self.done: set[int] = set()  # decoy episodes already printed (by start ts)

    def tick(self, sim: _SymbolSim, rng: random.Random, t: int, buy_prob: float) -> float:
        spec = self.spec
        ticks_per_s = 1000 / TICK_MS
        if self.burst_left > 0:
            self.burst_left -= 1
            sim.rate_mult *= self.burst_mult
        elif spec.bursts_per_h and rng.random() < spec.bursts_per_h / (3600 * ticks_per_s):
            self.burst_left = int((30 + 60 * rng.random()) * ticks_per_s)
            self.burst_mult = 2.0 + 2.0 * rng.random()
        if self.run_left > 0:
            self.run_left -= 1
            if sim.buy_prob is None:  # a scripted episode's flow wins
                sign = 1.0 if self.run_side is Side.BUY else -1.0
                buy_prob = max(0.05, min(0.95, buy_prob + sign * self.run_tilt))
            if rng.random() < self.run_whale_rate:  # a child order of 1-2x the whale floor
                size = sim.whale_usd * (1.0 + rng.random())
                self.pending.append((size, self.run_side, 1))
        elif spec.runs_per_h and rng.random() < spec.runs_per_h / (3600 * ticks_per_s):
            self.run_left = int((60 + 120 * rng.random()) * ticks_per_s)
            self.run_side = Side.BUY if rng.random() < 0.5 else Side.SELL
            self.run_tilt = 0.05 + 0.07 * rng.random()
            self.run_whale_rate = 1.0 / ((20.0 + 25.0 * rng.random()) * ticks_per_s)
        return buy_prob

    def emit(self, sim: _SymbolSim, t: int, tick_buf: list[Printed], seq: int, venue: str) -> tuple[int, float]:
        flow = 0.0
        for i, (usd, side, levels) in enumerate(self.pending):
            sign = 1.0 if side is Side.BUY else -1.0
            ts = t + TICK_MS // 2 + i
            for k in range(levels):  # one taker order: same ms, walking up (down) the book
                price = sim.mid * (1.0 + sim.basis[venue] + sign * 2e-5 * (k + 1))
                part = usd / levels
                seq += 1
                tick_buf.append((ts, seq, Trade(venue, sim.spec.symbol, price, part / price, part, side, ts,
                                                ts * 1_000_000 + 30_000_000)))
            flow += sign * usd
        self.pending.clear()
        return seq, flow


def _apply_flow_decoy(sim: _SymbolSim, fb: _FlowBackground, ep: Episode, t_ms: int) -> None:
    if ep.kind == "DECOY_HEAVY_VOLUME":
        sim.rate_mult = 5.0
        sim.buy_prob = 0.5
        return
    if ep.start_ts in fb.done:
        return
    fb.done.add(ep.start_ts)
    spec = sim.spec
    side = Side.SELL if ep.direction == "SHORT" else Side.BUY
    per_minute = spec.trades_per_s * 2 * 60 * spec.avg_trade_usd  # two venues' usual minute
    if ep.kind == "DECOY_GIANT_PRINT":
        fb.pending.append((min(25 * sim.whale_usd, 0.8 * per_minute), side, 1))
    else:  # DECOY_SWEEP
        fb.pending.append((min(160 * sim.whale_usd, 0.9 * per_minute), side, SWEEP_LEVELS))


def _split_into_levels(tick_buf: list[Printed], levels: int, seq: int) -> int:
    """Replace the last print of ``tick_buf`` (a whale's trade) by ``levels`` same-ms prints at
    successive levels."""
    ts, _seq, tr = tick_buf.pop()
    assert isinstance(tr, Trade)
    sign = 1.0 if tr.side is Side.BUY else -1.0
    part = tr.notional / levels
    for k in range(levels):
        price = tr.price * (1.0 + sign * 1e-5 * k)
        tick_buf.append((ts, _seq if k == 0 else seq + k, Trade(
            tr.venue, tr.symbol, price, part / price, part, tr.side, ts, tr.recv_ns)))
    return seq + levels - 1


class SimulatorFeed(PlayedFeed):
    """The simulator as a feed. ``speed`` 0 = as fast as possible, 1 = real time, 10 = 10x.

    ``stats`` is a FeedStats like every live feed's (the bot's /health reads it): ``state`` is
    ``live`` while running and ``stopped`` once the simulation is over (or the task cancelled);
    ``frames`` and ``events`` count delivered events (each is one simulated message);
    ``last_msg_ns`` is the wall clock of the last delivery. ``lag_ms`` is, unpaced, the simulated
    exchange-to-receive latency; paced, how late each tick was released against its scheduled
    wall-clock time (simulated time has nothing to do with the wall clock, so their difference
    would be meaningless)."""

    name = "simulator"

    def __init__(self, simulator: MarketSimulator, *, speed: float = 0.0, batch: int = 512) -> None:
        self.simulator = simulator
        self.speed = speed
        self.batch = batch
        self.stats = FeedStats(self.name)

    def _delivered(self, events: list[Event], lag_ms: float | None = None) -> None:
        st = self.stats
        st.frames += len(events)
        st.events += len(events)
        last = events[-1]
        if lag_ms is None:
            st.observe_lag(last.recv_ns, last.ts)
            st.last_msg_ns = time.time_ns()
        else:
            st.lag_ms = lag_ms if st.lag_ms == 0.0 else 0.9 * st.lag_ms + 0.1 * lag_ms
            st.last_event_ts = last.ts
            st.last_msg_ns = last.recv_ns

    async def _play(self, put: EventSink) -> None:
        if self.speed <= 0:
            for batch in self.simulator.batches(self.batch):
                self._delivered(batch)
                await put(batch)
            return
        # paced: release each simulated 100 ms tick at its (scaled) wall-clock time
        t0_wall = time.monotonic()
        t0_sim = self.simulator.start_ts
        pending: list[Event] = []
        late_ms = 0.0
        for ev in self.simulator.events():
            due = (ev.ts - t0_sim) / 1000.0 / self.speed
            delay = t0_wall + due - time.monotonic()
            if delay > 0.005:
                if pending:
                    self._delivered(pending, late_ms)
                    await put(pending)
                    pending = []
                await asyncio.sleep(delay)
                delay = t0_wall + due - time.monotonic()
            late_ms = max(0.0, -delay * 1000.0)
            ev.recv_ns = time.time_ns()  # live-like: latency is measured from here on
            pending.append(ev)
            if len(pending) >= self.batch:
                self._delivered(pending, late_ms)
                await put(pending)
                pending = []
        if pending:
            self._delivered(pending, late_ms)
            await put(pending)
