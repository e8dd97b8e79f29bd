"""Live outcomes: persisted by OutcomeRecorder in a real SQLite file, resumed after a restart,
identical to an uninterrupted run; the outcomes migration keeps rows written before it."""
from __future__ import annotations

from pathlib import Path

import aiosqlite
import orjson
import pytest

from bot.outcomes import OutcomeRecorder, label_signal
from engine.backtest import Calibration
from engine.core import Engine
from engine.outcomes import OutcomeTracker, Result
from engine.signals import ListSink, SignalEngine
from storage import Database, OutcomeRepo, SignalRepo
from storage.migrations import LATEST_VERSION, apply_migrations
from tests.test_outcomes import T0, long_levels, signal, trade

PATH = [(1, 100.5), (3, 99.4), (5, 102.0), (9, 103.3), (12, 105.0), (15, 106.2), (20, 104.0)]


async def test_outcomes_are_stored_and_resumed_after_a_restart(tmp_path: Path):
    # the uninterrupted run, for comparison
    whole = OutcomeTracker(keep=True)
    w = whole.on_signal(signal(levels=long_levels(), price=101.5))
    for dt, p in PATH:
        whole.on_trade(trade(p, T0 + dt * 1000))
    whole.finish(T0 + 20_000)
    assert w.result is Result.WIN_T2

    db_path = tmp_path / "teleglas.db"
    async with await Database.open(db_path) as db:
        rec = OutcomeRecorder(db)
        sink = ListSink()
        tee = rec.sink(sink)
        tee.emit(signal(levels=long_levels(), price=101.5))
        assert len(sink.signals) == 1  # passed on to delivery
        for dt, p in PATH[:4]:
            rec.tracker.on_trade(trade(p, T0 + dt * 1000))
        await rec.stop()  # the service stops: every open outcome's state is written
        stored = await OutcomeRepo(db).get("s1")
        assert stored is not None and not stored.final and stored.result == "OPEN"
        assert await SignalRepo(db).get("s1") is not None  # stored even before delivery did
    async with await Database.open(db_path) as db:
        rec = OutcomeRecorder(db)
        assert await rec.resume() == 1
        rec.tracker.on_trade(trade(PATH[3][1], T0 + PATH[3][0] * 1000))
        for dt, p in PATH[4:]:
            rec.tracker.on_trade(trade(p, T0 + dt * 1000))
        rec.tracker.finish(T0 + 20_000)
        await rec.flush()
        stored = await OutcomeRepo(db).get("s1")
        assert stored.final and stored.result == "WIN_T2" and stored.hit is True
        assert stored.r == pytest.approx(w.r) and stored.mfe == pytest.approx(w.mfe_pct)
        details = orjson.loads(stored.details)
        assert details["state"]["resumed"] == 1
        assert {k: v for k, v in details["summary"].items()} == orjson.loads(orjson.dumps(w.summary()))
        assert await rec.repo.open_outcomes() == []


async def test_a_final_outcome_is_never_reopened_by_a_late_write(tmp_path: Path):
    async with await Database.open(tmp_path / "t.db") as db:
        rec = OutcomeRecorder(db)
        o = rec.tracker.on_signal(signal(levels=long_levels(), price=101.5))
        stale = o.state()
        for dt, p in [(1, 100.5), (3, 97.0), (4, 97.0)]:
            rec.tracker.on_trade(trade(p, T0 + dt * 1000))
        await rec.flush()
        assert (await rec.repo.get("s1")).result == "LOSS"
        from bot.outcomes import outcome_write
        from engine.outcomes import Outcome

        await rec.repo.save_many([outcome_write(Outcome.restore(o.signal, stale))])
        row = await rec.repo.get("s1")
        assert row.result == "LOSS" and row.final and row.r == -1.0


async def test_engine_hook_feeds_the_tracker_after_the_detectors(tmp_path: Path):
    async with await Database.open(tmp_path / "t.db") as db:
        rec = OutcomeRecorder(db)
        engine = Engine(SignalEngine(rec.sink(ListSink())))
        engine.track_outcomes(rec.tracker)
        rec.tracker.on_signal(signal(levels=long_levels(), price=100.0))
        engine.process(trade(103.5, T0 + 2000))
        engine.process(trade(0.0, T0 + 2500))  # rejected by the engine: never reaches outcomes
        engine.process(trade(103.6, T0 + 3000))
        await rec.flush()
        assert (await rec.repo.get("s1")).result == "WIN_T1"


def test_calibrated_label_only_with_enough_outcomes():
    def cal(kind_n, bucket_n):
        return Calibration({"version": 1, "bucket": 10, "kinds": {"STOP_HUNT": {
            "scored": kind_n, "buckets": [{"lo": 60, "hi": 69, "n": bucket_n, "hits": 6, "rate": 0.6}]}}})

    s = signal(levels=long_levels())  # score 60
    label_signal(s, cal(49, 20))
    assert "calibrated" not in s.extra  # the kind rests on too few outcomes: a score stays a score
    label_signal(s, cal(80, 20))
    assert s.extra["calibrated"] == {"n": 20, "rate": 0.6, "kind_n": 80}


async def test_v4_outcome_rows_survive_the_outcomes_migration(tmp_path: Path):
    path = tmp_path / "v4.db"
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        await apply_migrations(conn, target=4)
        await conn.execute(
            "INSERT INTO signals (id, kind, symbol, direction, tier, confidence, ts_event, payload, "
            "created_at) VALUES ('old', 'STOP_HUNT', 'BTC', 'LONG', 'URGENT', 80, 1, x'7b7d', 1)")
        await conn.execute("INSERT INTO outcomes (signal_id, result, mfe, mae, resolved_ts) "
                           "VALUES ('old', 'WIN', 1.0, 0.5, 2)")
    assert LATEST_VERSION >= 5
    async with await Database.open(path) as db:
        row = await OutcomeRepo(db).get("old")
        assert row is not None and row.result == "WIN" and row.final and row.hit is None
        assert await OutcomeRepo(db).open_outcomes() == []
