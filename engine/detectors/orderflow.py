"""Order-flow detectors, evaluated once per second of event time from the rolling windows.

- ACCUMULATION / DISTRIBUTION: over the 5-minute window the taker buy (sell) share is at least
  ``dominance`` AND the large orders lean the same way (at least ``large_min`` of them and
  ``large_ratio`` times the other side's count) AND the last minute still leans that way
  (``NOW_SHARE``), so an old burst still inside the window does not read as fresh news -- AND,
  new, the flow is unusual FOR THIS COIN: each coin is judged against its own trailing hour.
  Baseline (O(1) per event, O(1) per minute): once a minute the detector samples the 5-minute
  net delta ``D5 = buy - sell`` and large-order imbalance ``L5 = large buys - large sells``;
  a sample joins the baseline once it no longer overlaps the current 5-minute window (5 minutes
  later) and leaves it an hour after that; running sums of x and x**2 give the mean and the
  standard deviation of both. The signal needs ``z(D5) >= FLOW_Z`` and ``z(L5) >= LARGE_Z``
  (mirrored for distribution); the fixed ``large_ratio`` lean is waived when ``z(L5) >=
  LARGE_Z_ALONE`` (a liquid coin prints large orders on both sides all the time, so 2x the
  other side is out of reach even for a real whale, while the excess over its norm is not),
  with the deviations floored (``SD_FLOOR_VOLUME`` x the mean 5-min volume, ``SD_FLOOR_LARGE``
  orders) so a thin or flat hour is not a hair trigger. Sampling the
  5-minute sums themselves (not per-minute values scaled by sqrt 5) keeps the flow's own
  persistence -- ordinary traders' few-minute runs -- in the baseline. Warm-up: no
  accumulation/distribution until the baseline holds ``BASELINE_MIN`` samples (about 13 minutes
  of data after start). While the window holds a cascade's worth of liquidations (``FORCED_SHARE``), or
  overlaps a cascade / stop-hunt story (until ``STORY_MS`` after it ended), the flow is forced
  selling/buying and its absorption -- already told as that story -- and is not read as
  accumulation. Direction LONG for accumulation, SHORT for distribution. Re-arms once the share
  falls back 5 points below the threshold.
- VOLUME_SPIKE: the last minute's taker volume is at least ``volume_spike_x`` times the trailing
  per-minute average of the window before it (up to an hour; needs ``SPIKE_WARMUP_S`` of history).
  Direction follows the side that made the spike (>= 60 % of it), else NEUTRAL.

Large orders are ORDERS (one taker's same-millisecond prints merged, engine/flow.py), not prints.
"""
from __future__ import annotations

import math
from collections import deque

from ..flow import BUY, LBUY, LIQL, LIQS, LSELL, N, SELL
from ..signals import Direction, Finding, Kind
from ..state import SymbolState
from ..thresholds import Thresholds

FLOW_WINDOW = 1  # index of the 5-minute window in FLOW_WINDOWS
FLOW_MIN_TRADES = 50  # a 5-minute window thinner than this says nothing
FLOW_MIN_HISTORY_S = 150  # and so does one that has seen less than half of its 5 minutes
NOW_SHARE = 0.55  # the last minute must still lean the same way (the flow is current, not stale)
FORCED_SHARE = 0.5  # a window holding >= this share of a cascade's threshold in liquidations
STORY_MS = 300_000  # ...or overlapping a cascade / stop-hunt story is forced flow
SPIKE_WARMUP_S = 900
SPIKE_SIDE_SHARE = 0.60
REARM_GAP = 0.05
# the coin's own baseline (see the module docstring)
FLOW_Z = 3.5  # 5-minute net delta at least this many of the coin's deviations from its mean
LARGE_Z = 2.0  # 5-minute large-order imbalance likewise
LARGE_Z_ALONE = 3.0  # an imbalance this unusual for the coin needs no large_ratio x the other side
BASELINE_MIN = 5  # samples (one a minute) before any baseline-relative signal
BASELINE_LAG = 5  # a sample joins the baseline this many minutes later (no overlap with now)
BASELINE_LEN = 60  # ...and leaves it after this many minutes in it (a trailing hour)
# a coin's first accumulation/distribution can come this long after its first trade at the soonest
WARMUP_S = 60 * (BASELINE_MIN + BASELINE_LAG) + FLOW_MIN_HISTORY_S
SD_FLOOR_VOLUME = 0.06  # net-delta deviation floor: this share of the mean 5-minute volume
SD_FLOOR_LARGE = 1.0  # large-order imbalance deviation floor, orders
CLIP_Z = 3.0  # a sample enters the baseline clipped to its mean +- this many deviations
PRIOR_N = 5  # the deviations' prior counts as this many samples...
PRIOR_SD_VOLUME = 0.15  # ...of a net delta varying by this share of the 5-minute volume


class FlowBaseline:
    """Trailing-hour mean / deviation of a coin's 5-minute net delta and large-order imbalance."""

    __slots__ = ("minute", "recent", "base", "n", "sd", "sdd", "sl", "sll", "sv", "sk")

    def __init__(self) -> None:
        self.minute = -1
        # (d5, l5, v5, k5): net delta, large imbalance, volume, large-order count; newest last
        self.recent: deque[tuple[float, float, float, float]] = deque()
        self.base: deque[tuple[float, float, float, float]] = deque()
        self.n = 0
        self.sd = self.sdd = self.sl = self.sll = self.sv = self.sk = 0.0

    def sample(self, minute: int, d5: float, l5: float, v5: float, k5: float) -> None:
        """Once per minute of event time (O(1))."""
        self.minute = minute
        self.recent.append((d5, l5, v5, k5))
        if len(self.recent) > BASELINE_LAG:
            d, li, v, k = self.recent.popleft()
            if self.n >= BASELINE_MIN:  # winsorise: one episode must not become the norm
                d, li = self._clip(d, li)
            self.base.append((d, li, v, k))
            self.n += 1
            self.sd += d
            self.sdd += d * d
            self.sl += li
            self.sll += li * li
            self.sv += v
            self.sk += k
            if len(self.base) > BASELINE_LEN:
                d, li, v, k = self.base.popleft()
                self.n -= 1
                self.sd -= d
                self.sdd -= d * d
                self.sl -= li
                self.sll -= li * li
                self.sv -= v
                self.sk -= k

    def _clip(self, d: float, li: float) -> tuple[float, float]:
        n = self.n
        mean_d, mean_l = self.sd / n, self.sl / n
        sd_d, sd_l = self._sds(mean_d, mean_l)
        d = min(max(d, mean_d - CLIP_Z * sd_d), mean_d + CLIP_Z * sd_d)
        li = min(max(li, mean_l - CLIP_Z * sd_l), mean_l + CLIP_Z * sd_l)
        return d, li

    def _sds(self, mean_d: float, mean_l: float) -> tuple[float, float]:
        """Deviations, each pulled towards a prior worth ``PRIOR_N`` samples: a short baseline
        (just after warm-up) is not trusted to be as calm as it looks."""
        n = self.n
        v5 = self.sv / n
        var_d = max(0.0, self.sdd / n - mean_d * mean_d)
        var_l = max(0.0, self.sll / n - mean_l * mean_l)
        prior_d = (PRIOR_SD_VOLUME * v5) ** 2
        prior_l = self.sk / n + 1.0  # Poisson: the imbalance of k orders varies by about sqrt(k)
        var_d = (n * var_d + PRIOR_N * prior_d) / (n + PRIOR_N)
        var_l = (n * var_l + PRIOR_N * prior_l) / (n + PRIOR_N)
        return (max(math.sqrt(var_d), SD_FLOOR_VOLUME * v5, 1e-9),
                max(math.sqrt(var_l), SD_FLOOR_LARGE))

    def ready(self) -> bool:
        return self.n >= BASELINE_MIN

    def z(self, d5: float, l5: float) -> tuple[float, float]:
        """z-scores of a 5-minute net delta and large-order imbalance (positive = buy side)."""
        n = self.n
        mean_d, mean_l = self.sd / n, self.sl / n
        sd_d, sd_l = self._sds(mean_d, mean_l)
        return (d5 - mean_d) / sd_d, (l5 - mean_l) / sd_l


class FlowMemory:
    __slots__ = ("acc_armed", "dist_armed", "spike_armed", "baseline")

    def __init__(self) -> None:
        self.acc_armed = True
        self.dist_armed = True
        self.spike_armed = True
        self.baseline = FlowBaseline()


class OrderFlowDetector:
    __slots__ = ()

    def on_second(self, st: SymbolState, ts: int, recv_ns: int, th: Thresholds) -> list[Finding]:
        mem: FlowMemory | None = st.det_flow
        if mem is None:
            mem = st.det_flow = FlowMemory()
        flow = st.flow
        out: list[Finding] = []
        w5 = flow.window(FLOW_WINDOW)
        buy, sell = w5[BUY], w5[SELL]
        total = buy + sell
        lb, ls = w5[LBUY], w5[LSELL]
        base = mem.baseline
        minute = ts // 60_000
        if minute != base.minute and flow.history_s() >= 300:
            base.sample(minute, buy - sell, lb - ls, total, lb + ls)
        forced = (w5[LIQL] + w5[LIQS] >= FORCED_SHARE * th.cascade_usd
                  or (st.det_story_ts and ts - st.det_story_ts < STORY_MS))
        if (w5[N] >= FLOW_MIN_TRADES and total > 0 and not forced
                and flow.history_s() >= FLOW_MIN_HISTORY_S):
            share = buy / total
            w1 = flow.window(0)
            now_total = w1[BUY] + w1[SELL]
            now_buy = w1[BUY] / now_total if now_total > 0 else 0.5
            if share >= th.dominance:
                if (mem.acc_armed and now_buy >= NOW_SHARE and lb >= th.large_min and lb > ls
                        and base.ready()):
                    z_d, z_l = base.z(buy - sell, lb - ls)
                    if (z_d >= FLOW_Z and z_l >= LARGE_Z
                            and (lb >= th.large_ratio * max(ls, 1.0) or z_l >= LARGE_Z_ALONE)):
                        mem.acc_armed = False
                        out.append(self._flow_finding(st, Kind.ACCUMULATION, Direction.LONG, share,
                                                      w5, ts, recv_ns, th, z_d, z_l))
            elif share < th.dominance - REARM_GAP:
                mem.acc_armed = True
            sell_share = 1.0 - share
            if sell_share >= th.dominance:
                if (mem.dist_armed and 1.0 - now_buy >= NOW_SHARE and ls >= th.large_min and ls > lb
                        and base.ready()):
                    z_d, z_l = base.z(buy - sell, lb - ls)
                    if (-z_d >= FLOW_Z and -z_l >= LARGE_Z
                            and (ls >= th.large_ratio * max(lb, 1.0) or -z_l >= LARGE_Z_ALONE)):
                        mem.dist_armed = False
                        out.append(self._flow_finding(st, Kind.DISTRIBUTION, Direction.SHORT, sell_share,
                                                      w5, ts, recv_ns, th, -z_d, -z_l))
            elif sell_share < th.dominance - REARM_GAP:
                mem.dist_armed = True
        spike = self._volume_spike(st, mem, ts, recv_ns, th)
        if spike is not None:
            out.append(spike)
        return out

    def _baseline_per_min(self, st: SymbolState) -> float | None:
        """Trailing per-minute taker volume before the last minute (None while warming up)."""
        flow = st.flow
        history = flow.history_s()
        if history < SPIKE_WARMUP_S:
            return None
        w1, wh = flow.sums[0], flow.sums[3]
        before = (wh[BUY] + wh[SELL]) - (w1[BUY] + w1[SELL])
        minutes = (history - 60) / 60.0
        return before / minutes if minutes > 0 else None

    def _volume_spike(self, st: SymbolState, mem: FlowMemory, ts: int, recv_ns: int,
                      th: Thresholds) -> Finding | None:
        baseline = self._baseline_per_min(st)
        if baseline is None or baseline <= 0:
            return None
        w1 = st.flow.window(0)
        volume = w1[BUY] + w1[SELL]
        ratio = volume / baseline
        if ratio < th.volume_spike_x:
            if ratio < th.volume_spike_x * 0.6:
                mem.spike_armed = True
            return None
        if not mem.spike_armed or w1[N] < FLOW_MIN_TRADES / 5:
            return None
        mem.spike_armed = False
        buy_share = w1[BUY] / volume
        if buy_share >= SPIKE_SIDE_SHARE:
            direction, dominance = Direction.LONG, buy_share
        elif 1.0 - buy_share >= SPIKE_SIDE_SHARE:
            direction, dominance = Direction.SHORT, 1.0 - buy_share
        else:
            direction, dominance = Direction.NEUTRAL, max(buy_share, 1.0 - buy_share)
        large = w1[LBUY] + w1[LSELL]
        return Finding(
            kind=Kind.VOLUME_SPIKE,
            symbol=st.symbol,
            direction=direction,
            ts=ts,
            recv_ns=recv_ns,
            magnitudes={
                "volume_usd": volume,
                "baseline_usd": baseline,
                "ratio": ratio,
                "buy_share": buy_share,
                "dominance": dominance,
                "large_buys": w1[LBUY],
                "large_sells": w1[LSELL],
                "whale_usd": st.flow.large_usd,
                "price": st.last_price,
            },
            components={
                "volume_ratio": round(min(40.0, 10.0 * ratio), 1),
                "one_sided": round(max(0.0, min(20.0, 40.0 * (dominance - 0.5))), 1),
                "large_orders": round(min(10.0, 2.0 * large), 1),
            },
            venues=_active_venues(st, ts, 60_000),
        )

    def _flow_finding(self, st: SymbolState, kind: Kind, direction: Direction, share: float,
                      w5: tuple[float, ...], ts: int, recv_ns: int, th: Thresholds,
                      flow_z: float, large_z: float) -> Finding:
        flow = st.flow
        buy, sell, lb, ls = w5[BUY], w5[SELL], w5[LBUY], w5[LSELL]
        qty = w5[4]
        vwap = (buy + sell) / qty if qty > 0 else 0.0
        accumulating = kind is Kind.ACCUMULATION
        ours, theirs = (lb, ls) if accumulating else (ls, lb)
        # do the shorter and longer windows lean the same way?
        agree = 0
        for index in (0, 2):
            w = flow.window(index)
            tot = w[BUY] + w[SELL]
            if tot > 0:
                s = w[BUY] / tot if accumulating else w[SELL] / tot
                agree += s >= 0.55
        baseline = self._baseline_per_min(st)
        heavy = baseline is not None and baseline > 0 and (buy + sell) >= 5 * 1.5 * baseline
        price = st.last_price
        confirms = price >= vwap if accumulating else price <= vwap
        components = {
            "flow_share": round(max(0.0, min(35.0, 35.0 * (share - 0.5) / 0.3)), 1),
            "whale_imbalance": round(max(0.0, min(25.0, 50.0 * (ours / (ours + theirs) - 0.5))), 1),
            "large_orders": round(min(10.0, ours), 1),
            "timeframes_agree": 5.0 * agree,
            "heavy_volume": 10.0 if heavy else 0.0,
            "price_confirms": 5.0 if confirms else 0.0,
        }
        return Finding(
            kind=kind,
            symbol=st.symbol,
            direction=direction,
            ts=ts,
            recv_ns=recv_ns,
            magnitudes={
                "buy_usd": buy,
                "sell_usd": sell,
                "buy_share": buy / (buy + sell),
                "dominance": share,
                "net_delta": buy - sell,
                "large_buys": lb,
                "large_sells": ls,
                "whale_usd": flow.large_usd,
                "vwap": vwap,
                "price": price,
                "window_s": 300.0,
                "flow_z": flow_z,  # 5-min net delta vs the coin's trailing hour, in deviations
                "large_z": large_z,  # 5-min large-order imbalance likewise
            },
            components=components,
            venues=_active_venues(st, ts, 300_000),
        )


def _active_venues(st: SymbolState, ts: int, horizon_ms: int) -> tuple[str, ...]:
    return tuple(sorted(v for v, vf in st.flow.venues.items() if vf.ts > ts - horizon_ms))
