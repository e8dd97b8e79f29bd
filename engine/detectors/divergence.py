"""Cross-venue divergence, evaluated once per second of event time. Direction is NEUTRAL.

- Price: the freshest trade prices of the venues (each at most ``FRESH_MS`` old) are at least
  ``divergence_bps`` apart for at least ``divergence_s`` seconds. Re-arms when the gap closes
  below half the threshold.
- Flow: two venues with real volume over the last 5 minutes disagree on who is in control — one
  venue's taker buy share >= 0.5 + ``FLOW_GAP``/2 while another's is <= 0.5 - ``FLOW_GAP``/2.
  Not before ``FLOW_WARMUP_S`` of the symbol's data: the first 5-minute windows after a start
  are half-filled and say nothing yet about who is in control where.
"""
from __future__ import annotations

from ..signals import Direction, Finding, Kind
from ..state import SymbolState
from ..thresholds import Thresholds

FRESH_MS = 5_000
FLOW_GAP = 0.30
FLOW_MIN_WHALES = 40  # each venue needs 5-minute volume of at least this many whale orders
FLOW_WARMUP_S = 900  # seconds of data before a flow divergence can be told


class DivergenceMemory:
    __slots__ = ("since", "price_armed", "flow_armed", "max_bps")

    def __init__(self) -> None:
        self.since = 0  # event time the price gap opened (0 = not open)
        self.price_armed = True
        self.flow_armed = True
        self.max_bps = 0.0


class DivergenceDetector:
    __slots__ = ()

    def on_second(self, st: SymbolState, ts: int, recv_ns: int, th: Thresholds) -> list[Finding]:
        venues = st.flow.venues
        if len(venues) < 2:
            return []
        mem: DivergenceMemory | None = st.det_divergence
        if mem is None:
            mem = st.det_divergence = DivergenceMemory()
        out: list[Finding] = []
        fresh = [(vf.price, v) for v, vf in venues.items() if vf.ts >= ts - FRESH_MS and vf.price > 0]
        if len(fresh) >= 2:
            lo_price, lo_venue = min(fresh)
            hi_price, hi_venue = max(fresh)
            bps = (hi_price - lo_price) / lo_price * 1e4
            if bps >= th.divergence_bps:
                if not mem.since:
                    mem.since = ts
                    mem.max_bps = bps
                mem.max_bps = max(mem.max_bps, bps)
                duration = (ts - mem.since) / 1000
                if mem.price_armed and duration >= th.divergence_s:
                    mem.price_armed = False
                    out.append(Finding(
                        kind=Kind.DIVERGENCE,
                        symbol=st.symbol,
                        direction=Direction.NEUTRAL,
                        ts=ts,
                        recv_ns=recv_ns,
                        magnitudes={
                            "spread_bps": bps,
                            "max_bps": mem.max_bps,
                            "duration_s": duration,
                            "price_high": hi_price,
                            "price_low": lo_price,
                            "price": st.last_price,
                        },
                        components={
                            "price_gap": round(min(40.0, 20.0 * bps / th.divergence_bps), 1),
                            "persistence": round(min(20.0, 10.0 + (duration - th.divergence_s)), 1),
                        },
                        venues=(hi_venue, lo_venue),
                        extra={"venue_high": hi_venue, "venue_low": lo_venue, "variant": "price"},
                    ))
            else:
                mem.since = 0
                if bps < th.divergence_bps / 2:
                    mem.price_armed = True
        flow = self._flow(st, mem, ts, recv_ns, th)
        if flow is not None:
            out.append(flow)
        return out

    def _flow(self, st: SymbolState, mem: DivergenceMemory, ts: int, recv_ns: int,
              th: Thresholds) -> Finding | None:
        if st.flow.history_s() < FLOW_WARMUP_S:
            return None
        min_volume = FLOW_MIN_WHALES * st.flow.large_usd
        shares = [(vf.buy_share, v) for v, vf in st.flow.venues.items() if vf.volume >= min_volume]
        if len(shares) < 2:
            return None
        lo_share, lo_venue = min(shares)
        hi_share, hi_venue = max(shares)
        gap = hi_share - lo_share
        if gap < FLOW_GAP * 2 / 3:
            mem.flow_armed = True
            return None
        if not mem.flow_armed or hi_share < 0.5 + FLOW_GAP / 2 or lo_share > 0.5 - FLOW_GAP / 2:
            return None
        mem.flow_armed = False
        return Finding(
            kind=Kind.DIVERGENCE,
            symbol=st.symbol,
            direction=Direction.NEUTRAL,
            ts=ts,
            recv_ns=recv_ns,
            magnitudes={
                "share_gap": gap,
                "buy_share_high": hi_share,
                "buy_share_low": lo_share,
                "window_s": 300.0,
                "price": st.last_price,
            },
            components={"flow_gap": round(min(50.0, 100.0 * gap / 2), 1)},
            venues=(hi_venue, lo_venue),
            extra={"venue_high": hi_venue, "venue_low": lo_venue, "variant": "flow"},
        )
