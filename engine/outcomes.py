"""What happened after each signal: outcomes followed on the later trades of its symbol.

Pure and synchronous, event time only (no wall clock, no I/O), so live, replay and tests give the
same outcomes for the same event order. ``OutcomeTracker.on_signal`` opens an outcome when a
signal is emitted; ``OutcomeTracker.on_trade`` sees every accepted trade AFTER the engine
processed it (``Engine.on_trade``).

Trades are folded into one-second bars per symbol (high, low, close and the times of the high
and the low), so a trade costs O(1). A new signal splits the running bar, so an outcome never
sees a trade from before its signal. A finished bar is applied to the symbol's open outcomes
only when it crosses the envelope of what could change one of them (a fill, a barrier, a
horizon, an expiry); excursions (MFE/MAE) are caught up on demand from monotonic stacks of bar
highs and lows, so a bar costs O(1) amortised however many outcomes are open.
While every trade stays strictly inside that envelope, seconds are folded into one quiet span
(up to the minute's end or the next due second; a symbol with nothing open: the minute), and a
trade outside it ends the span and starts the bar of its second: the outcomes are the same
(nothing could change in those seconds; excursions are max/min; the noise band reads minute
closes), and a trade costs one bar update, with no per-second work. ``Engine.track_outcomes``
runs that update inline (no call per trade).
``skip_inside = False`` applies every one-second bar to every outcome instead (the tests'
reference).

Rules (README "Outcomes and backtests" repeats them for users):

* **Signals with levels** (stop hunts): a triple barrier from the middle of the entry band.
  The entry counts as filled when a trade touches the band (the band's near edge; a gap through
  it also fills). After the fill, the first touch of the stop -> ``LOSS`` (−1 R); of T1 ->
  ``WIN_T1`` (+R of T1), after which the outcome stays open for T2 -> ``WIN_T2`` (+R of T2) until
  the stop, T2 or the expiry (``Levels.expires_ts``) ends it. Expiry with neither touched ->
  ``EXPIRED`` (R = the move from the entry middle to the last price, in R); expiry without a fill
  -> ``NOT_FILLED`` (no trade: no R, not counted in hit rates). Conservative tie rules, because
  the order inside one second is unknown: a stop and a target touched in the same second resolve
  as ``LOSS``; in the second that fills the entry only the stop counts (a target in that second
  may have traded before the fill). MFE/MAE are measured from the fill, in % of the entry
  middle and in R.
* **Signals without levels but with a direction** (cascades, flow, whale windows, funding,
  divergence, spikes): the signed return from the price at the signal at 1 m, 5 m, 15 m and 1 h
  (the last trade up to the end of the second that contains signal time + horizon, known once a
  later second trades), each
  compared with the coin's own noise band over that horizon: the mean absolute 1-minute return
  (EWMA, ~30 min memory, kept per symbol from the trades themselves) scaled by sqrt(minutes).
  At the kind's primary horizon (``PRIMARY_HORIZON_S``) the outcome resolves: ``HIT`` (beat the
  band in the signal's direction), ``MISS`` (beat it against) or ``FLAT`` (inside the band);
  ``UNSCORED`` when the coin has no band yet (under 10 minutes of trades). MFE/MAE in % over
  the hour. NEUTRAL signals record unsigned returns and are never scored.
* Bounded: at most ``max_open_per_symbol`` open outcomes per symbol; opening one more resolves
  the oldest as ``EXPIRED`` (levels: ``NOT_FILLED`` if never filled). Signals that only edit an
  earlier signal's message (``Signal.edits``) are the same event and get no outcome of their own.
"""
from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .events import Trade
from .signals import Direction, Kind, Signal

HORIZONS_S: tuple[int, ...] = (60, 300, 900, 3600)
HORIZON_NAMES: tuple[str, ...] = ("1m", "5m", "15m", "1h")
FINAL_HORIZON_S = HORIZONS_S[-1]
# the horizon at which a signal without levels is judged HIT / MISS / FLAT, per kind
PRIMARY_HORIZON_S: dict[Kind, int] = {
    Kind.LIQUIDATION_CASCADE: 300,
    Kind.VOLUME_SPIKE: 300,
    Kind.DIVERGENCE: 300,
    Kind.WHALE_WINDOW: 900,
    Kind.ACCUMULATION: 900,
    Kind.DISTRIBUTION: 900,
    Kind.STOP_HUNT: 900,  # only a stop hunt without levels (never emitted today)
    Kind.FUNDING_EXTREME: 3600,
}
MAX_OPEN_PER_SYMBOL = 200
NOISE_MEMORY_MIN = 30  # EWMA of absolute 1-minute returns, alpha = 1/30 per minute
NOISE_MIN_SAMPLES = 10  # minutes of returns before a noise band exists


class Result(str, Enum):
    OPEN = "OPEN"  # not decided yet
    WIN_T2 = "WIN_T2"
    WIN_T1 = "WIN_T1"
    LOSS = "LOSS"
    EXPIRED = "EXPIRED"
    NOT_FILLED = "NOT_FILLED"
    HIT = "HIT"
    MISS = "MISS"
    FLAT = "FLAT"
    UNSCORED = "UNSCORED"


HITS = frozenset({Result.WIN_T1, Result.WIN_T2, Result.HIT})
# decided results that count in a hit rate (NOT_FILLED: no trade; UNSCORED: no noise band;
# an EXPIRED signal without levels was evicted before its horizon: nothing measured)
SCORED_LEVELS = frozenset({Result.WIN_T1, Result.WIN_T2, Result.LOSS, Result.EXPIRED})
SCORED_DIRECTIONAL = frozenset({Result.HIT, Result.MISS, Result.FLAT})


def is_scored(result: Result, has_levels: bool) -> bool:
    return result in (SCORED_LEVELS if has_levels else SCORED_DIRECTIONAL)


def _sign(direction: Direction) -> int:
    return 1 if direction is Direction.LONG else -1 if direction is Direction.SHORT else 0


@dataclass(slots=True)
class Outcome:
    """One signal's outcome, updated bar by bar. Prices in the 'signed' space: multiplied by the
    direction's sign (+1 LONG, −1 SHORT), so 'up' is always favourable."""

    signal: Signal
    d: int  # +1 LONG, -1 SHORT, 0 NEUTRAL
    p0: float  # price at the signal (0: none yet; set from the first bar)
    has_levels: bool
    result: Result = Result.OPEN
    final: bool = False  # nothing more will change
    resolved_ts: int | None = None  # when ``result`` was decided (event ms)
    final_ts: int | None = None
    r: float | None = None  # realised R (levels)
    # levels, signed
    entry: float = 0.0  # signed entry middle
    risk: float = 0.0  # entry middle - stop, > 0
    fill_at: float = 0.0  # signed near edge of the band: filled when the signed low reaches it
    stop: float = 0.0
    t1: float = 0.0
    t2: float | None = None
    expires_ts: int = 0
    filled: bool = False
    fill_ts: int | None = None
    t1_hit: bool = False
    # excursions, signed prices (None until measured)
    best: float | None = None
    worst: float | None = None
    last: float = 0.0  # signed last price seen
    # without levels: per horizon
    returns: list[float | None] = field(default_factory=lambda: [None] * len(HORIZONS_S))
    noise: list[float | None] = field(default_factory=lambda: [None] * len(HORIZONS_S))
    next_h: int = 0  # index of the next horizon to record
    due_sec: int = 0  # the second of that horizon (set by open_outcome)
    primary_s: int = 900
    resumed: int = 0  # times this outcome was restored after a restart (trades in between unseen)
    open_seq: int = 0  # its symbol's bar count when it opened (later bars are its own)
    anchor: int = 0  # best/worst include every bar before this bar index (later ones: see _catch_up)

    # ---- derived figures -------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self.signal.id

    @property
    def hit(self) -> bool | None:
        if not is_scored(self.result, self.has_levels):
            return None
        return self.result in HITS

    @property
    def ref_price(self) -> float:
        """The price outcomes are measured from: the entry middle (levels) or the signal price."""
        return abs(self.entry) if self.has_levels else self.p0

    def _pct(self, signed_price: float | None, sign: int) -> float | None:
        ref = self.ref_price
        if signed_price is None or ref <= 0 or self.d == 0:
            return None
        base = self.entry if self.has_levels else self.d * self.p0
        return max(0.0, sign * (signed_price - base) / ref * 100.0)  # an excursion is never negative

    @property
    def mfe_pct(self) -> float | None:
        return self._pct(self.best, 1)

    @property
    def mae_pct(self) -> float | None:
        return self._pct(self.worst, -1)

    @property
    def mfe_r(self) -> float | None:
        if not self.has_levels or self.best is None:
            return None
        return max(0.0, (self.best - self.entry) / self.risk)

    @property
    def mae_r(self) -> float | None:
        if not self.has_levels or self.worst is None:
            return None
        return max(0.0, (self.entry - self.worst) / self.risk)

    @property
    def ttr_s(self) -> float | None:
        """Seconds from the signal to the decision."""
        if self.resolved_ts is None:
            return None
        return (self.resolved_ts - self.signal.ts) / 1000.0

    def r_of(self, signed_target: float) -> float:
        return (signed_target - self.entry) / self.risk

    def summary(self) -> dict[str, Any]:
        """Plain data for reports, JSON and the database."""
        out: dict[str, Any] = {
            "signal_id": self.signal.id, "kind": self.signal.kind.value, "symbol": self.signal.symbol,
            "direction": self.signal.direction.value, "tier": self.signal.tier.value,
            "score": self.signal.confidence, "ts": self.signal.ts,
            "result": self.result.value, "final": self.final, "hit": self.hit,
            "resolved_ts": self.resolved_ts, "ttr_s": self.ttr_s, "levels": self.has_levels,
            "r": self.r, "mfe_pct": self.mfe_pct, "mae_pct": self.mae_pct,
            "mfe_r": self.mfe_r, "mae_r": self.mae_r,
        }
        if self.has_levels:
            out["filled"] = self.filled
            out["fill_ts"] = self.fill_ts
        else:
            out["returns_pct"] = dict(zip(HORIZON_NAMES, self.returns))
            out["noise_pct"] = dict(zip(HORIZON_NAMES, self.noise))
            out["primary_horizon_s"] = self.primary_s
        return out

    # ---- persistence -----------------------------------------------------------------------
    _STATE = ("p0", "result", "final", "resolved_ts", "final_ts", "r", "filled", "fill_ts",
              "t1_hit", "best", "worst", "last", "returns", "noise", "next_h", "due_sec", "resumed")
    # open_seq and anchor are per process: a restored outcome starts at the new process's bars

    def state(self) -> dict[str, Any]:
        """Everything needed to resume after a restart (with the signal itself)."""
        st = {k: getattr(self, k) for k in self._STATE}
        st["result"] = self.result.value
        st["returns"] = list(self.returns)
        st["noise"] = list(self.noise)
        return st

    @classmethod
    def restore(cls, signal: Signal, st: Mapping[str, Any]) -> Outcome:
        o = open_outcome(signal, float(st.get("p0") or 0.0))
        for k in cls._STATE:
            if k in st:
                setattr(o, k, st[k])
        o.result = Result(st.get("result", "OPEN"))
        o.returns = list(o.returns)
        o.noise = list(o.noise)
        o.resumed = int(st.get("resumed") or 0) + 1
        return o


def open_outcome(signal: Signal, p0: float, noise_1m: float | None = None) -> Outcome:
    """A fresh outcome for ``signal`` with the price at the signal ``p0`` and the symbol's mean
    absolute 1-minute return (fraction) when known."""
    d = _sign(signal.direction)
    lv = signal.levels
    o = Outcome(signal=signal, d=d, p0=p0, has_levels=False,
                primary_s=PRIMARY_HORIZON_S.get(signal.kind, 900))
    if lv is not None and d != 0 and lv.targets:
        entry = d * (lv.entry_low + lv.entry_high) / 2.0
        risk = entry - d * lv.stop
        t1 = d * lv.targets[0]
        if risk > 0 and t1 > entry:
            o.has_levels = True
            o.entry, o.risk, o.stop, o.t1 = entry, risk, d * lv.stop, t1
            t2 = d * lv.targets[1] if len(lv.targets) > 1 else None
            o.t2 = t2 if t2 is not None and t2 > t1 else None
            o.fill_at = d * (lv.entry_high if d > 0 else lv.entry_low)
            o.expires_ts = int(lv.expires_ts)
            if p0 > 0 and d * p0 <= o.fill_at:  # the price is in the band already: filled now
                o.filled, o.fill_ts = True, signal.ts
                o.best = o.worst = d * p0
    if not o.has_levels and noise_1m is not None:
        o.noise = [noise_1m * 100.0 * math.sqrt(h / 60.0) for h in HORIZONS_S]
    if not o.has_levels and d and p0 > 0:
        o.best = o.worst = d * p0  # excursions start at the signal's price
    o.last = d * p0 if d else p0
    o.due_sec = (signal.ts + HORIZONS_S[0] * 1000) // 1000 + 1
    return o


def _step(o: Outcome, up: float, down: float, close: float, sec: int, up_ts: int, down_ts: int) -> bool:
    """Apply one bar (signed: ``up`` favourable extreme, ``down`` adverse, ``close``) to ``o``.
    Returns True when a milestone changed (fill, decision, horizon, final)."""
    if o.has_levels:
        if sec * 1000 > o.expires_ts:
            _expire(o, o.expires_ts)
            return True
        if not o.filled:
            o.last = close
            if down > o.fill_at:
                return False
            o.filled, o.fill_ts = True, down_ts
            # the fill second: only the stop counts, and only the adverse side is measured
            o.best = o.entry
            o.worst = down
            if down <= o.stop:
                _decide(o, Result.LOSS, down_ts, -1.0, final=True)
            return True
        if o.best is None or up > o.best:  # (both set at the fill)
            o.best = up
        if o.worst is None or down < o.worst:
            o.worst = down
        o.last = close
        if not o.t1_hit:
            if down <= o.stop:
                _decide(o, Result.LOSS, down_ts, -1.0, final=True)
                return True
            if up >= o.t1:
                o.t1_hit = True
                if o.t2 is not None and up >= o.t2:
                    _decide(o, Result.WIN_T2, up_ts, o.r_of(o.t2), final=True)
                else:
                    _decide(o, Result.WIN_T1, up_ts, o.r_of(o.t1), final=o.t2 is None)
                return True
            return False
        if down <= o.stop:
            o.final, o.final_ts = True, down_ts  # T1 came first: stays WIN_T1
            return True
        if o.t2 is not None and up >= o.t2:
            o.result, o.r, o.final, o.final_ts = Result.WIN_T2, o.r_of(o.t2), True, up_ts
            return True
        return False
    # without levels: horizons, then excursions (up to the last horizon)
    changed = False
    if sec >= o.due_sec:
        start = o.signal.ts
        h = o.next_h
        while h < len(HORIZONS_S):
            tsec = (start + HORIZONS_S[h] * 1000) // 1000
            if sec <= tsec:
                break
            # a bar after the target's second: the last trade up to that second is known (a bar
            # of the target second itself may be split by a later signal, so it never decides)
            _record_horizon(o, h, o.last, start + HORIZONS_S[h] * 1000)
            h += 1
        o.next_h = h
        o.due_sec = (start + HORIZONS_S[h] * 1000) // 1000 + 1 if h < len(HORIZONS_S) else 1 << 62
        changed = True
        if o.final:
            return True
    if o.d:
        if o.best is None or up > o.best:
            o.best = up
        if o.worst is None or down < o.worst:
            o.worst = down
    o.last = close
    return changed


def _record_horizon(o: Outcome, h: int, signed_px: float, target_ts: int) -> None:
    p0 = o.p0
    if p0 <= 0:
        return
    if o.d:
        ret = (signed_px - o.d * p0) / p0 * 100.0
    else:
        ret = (signed_px - p0) / p0 * 100.0
    o.returns[h] = ret
    if HORIZONS_S[h] == o.primary_s and o.result is Result.OPEN:
        band = o.noise[h]
        if o.d == 0 or band is None:
            result = Result.UNSCORED
        elif ret > band:
            result = Result.HIT
        elif ret < -band:
            result = Result.MISS
        else:
            result = Result.FLAT
        _decide(o, result, target_ts, None, final=False)
    if h == len(HORIZONS_S) - 1:
        if o.result is Result.OPEN:  # a primary horizon beyond the last one cannot happen
            o.result, o.resolved_ts = Result.UNSCORED, target_ts
        o.final, o.final_ts = True, target_ts


def _decide(o: Outcome, result: Result, ts: int, r: float | None, *, final: bool) -> None:
    o.result, o.resolved_ts, o.r = result, ts, r
    if final:
        o.final, o.final_ts = True, ts


def _expire(o: Outcome, ts: int) -> None:
    """Expiry (or eviction) of an outcome that is still open."""
    if o.final:
        return
    if o.has_levels:
        if not o.filled:
            _decide(o, Result.NOT_FILLED, ts, None, final=True)
        elif not o.t1_hit:
            _decide(o, Result.EXPIRED, ts, (o.last - o.entry) / o.risk, final=True)
        else:
            o.final, o.final_ts = True, ts
        return
    if o.result is Result.OPEN:
        _decide(o, Result.EXPIRED, ts, None, final=True)
    else:
        o.final, o.final_ts = True, ts


class _SymbolBars:
    """A symbol's running one-second bar, its open outcomes and its noise estimate."""

    __slots__ = ("sec", "next_ms", "q_lo", "q_hi", "top", "n", "hi", "lo", "close", "hi_ts", "lo_ts", "prev_close",
                 "seq", "open", "minute", "minute_anchor", "noise", "noise_n", "env_lo", "env_hi", "env_due",
                 "hs_seq", "hs_val", "ls_seq", "ls_val")

    def __init__(self) -> None:
        self.sec = -1
        self.next_ms = -(1 << 62)  # a trade at or after this starts a new bar
        # a trade before next_ms priced strictly between q_lo and q_hi joins the running bar;
        # (-inf, inf) for a one-second bar, the envelope for a quiet span (see OutcomeTracker)
        self.q_lo = -math.inf
        self.q_hi = math.inf
        self.top = 0  # the newest trade time in the running bar
        self.n = 0  # 1 while the running bar holds a trade
        self.hi = self.lo = self.close = 0.0
        self.hi_ts = self.lo_ts = 0
        self.prev_close = 0.0  # last price before the running bar
        self.seq = 0  # bars flushed so far
        # the envelope: a bar with low > env_lo, high < env_hi and second < env_due changes no open
        # outcome (no new excursion, no barrier, fill, horizon or expiry), so it is not applied
        self.env_lo = math.inf
        self.env_hi = -math.inf
        self.env_due = -1
        # monotonic stacks of bar highs (strictly falling) and lows (strictly rising) by bar index:
        # the highest high since bar k is the first entry at index >= k (excursions on demand)
        self.hs_seq: list[int] = []
        self.hs_val: list[float] = []
        self.ls_seq: list[int] = []
        self.ls_val: list[float] = []
        self.open: list[Outcome] = []
        self.minute = -1
        self.minute_anchor = 0.0  # the close of the previous minute
        self.noise = 0.0  # EWMA of |1-minute return|, fraction
        self.noise_n = 0

    def push_bar(self, seq: int, hi: float, lo: float) -> None:
        hs_seq, hs_val = self.hs_seq, self.hs_val
        while hs_val and hs_val[-1] <= hi:
            hs_val.pop()
            hs_seq.pop()
        hs_seq.append(seq)
        hs_val.append(hi)
        ls_seq, ls_val = self.ls_seq, self.ls_val
        while ls_val and ls_val[-1] >= lo:
            ls_val.pop()
            ls_seq.pop()
        ls_seq.append(seq)
        ls_val.append(lo)

    def high_since(self, seq: int) -> float | None:
        i = bisect_left(self.hs_seq, seq)
        return self.hs_val[i] if i < len(self.hs_val) else None

    def low_since(self, seq: int) -> float | None:
        i = bisect_left(self.ls_seq, seq)
        return self.ls_val[i] if i < len(self.ls_val) else None

    def prune(self, seq: int) -> None:
        """Forget bars before ``seq`` (no open outcome needs them)."""
        for seqs, vals in ((self.hs_seq, self.hs_val), (self.ls_seq, self.ls_val)):
            i = bisect_left(seqs, seq)
            if i:
                del seqs[:i]
                del vals[:i]

    def noise_1m(self) -> float | None:
        return self.noise if self.noise_n >= NOISE_MIN_SAMPLES else None


class OutcomeTracker:
    """Follows every emitted signal on its symbol's later trades (see the module docstring).

    ``on_change(outcome)`` is called when an outcome opens, gets decided, records a horizon
    or becomes final (the live recorder persists those); ``outcomes`` keeps every outcome when
    ``keep`` is true (backtests), else only open ones are held.
    """

    def __init__(self, *, max_open_per_symbol: int = MAX_OPEN_PER_SYMBOL,
                 on_change: Callable[[Outcome], None] | None = None, keep: bool = False) -> None:
        self.max_open = max(1, max_open_per_symbol)
        self.on_change = on_change
        self.keep = keep
        self.outcomes: list[Outcome] = []
        self._symbols: dict[str, _SymbolBars] = {}
        self.opened = 0
        self.evicted = 0
        self.skip_inside = True  # False applies every bar to every outcome (tests compare both)

    @property
    def bars(self) -> dict[str, _SymbolBars]:
        """The running bars by symbol: ``Engine.track_outcomes`` folds a trade inside a running
        second into its bar directly (``on_trade``'s hot path, inline) and calls ``on_trade``
        for the others."""
        return self._symbols

    # ---- the two hooks ---------------------------------------------------------------------
    def on_trade(self, ev: Trade) -> None:
        bars = self._symbols.get(ev.symbol)
        if bars is None:
            bars = self._symbols[ev.symbol] = _SymbolBars()
        price = ev.price
        ts = ev.ts
        if ts < bars.next_ms:
            if bars.q_lo < price < bars.q_hi:
                # the hot path: a trade joins the running bar (an older one is merged into it);
                # Engine.track_outcomes runs these lines inline and calls on_trade for the others
                if price > bars.hi:
                    bars.hi, bars.hi_ts = price, ts
                elif price < bars.lo:
                    bars.lo, bars.lo_ts = price, ts
                bars.close = price
                if ts > bars.top:
                    bars.top = ts
                return
            # a price that may decide something ends a quiet span; this trade starts the bar of
            # its second (the span's trades of that second changed nothing: inside every trigger)
        if bars.n:
            self._flush(bars)
        self._start(bars, ts, price)

    def _start(self, bars: _SymbolBars, ts: int, price: float) -> None:
        """A new running bar from this trade: a one-second bar, or a quiet span — several
        seconds (never past the minute nor the next due second) whose trades all lie strictly
        inside the envelope, so no open outcome could change in any of its seconds; it is
        flushed as one bar (excursions are max/min, the noise band reads minute closes)."""
        sec = ts // 1000
        if sec > bars.sec:
            bars.sec = sec
        sec = bars.sec
        bars.n = 1
        bars.hi = bars.lo = bars.close = price
        bars.hi_ts = bars.lo_ts = bars.top = ts
        if self.skip_inside and bars.seq:  # the first bar of a symbol anchors its noise band
            if not bars.open:
                bars.next_ms = (sec // 60 + 1) * 60_000
                bars.q_lo, bars.q_hi = -math.inf, math.inf
                return
            if bars.env_lo < price < bars.env_hi and sec < bars.env_due:
                bars.next_ms = min((sec // 60 + 1) * 60_000, bars.env_due * 1000)
                bars.q_lo, bars.q_hi = bars.env_lo, bars.env_hi
                return
        bars.next_ms = (sec + 1) * 1000
        bars.q_lo, bars.q_hi = -math.inf, math.inf

    def on_signal(self, signal: Signal) -> Outcome | None:
        """Open an outcome for an emitted signal (None for an edit of an earlier one)."""
        if signal.edits:
            return None
        bars = self._symbols.get(signal.symbol)
        if bars is None:
            bars = self._symbols[signal.symbol] = _SymbolBars()
        if bars.n:
            self._flush(bars)  # the new outcome sees only trades after its signal
        p0 = float(signal.magnitudes.get("price") or 0.0)
        if not p0 > 0:
            p0 = bars.prev_close
        o = open_outcome(signal, p0, bars.noise_1m())
        o.open_seq = o.anchor = bars.seq
        self._add(bars, o)
        self.opened += 1
        if self.keep:
            self.outcomes.append(o)
        self._changed(o)
        return o

    # ---- restore / finish ------------------------------------------------------------------
    def restore(self, outcomes: Iterable[Outcome]) -> int:
        """Take back open outcomes stored before a restart; returns how many."""
        n = 0
        for o in outcomes:
            if o.final:
                continue
            bars = self._symbols.get(o.signal.symbol)
            if bars is None:
                bars = self._symbols[o.signal.symbol] = _SymbolBars()
            if bars.n and bars.next_ms > (bars.sec + 1) * 1000:
                self._flush(bars)  # a quiet span was quiet for the outcomes it knew, not for this one
            o.open_seq = o.anchor = bars.seq  # its stored ``last`` stands until this process's next bar
            self._add(bars, o)
            if self.keep:
                self.outcomes.append(o)
            n += 1
        return n

    def finish(self, end_ts: int | None = None) -> None:
        """End of a recording: apply the running bars, and expire setups whose expiry passed by
        ``end_ts`` (the last event time). Outcomes whose horizons lie beyond stay OPEN."""
        for bars in self._symbols.values():
            if bars.n:
                self._flush(bars)
            if end_ts is None:
                continue
            for o in bars.open:
                _catch_up(o, bars)
                if o.has_levels and o.expires_ts < end_ts:
                    _sync(o, bars)
                    _expire(o, o.expires_ts)
                    self._changed(o)
            bars.open = [o for o in bars.open if not o.final]

    def open_outcomes(self) -> list[Outcome]:
        """The open outcomes, their last price brought up to date (for a checkpoint)."""
        out = []
        for bars in self._symbols.values():
            for o in bars.open:
                _sync(o, bars)
                _catch_up(o, bars)
                out.append(o)
        return out

    def open_count(self) -> int:
        return sum(len(b.open) for b in self._symbols.values())

    # ---- internals -------------------------------------------------------------------------
    def _add(self, bars: _SymbolBars, o: Outcome) -> None:
        bars.open.append(o)
        lo, hi, due = _triggers(o)
        if lo > bars.env_lo:
            bars.env_lo = lo
        if hi < bars.env_hi:
            bars.env_hi = hi
        if due < bars.env_due or bars.env_due < 0:
            bars.env_due = due
        if len(bars.open) > self.max_open:
            oldest = min(bars.open, key=lambda x: x.signal.ts)
            bars.open.remove(oldest)
            _sync(oldest, bars)
            _catch_up(oldest, bars)
            _expire(oldest, max(o.signal.ts, oldest.signal.ts))
            self.evicted += 1
            self._changed(oldest)

    def _changed(self, o: Outcome) -> None:
        if self.on_change is not None:
            self.on_change(o)

    def _flush(self, bars: _SymbolBars) -> None:
        """Apply the running bar to the symbol's open outcomes, update the noise band."""
        hi, lo, close = bars.hi, bars.lo, bars.close
        sec = bars.top // 1000  # the newest second of the bar (a quiet span may hold several)
        if sec > bars.sec:
            bars.sec = sec
        sec = bars.sec
        minute = sec // 60
        if minute != bars.minute:  # once a minute: the noise band
            anchor = bars.minute_anchor
            if anchor > 0 and bars.prev_close > 0 and minute == bars.minute + 1:
                ret = abs(bars.prev_close / anchor - 1.0)
                bars.noise_n += 1
                alpha = max(1.0 / bars.noise_n, 1.0 / NOISE_MEMORY_MIN)
                bars.noise += alpha * (ret - bars.noise)
            bars.minute = minute
            bars.minute_anchor = bars.prev_close if bars.prev_close > 0 else bars.hi
        if not bars.open:  # nothing to apply (the common case for most symbols)
            if bars.hs_seq:
                bars.prune(bars.seq + 1)
            bars.prev_close = close
            bars.seq += 1
            bars.n = 0
            bars.next_ms = -(1 << 62)
            return
        lazy = self.skip_inside
        if bars.open and not (lazy and lo > bars.env_lo and hi < bars.env_hi and sec < bars.env_due):
            done = False
            hi_ts, lo_ts = bars.hi_ts, bars.lo_ts
            env_lo, env_hi, env_due = -math.inf, math.inf, 1 << 62
            seq = bars.seq
            min_anchor = seq
            for o in bars.open:
                if lazy:
                    lo_t, hi_t, due_t = _triggers(o)
                    if lo > lo_t and hi < hi_t and sec < due_t:
                        if lo_t > env_lo:
                            env_lo = lo_t
                        if hi_t < env_hi:
                            env_hi = hi_t
                        if due_t < env_due:
                            env_due = due_t
                        if o.anchor < min_anchor:
                            min_anchor = o.anchor
                        continue
                    _catch_up(o, bars)
                if o.p0 <= 0:  # opened before any trade of its symbol: starts from this bar
                    o.p0 = close
                    o.last = o.d * close if o.d else close
                    if not o.has_levels and o.d:
                        o.best = o.worst = o.d * close
                else:
                    _sync(o, bars)
                if o.d >= 0:
                    changed = _step(o, hi, lo, close, sec, hi_ts, lo_ts)
                else:
                    changed = _step(o, -lo, -hi, -close, sec, lo_ts, hi_ts)
                if not o.final:
                    o.anchor = seq + 1  # this bar is in best/worst now
                if changed:
                    self._changed(o)
                    if o.final:
                        done = True
                        continue
                lo_t, hi_t, due_t = _triggers(o) if lazy else (0.0, 0.0, 0)
                if lo_t > env_lo:
                    env_lo = lo_t
                if hi_t < env_hi:
                    env_hi = hi_t
                if due_t < env_due:
                    env_due = due_t
            bars.env_lo, bars.env_hi, bars.env_due = env_lo, env_hi, env_due
            if done:
                bars.open = [o for o in bars.open if not o.final]
            if lazy:
                bars.prune(min_anchor)
        if bars.open:
            if lazy:  # bars.push_bar(seq, hi, lo), inlined: this runs once per second per symbol
                hs_val = bars.hs_val
                if hs_val and hs_val[-1] <= hi:
                    hs_seq = bars.hs_seq
                    while hs_val and hs_val[-1] <= hi:
                        hs_val.pop()
                        hs_seq.pop()
                bars.hs_seq.append(bars.seq)
                hs_val.append(hi)
                ls_val = bars.ls_val
                if ls_val and ls_val[-1] >= lo:
                    ls_seq = bars.ls_seq
                    while ls_val and ls_val[-1] >= lo:
                        ls_val.pop()
                        ls_seq.pop()
                bars.ls_seq.append(bars.seq)
                ls_val.append(lo)
        elif bars.hs_seq:
            bars.prune(bars.seq + 1)
        bars.prev_close = close
        bars.seq += 1
        bars.n = 0
        bars.next_ms = -(1 << 62)  # the next trade starts a bar (of the same second after a split)


def _sync(o: Outcome, bars: _SymbolBars) -> None:
    """Bring ``o.last`` to the symbol's last close when bars after its opening were skipped."""
    if bars.seq > o.open_seq:
        pc = bars.prev_close
        o.last = o.d * pc if o.d else pc


def _catch_up(o: Outcome, bars: _SymbolBars) -> None:
    """Fold the bars since ``o.anchor`` (skipped while nothing could change) into best/worst."""
    if o.anchor >= bars.seq or o.final:
        return
    if o.best is not None and o.worst is not None and o.d:  # (set together)
        hi = bars.high_since(o.anchor)
        lo = bars.low_since(o.anchor)
        if hi is not None and lo is not None:
            up, down = (hi, lo) if o.d > 0 else (-lo, -hi)
            if up > o.best:
                o.best = up
            if down < o.worst:
                o.worst = down
    o.anchor = bars.seq


def _triggers(o: Outcome) -> tuple[float, float, int]:
    """(low, high, second) in raw prices: a bar reaching a low <= ``low`` or a high >= ``high``,
    or a second >= ``second``, may decide something for ``o`` (a fill, a barrier, a horizon, the
    expiry); any other bar cannot, and only moves its excursions (caught up on demand)."""
    if o.p0 <= 0:
        return math.inf, -math.inf, -1  # must see the next bar
    d = o.d
    if o.has_levels:
        due = o.expires_ts // 1000 + 1
        if not o.filled:
            return (o.fill_at, math.inf, due) if d > 0 else (-math.inf, -o.fill_at, due)
        up = o.t2 if o.t1_hit else o.t1
        if d > 0:
            return o.stop, (math.inf if up is None else up), due
        return (-math.inf if up is None else -up), -o.stop, due
    return -math.inf, math.inf, o.due_sec
