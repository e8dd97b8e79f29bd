"""Funding extreme: the venues' funding, normalised to a fraction per 8 h, is far from normal.

Venues quote funding differently: Binance/Bybit/OKX as a FRACTION per funding interval
(0.0001 = 0.01 %), CoinGlass as a PERCENT (0.01 = 0.01 %), and intervals are 8 h, 4 h or 1 h.
``normalize_funding`` turns any of them into a fraction per 8 h; ``Funding.rate_8h`` does the
interval part for events that already carry a fraction. Rates beyond ``ABSURD_8H`` are refused by
the engine as bad input.

Fires when the mean of the venues' latest rates (each at most ``STALE_MS`` old) reaches
``funding_extreme``. Very positive funding means longs are crowded and pay: SHORT bias; very
negative is the mirror: LONG bias. Re-arms when the mean falls below 60 % of the threshold.
"""
from __future__ import annotations

from ..events import Funding
from ..signals import Direction, Finding, Kind
from ..state import SymbolState
from ..thresholds import Thresholds

ABSURD_8H = 0.10  # 10 % per 8 h: no venue pays that; a unit mistake or garbage
STALE_MS = 8 * 3600 * 1000
UNITS = ("fraction", "percent")


def normalize_funding(value: float, *, unit: str = "fraction", interval_h: float = 8.0) -> float:
    """A venue's funding figure -> fraction per 8 h. ``unit``: "fraction" or "percent"."""
    if unit not in UNITS:
        raise ValueError(f"funding unit must be one of {UNITS}, not {unit!r}")
    if not interval_h > 0:
        raise ValueError(f"funding interval must be positive hours, not {interval_h!r}")
    fraction = value / 100.0 if unit == "percent" else value
    return fraction * (8.0 / interval_h)


class FundingMemory:
    __slots__ = ("armed",)

    def __init__(self) -> None:
        self.armed = True


class FundingDetector:
    __slots__ = ()

    def on_funding(self, st: SymbolState, ev: Funding, th: Thresholds) -> Finding | None:
        mem: FundingMemory | None = st.det_funding
        if mem is None:
            mem = st.det_funding = FundingMemory()
        rates = {v: f.rate_8h for v, f in st.funding.items() if ev.ts - f.ts <= STALE_MS}
        if not rates:
            return None
        mean = sum(rates.values()) / len(rates)
        if abs(mean) < th.funding_extreme:
            if abs(mean) < 0.6 * th.funding_extreme:
                mem.armed = True
            return None
        if not mem.armed:
            return None
        mem.armed = False
        extreme_venue = max(rates, key=lambda v: abs(rates[v]))
        agreeing = sum(1 for r in rates.values() if r * mean > 0 and abs(r) >= th.funding_extreme / 2)
        return Finding(
            kind=Kind.FUNDING_EXTREME,
            symbol=st.symbol,
            direction=Direction.SHORT if mean > 0 else Direction.LONG,
            ts=ev.ts,
            recv_ns=ev.recv_ns,
            magnitudes={
                "funding_8h": mean,
                "funding_max_8h": rates[extreme_venue],
                "venue_count": float(len(rates)),
                "price": st.last_price,
            },
            components={
                "funding_level": round(min(45.0, 25.0 * abs(mean) / th.funding_extreme), 1),
                "venues_agree": 15.0 if len(rates) > 1 and agreeing == len(rates) else 0.0,
            },
            venues=tuple(sorted(rates)),
            extra={"funding_by_venue": {v: rates[v] for v in sorted(rates)}},
        )
