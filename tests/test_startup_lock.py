"""Case 5 of issue 11: a database locked by another process at start-up is waited for (bounded),
then the service exits 1 — which the systemd unit restarts — never 2."""
import sqlite3

import pytest

from bot.app import open_database
from bot.cli import main
from bot.errors import StartupError
from storage import Database


class FakeTime:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []
        self.on_sleep = None

    def clock(self):
        return self.now

    async def sleep(self, s):
        self.sleeps.append(s)
        self.now += s
        if self.on_sleep:
            self.on_sleep()


def hold_write_lock(path):
    """Another connection (as another process would) holding the write lock."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    return other


async def make_db(path):
    db = await Database.open(path)
    await db.close()


async def test_start_up_waits_for_the_lock_then_gives_up_with_exit_code_1(tmp_path):
    path = tmp_path / "teleglas.db"
    await make_db(path)
    other = hold_write_lock(path)
    t = FakeTime()
    try:
        with pytest.raises(StartupError) as err:
            await open_database(str(path), wait_s=30, attempt_ms=0, clock=t.clock, sleep=t.sleep)
    finally:
        other.close()
    assert err.value.exit_code == 1 and "locked by another process" in str(err.value)
    assert "DATABASE_PATH" in str(err.value)
    assert 29 <= sum(t.sleeps) <= 30 and len(t.sleeps) >= 29  # retried for the whole bounded wait


async def test_start_up_proceeds_once_the_other_process_lets_go(tmp_path):
    path = tmp_path / "teleglas.db"
    await make_db(path)
    other = hold_write_lock(path)
    t = FakeTime()
    t.on_sleep = lambda: other.rollback() if len(t.sleeps) == 3 else None
    try:
        db = await open_database(str(path), wait_s=30, attempt_ms=0, clock=t.clock, sleep=t.sleep)
        await db.close()
    finally:
        other.close()
    assert len(t.sleeps) == 3


def test_teleglas_run_exits_1_not_2_on_a_locked_database(tmp_path, monkeypatch):
    import bot.app

    path = tmp_path / "teleglas.db"
    import asyncio
    asyncio.run(make_db(path))
    other = hold_write_lock(path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("DATABASE_PATH", str(path))
    monkeypatch.setenv("TELEGRAM_API_BASE", "http://127.0.0.1:9")
    monkeypatch.setattr(bot.app, "DB_LOCK_WAIT_S", 0.0)  # one attempt: the exit code is the point
    try:
        assert main(["run"]) == 1
    finally:
        other.close()


async def test_a_new_database_file_is_private(tmp_path):
    import os
    import stat

    path = tmp_path / "teleglas.db"
    db = await Database.open(path)
    await db.execute("CREATE TABLE IF NOT EXISTS t (x)")
    await db.close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
