"""The backtest report: outcomes grouped by kind and tier, hit rates with Wilson intervals, R,
excursions, time to resolution, the engine's latency, and a score -> hit-rate calibration.

Pure functions over ``engine.outcomes.Outcome`` lists (no I/O); ``bot/cli.py`` runs the engine
over a recording or the simulator and prints what these return. ``Calibration`` is the file
``teleglas backtest --write-calibration`` writes and ``CALIBRATION_PATH`` loads.

A hit: WIN_T1 or WIN_T2 for setups with levels (out of WIN_T1 + WIN_T2 + LOSS + EXPIRED; a
setup whose entry never filled is no trade and is left out); HIT for the others (the signed
return at the kind's primary horizon beat the coin's noise band, out of HIT + MISS + FLAT).
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

from .outcomes import HORIZON_NAMES, HORIZONS_S, Outcome, Result, is_scored

Z95 = 1.959963984540054
CALIBRATION_BUCKET = 10  # score points per calibration bucket
CALIBRATION_MIN_KIND = 50  # scored outcomes a kind needs before its hit rates are shown to users
CALIBRATION_MIN_BUCKET = 10  # scored outcomes a score bucket needs


def wilson(hits: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for a binomial proportion (None when n = 0)."""
    if n <= 0:
        return None
    p = hits / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _median(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return median(vals) if vals else None


def _mean(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def group_stats(outcomes: list[Outcome]) -> dict[str, Any]:
    """count, resolved, scored, hits, hit rate + 95 % interval, avg R, medians, results."""
    decided = [o for o in outcomes if o.result is not Result.OPEN]
    scored = [o for o in decided if is_scored(o.result, o.has_levels)]
    hits = sum(1 for o in scored if o.hit)
    ci = wilson(hits, len(scored))
    results: dict[str, int] = {}
    for o in outcomes:
        results[o.result.value] = results.get(o.result.value, 0) + 1
    rs = [o.r for o in scored if o.r is not None]
    best = max(scored, key=lambda o: o.r if o.r is not None else (o.returns[_primary(o)] or 0.0), default=None)
    worst = min(scored, key=lambda o: o.r if o.r is not None else (o.returns[_primary(o)] or 0.0), default=None)
    return {
        "count": len(outcomes),
        "resolved": len(decided),
        "scored": len(scored),
        "hits": hits,
        "hit_rate": hits / len(scored) if scored else None,
        "hit_rate_ci95": list(ci) if ci else None,
        "avg_r": sum(rs) / len(rs) if rs else None,
        "median_mfe_pct": _median(o.mfe_pct for o in decided),
        "median_mae_pct": _median(o.mae_pct for o in decided),
        "median_mfe_r": _median(o.mfe_r for o in decided),
        "median_mae_r": _median(o.mae_r for o in decided),
        "median_ttr_s": _median(o.ttr_s for o in scored),
        "results": dict(sorted(results.items())),
        "best": None if best is None else best.signal.id,
        "worst": None if worst is None else worst.signal.id,
    }


def _primary(o: Outcome) -> int:
    return HORIZONS_S.index(o.primary_s) if o.primary_s in HORIZONS_S else len(HORIZONS_S) - 1


def _beat(ret: float | None, noise: float | None) -> bool:
    return ret is not None and noise is not None and ret > noise


def horizon_stats(outcomes: list[Outcome]) -> dict[str, dict[str, Any]]:
    """Signals without levels, per horizon: how many reached it, the share that beat the noise
    band in their direction, and the mean signed return."""
    out: dict[str, dict[str, Any]] = {}
    directional = [o for o in outcomes if not o.has_levels and o.d != 0]
    for h, name in enumerate(HORIZON_NAMES):
        reached = [o for o in directional if o.returns[h] is not None]
        banded = [o for o in reached if o.noise[h] is not None]
        beat = sum(1 for o in banded if _beat(o.returns[h], o.noise[h]))
        out[name] = {
            "reached": len(reached),
            "with_band": len(banded),
            "beat_noise": beat,
            "beat_rate": beat / len(banded) if banded else None,
            "mean_return_pct": _mean(o.returns[h] for o in reached),
        }
    return out


def calibration(outcomes: list[Outcome], bucket: int = CALIBRATION_BUCKET) -> dict[str, Any]:
    """Score bucket -> observed hit rate (binned, per kind and overall) and Brier scores: the raw
    score read as a probability (score/100) and the binned rates (in-sample)."""
    scored = [o for o in outcomes if is_scored(o.result, o.has_levels)]

    def table(items: list[Outcome]) -> list[dict[str, Any]]:
        rows: dict[int, list[int]] = {}
        for o in items:
            lo = min(100 // bucket * bucket, o.signal.confidence // bucket * bucket)
            cell = rows.setdefault(lo, [0, 0])
            cell[0] += 1
            cell[1] += 1 if o.hit else 0
        return [{"lo": lo, "hi": min(100, lo + bucket - 1), "n": n, "hits": h, "rate": h / n}
                for lo, (n, h) in sorted(rows.items())]

    def brier(items: list[Outcome], rows: list[dict[str, Any]]) -> tuple[float | None, float | None]:
        if not items:
            return None, None
        rate = {r["lo"]: r["rate"] for r in rows}
        raw = sum((o.signal.confidence / 100 - (1.0 if o.hit else 0.0)) ** 2 for o in items) / len(items)
        cal = sum((rate[min(100 // bucket * bucket, o.signal.confidence // bucket * bucket)]
                   - (1.0 if o.hit else 0.0)) ** 2 for o in items) / len(items)
        return raw, cal

    overall = table(scored)
    raw, cal = brier(scored, overall)
    kinds: dict[str, dict[str, Any]] = {}
    for kind in sorted({o.signal.kind.value for o in scored}):
        items = [o for o in scored if o.signal.kind.value == kind]
        rows = table(items)
        k_raw, k_cal = brier(items, rows)
        kinds[kind] = {"scored": len(items), "buckets": rows, "brier_score_as_probability": k_raw,
                       "brier_binned": k_cal}
    return {"method": "binned", "bucket": bucket, "scored": len(scored), "buckets": overall,
            "brier_score_as_probability": raw, "brier_binned": cal, "kinds": kinds}


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = min(len(s) - 1, max(0, math.ceil(q / 100 * len(s)) - 1))
    return s[k]


def build_report(outcomes: list[Outcome], *, latencies_us: list[float] | None = None,
                 meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The whole report as plain data (``--json`` prints exactly this)."""
    by_group: dict[tuple[str, str], list[Outcome]] = {}
    by_kind: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_group.setdefault((o.signal.kind.value, o.signal.tier.value), []).append(o)
        by_kind.setdefault(o.signal.kind.value, []).append(o)
    lat = latencies_us or []
    return {
        "outcomes": len(outcomes),
        **(meta or {}),
        "latency_us": {"n": len(lat), "p50": percentile(lat, 50), "p90": percentile(lat, 90),
                       "p99": percentile(lat, 99), "max": max(lat) if lat else None},
        "groups": [{"kind": k, "tier": t, **group_stats(v)} for (k, t), v in sorted(by_group.items())],
        "kinds": [{"kind": k, **group_stats(v), "horizons": horizon_stats(v)}
                  for k, v in sorted(by_kind.items())],
        "all": group_stats(outcomes),
        "calibration": calibration(outcomes),
    }


def _fmt(value: float | None, spec: str, none: str = "–") -> str:
    return none if value is None else format(value, spec)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def format_report(report: Mapping[str, Any]) -> str:
    """The report as a terminal table."""
    lines = []
    head = (f"{'kind':<20} {'tier':<6} {'count':>5} {'resolved':>8} {'hit rate':>8} {'95% CI':>11} "
            f"{'avg R':>6} {'MFE%':>6} {'MAE%':>6} {'TTR':>7}")
    lines.append(head)
    lines.append("─" * len(head))
    for g in report["groups"] + [{"kind": "ALL", "tier": "", **report["all"]}]:
        ci = g["hit_rate_ci95"]
        ttr = g["median_ttr_s"]
        lines.append(
            f"{g['kind']:<20} {g['tier']:<6} {g['count']:>5} {g['resolved']:>8} "
            f"{_pct(g['hit_rate']):>8} {('–' if ci is None else f'{ci[0]*100:.0f}–{ci[1]*100:.0f}%'):>11} "
            f"{_fmt(g['avg_r'], '+.2f'):>6} {_fmt(g['median_mfe_pct'], '.2f'):>6} "
            f"{_fmt(g['median_mae_pct'], '.2f'):>6} {('–' if ttr is None else f'{ttr:.0f}s'):>7}")
    lines.append("(hit rate = hits / scored; scored = decided outcomes that count: setups that filled, "
                 "directional signals with a noise band; MFE/MAE/TTR are medians)")
    directional = [k for k in report["kinds"] if any(h["reached"] for h in k["horizons"].values())]
    if directional:
        lines.append("")
        lines.append("beat the noise band in the signal's direction, per horizon (beat / with band):")
        for k in directional:
            cells = [f"{name} {h['beat_noise']}/{h['with_band']}" for name, h in k["horizons"].items()]
            lines.append(f"  {k['kind']:<20} " + " · ".join(cells))
    cal = report["calibration"]
    lines.append("")
    lines.append(f"calibration ({cal['method']}, buckets of {cal['bucket']} score points, "
                 f"{cal['scored']} scored outcomes):")
    for row in cal["buckets"]:
        lines.append(f"  score {row['lo']:>3}–{row['hi']:<3} n={row['n']:<5} hit rate {row['rate'] * 100:5.1f}%")
    lines.append(f"  Brier score: {_fmt(cal['brier_score_as_probability'], '.3f')} reading the score as a "
                 f"probability, {_fmt(cal['brier_binned'], '.3f')} with the binned rates (in-sample)")
    lat = report["latency_us"]
    if lat["n"]:
        lines.append("")
        lines.append(f"engine latency, event in -> signal out (n={lat['n']}): p50 {lat['p50']:.0f} µs · "
                     f"p90 {lat['p90']:.0f} µs · p99 {lat['p99']:.0f} µs · max {lat['max']:.0f} µs")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- calibration file


@dataclass(frozen=True, slots=True)
class CalibratedRate:
    n: int  # scored outcomes in this score bucket
    rate: float  # their hit rate
    kind_n: int  # scored outcomes of the kind


class Calibration:
    """Score -> observed hit rate per kind, from ``teleglas backtest --write-calibration``.

    ``lookup`` answers only when the kind rests on >= ``CALIBRATION_MIN_KIND`` scored outcomes
    and the score's bucket on >= ``CALIBRATION_MIN_BUCKET``; otherwise the score stays a score.
    """

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.bucket = int(data.get("bucket", CALIBRATION_BUCKET))
        self._kinds: dict[str, tuple[int, dict[int, tuple[int, float]]]] = {}
        for kind, entry in (data.get("kinds") or {}).items():
            rows = {int(r["lo"]): (int(r["n"]), float(r["rate"])) for r in entry.get("buckets", ())}
            self._kinds[kind] = (int(entry.get("scored", 0)), rows)

    @classmethod
    def from_report(cls, report: Mapping[str, Any], source: str) -> Calibration:
        cal = report["calibration"]
        return cls({"version": 1, "method": cal["method"], "bucket": cal["bucket"], "source": source,
                    "kinds": {k: {"scored": v["scored"], "buckets": v["buckets"]}
                              for k, v in cal["kinds"].items()}})

    @classmethod
    def load(cls, path: str | Path) -> Calibration:
        """Raises ValueError with a sentence naming the file when it is unreadable."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("version") != 1:
                raise ValueError("not a version 1 calibration file")
            return cls(data)
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ValueError(f"calibration file {path}: {e}") from e

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.data, indent=1, sort_keys=True) + "\n", encoding="utf-8")

    def lookup(self, kind: str, score: int) -> CalibratedRate | None:
        entry = self._kinds.get(kind)
        if entry is None or entry[0] < CALIBRATION_MIN_KIND:
            return None
        lo = min(100 // self.bucket * self.bucket, int(score) // self.bucket * self.bucket)
        cell = entry[1].get(lo)
        if cell is None or cell[0] < CALIBRATION_MIN_BUCKET:
            return None
        return CalibratedRate(cell[0], cell[1], entry[0])
