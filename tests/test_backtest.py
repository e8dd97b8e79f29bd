"""teleglas backtest / replay --json (shape of the JSON, the report's figures), the report's
statistics, and outcomes recomputed by hand (stdlib only) from a real recording."""
from __future__ import annotations

import gzip
import json

import pytest

from bot.cli import main
from engine.backtest import Calibration, build_report, calibration, wilson
from engine.events import Trade
from engine.feeds.replay import ReplayFeed
from engine.outcomes import HORIZONS_S, OutcomeTracker, Result
from engine.signals import Direction, Kind
from tests.paths import real_file
from tests.test_outcomes import long_levels, run, signal

SIGNAL_KEYS = {"id", "kind", "symbol", "direction", "tier", "score", "ts", "recv_ns", "signal_ns",
               "magnitudes", "levels", "venues", "thread", "upgrades", "edits", "default_delivery",
               "default_skip"}
GROUP_KEYS = {"count", "resolved", "scored", "hits", "hit_rate", "hit_rate_ci95", "avg_r",
              "median_mfe_pct", "median_mae_pct", "median_mfe_r", "median_mae_r", "median_ttr_s",
              "results", "best", "worst"}


@pytest.mark.parametrize("hits, n, low, high", [
    (0, 0, None, None),
    (5, 10, 0.2366, 0.7634),  # textbook values
    (0, 10, 0.0, 0.2775),
    (10, 10, 0.7225, 1.0),
])
def test_wilson_interval(hits, n, low, high):
    ci = wilson(hits, n)
    if n == 0:
        assert ci is None
    else:
        assert ci[0] == pytest.approx(low, abs=1e-4) and ci[1] == pytest.approx(high, abs=1e-4)


def test_report_groups_and_calibration():
    outs = [
        run(signal(sid="w", levels=long_levels(), price=100.0), [(2, 103.1)]),  # WIN_T1
        run(signal(sid="l", levels=long_levels(), price=100.0), [(2, 97.0)]),  # LOSS
        run(signal(sid="n", levels=long_levels(expires=1), price=102.0), [(2, 102.5)]),  # NOT_FILLED
    ]
    assert [o.result for o in outs] == [Result.WIN_T1, Result.LOSS, Result.NOT_FILLED]
    report = build_report(outs, latencies_us=[10.0, 20.0, 30.0])
    (g,) = report["groups"]
    assert set(g) >= GROUP_KEYS | {"kind", "tier"}
    assert (g["count"], g["resolved"], g["scored"], g["hits"]) == (3, 3, 2, 1)
    assert g["hit_rate"] == 0.5 and g["avg_r"] == pytest.approx(0.25)
    assert report["latency_us"]["p50"] == 20.0
    cal = calibration(outs)
    assert cal["buckets"] == [{"lo": 60, "hi": 69, "n": 2, "hits": 1, "rate": 0.5}]
    assert cal["brier_score_as_probability"] == pytest.approx(((0.6 - 1) ** 2 + 0.6 ** 2) / 2)
    assert cal["brier_binned"] == pytest.approx(0.25)


def test_backtest_simulator_json_shape_and_calibration_file(capsys, tmp_path):
    cal_path = tmp_path / "cal.json"
    assert main(["backtest", "--simulator", "--minutes", "30", "--json", "--no-progress",
                 "--write-calibration", str(cal_path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["source"] == "simulator" and report["events"]["processed"] > 0
    assert report["signals"] == len(report["signal_list"]) > 0
    assert report["outcomes"] == report["signals"] - report["edits"]
    for s in report["signal_list"]:
        assert set(s) == SIGNAL_KEYS | {"outcome"}
        assert isinstance(s["default_delivery"], bool)
        assert s["outcome"] is None or s["outcome"]["signal_id"] == s["id"]
    for g in report["groups"]:
        assert set(g) >= GROUP_KEYS
    assert report["latency_us"]["n"] == report["signals"]
    loaded = Calibration.load(cal_path)
    assert loaded.data["source"].startswith("simulator seed 7")


def test_backtest_refuses_bad_arguments(capsys):
    assert main(["backtest"]) == 2
    assert "FILE or --simulator" in capsys.readouterr().err
    assert main(["backtest", "--simulator", "--since", "yesterday"]) == 2
    assert "not a time" in capsys.readouterr().err
    assert main(["backtest", "/no/such/file.gz"]) == 2


def test_replay_json_on_a_real_tape_writes_only_json(capsys):
    path = real_file("btcusdt_20240808.gz")
    assert main(["replay", str(path), "--json"]) == 0
    out, err = capsys.readouterr()
    for line in out.splitlines():
        assert set(json.loads(line)) == SIGNAL_KEYS
    assert "signals:" in err and "events: 21,313" in err


def test_backtest_since_until_cut_the_tape(capsys):
    path = real_file("btcusdt_20240808.gz")
    assert main(["backtest", str(path), "--json", "--no-progress", "--since", "2024-08-08T23:56:00Z",
                 "--until", "1723161480000"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["first_event"] >= "2024-08-08T23:56:00" and report["last_event"] <= "2024-08-08T23:58:00+00:00"
    assert report["events"]["outside_since_until"] > 0


def _raw_trades(path):
    """(ts ms, price) of every trade in file order, read with the stdlib only."""
    out = []
    with gzip.open(path, "rt") as fh:
        for line in fh:
            _, _, frame = line.partition(" ")
            msg = json.loads(frame)
            data = msg.get("data") or {}
            if data.get("e") == "trade":
                out.append((int(data["T"]), float(data["p"])))
    return out


def test_outcomes_recomputed_by_hand_from_a_real_tape():
    """Five directional signals opened at fixed points of the real BTC tape: their 1 m / 5 m
    returns and excursions, recomputed from the raw JSON with the stdlib, match the tracker."""
    path = real_file("btcusdt_20240808.gz")
    raw = _raw_trades(path)
    trades = [ev for batch in ReplayFeed(path).events() for ev in batch if type(ev) is Trade]
    assert [(t.ts, t.price) for t in trades] == raw
    t0 = raw[0][0]
    opens = {}
    for k, at_s in enumerate((20, 45, 90, 150, 240)):
        opens[next(i for i, (ts, _) in enumerate(raw) if ts >= t0 + at_s * 1000)] = (
            Direction.LONG if k % 2 == 0 else Direction.SHORT)
    tracker = OutcomeTracker(keep=True)
    by_index = {}
    for i, ev in enumerate(trades):
        tracker.on_trade(ev)
        if i in opens:
            by_index[i] = tracker.on_signal(signal(kind=Kind.WHALE_WINDOW, direction=opens[i], ts=ev.ts,
                                                   price=ev.price, sid=f"h{i}"))
    tracker.finish(trades[-1].ts)
    end_sec = raw[-1][0] // 1000
    for i, o in by_index.items():
        ts0, p0 = raw[i]
        sign = 1 if opens[i] is Direction.LONG else -1
        later = raw[i + 1:]
        for h, horizon in enumerate(HORIZONS_S):
            tsec = (ts0 + horizon * 1000) // 1000
            if tsec >= end_sec:  # decided only once a later second trades
                assert o.returns[h] is None
                continue
            px = p0
            for ts, p in later:
                if ts // 1000 <= tsec:
                    px = p
            assert o.returns[h] == pytest.approx(sign * (px / p0 - 1) * 100, abs=1e-9), (i, horizon)
        window = [p for ts, p in later if ts <= ts0 + 3_600_000]
        best = max(window) if sign > 0 else min(window)
        worst = min(window) if sign > 0 else max(window)
        assert o.mfe_pct == pytest.approx(max(0.0, sign * (best / p0 - 1) * 100), abs=1e-9)
        assert o.mae_pct == pytest.approx(max(0.0, -sign * (worst / p0 - 1) * 100), abs=1e-9)


def test_replay_json_one_object_per_signal(capsys, tmp_path):
    from tests.test_app_e2e import write_cascade_recording

    rec = tmp_path / "cascade.gz"
    write_cascade_recording(rec, 1_767_225_600_000)
    assert main(["replay", str(rec), "--json"]) == 0
    out, _ = capsys.readouterr()
    objects = [json.loads(line) for line in out.splitlines()]
    assert objects and all(set(o) == SIGNAL_KEYS for o in objects)
    first = objects[0]
    assert first["kind"] == "LIQUIDATION_CASCADE" and first["symbol"] == "BTC"
    assert first["ts"] >= 1_767_225_600_000 and first["magnitudes"]["liq_usd"] >= 2_000_000
    assert first["default_delivery"] is True and first["default_skip"] is None
