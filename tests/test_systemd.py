"""systemd for real (issue 11): the notify protocol spoken to a local AF_UNIX datagram socket
(bot/systemd.py writes sd_notify's few lines itself, no dependency), the watchdog that stops
pinging when the engine stops advancing, and the shipped unit / .env files."""
import asyncio
import os
import re
import shutil
import socket
import stat
import subprocess
from pathlib import Path

import pytest
from dotenv import dotenv_values

from bot.app import run_app
from bot.ops import EngineProgress
from bot.systemd import notify, watchdog_loop, watchdog_period_s
from config.settings import Settings
from tests.botapi import TOKEN, BotAPIDouble

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "config" / "teleglas.service"
CLOSED = "127.0.0.1:9"


def listener(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.setblocking(False)
    return sock


def test_notify_sends_one_datagram_to_a_path_or_abstract_socket(tmp_path):
    path = str(tmp_path / "notify")
    with listener(path) as sock:
        assert notify("READY=1\nSTATUS=up", {"NOTIFY_SOCKET": path})
        assert sock.recv(4096) == b"READY=1\nSTATUS=up"
    name = f"teleglas-test-{os.getpid()}"
    with listener("\0" + name) as sock:
        assert notify("WATCHDOG=1", {"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(4096) == b"WATCHDOG=1"
    assert not notify("READY=1", {})  # not under systemd: a no-op
    assert not notify("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "gone")})  # never raises


def test_watchdog_period_is_half_of_watchdog_sec_and_only_for_this_process():
    assert watchdog_period_s({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert watchdog_period_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}) == 15.0
    assert watchdog_period_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_period_s({}) is None and watchdog_period_s({"WATCHDOG_USEC": "0"}) is None


class Stats:
    batches = 0


class FakeEngine:
    stats = Stats()


async def test_pings_stop_while_the_engine_does_not_advance_and_resume_when_it_does():
    now = [0.0]
    depth = [0]
    engine = FakeEngine()
    progress = EngineProgress(engine, lambda: depth[0], stall_s=20, clock=lambda: now[0])
    sent = []
    ticks = 0

    async def sleep(s):  # 10 s per tick on the injected clock; the script drives the engine
        nonlocal ticks
        ticks += 1
        now[0] += s
        if ticks == 2:
            depth[0] = 5  # batches wait in the queue and the engine processes none of them
        if ticks == 7:
            engine.stats.batches += 1  # it advances again
        if ticks == 9:
            raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await watchdog_loop(progress.advancing, 10.0, send=lambda m: sent.append((ticks, m)), sleep=sleep)
    # last seen fine at tick 1 (t=10 s); stalled 10 s at tick 2, 20 s at tick 3 (still within
    # stall_s), 30-50 s at ticks 4-6 -> no pings; it advances at tick 7 -> pings again
    assert [t for t, _ in sent] == [1, 2, 3, 7, 8]
    assert {m for _, m in sent} == {"WATCHDOG=1"}


async def test_the_service_says_ready_pings_the_watchdog_and_says_stopping(tmp_path, monkeypatch):
    path = str(tmp_path / "notify")
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", "100000")  # a ping every 50 ms
    db_path = tmp_path / "state" / "teleglas.db"
    db_path.parent.mkdir()
    loop = asyncio.get_running_loop()
    messages: list[str] = []
    with listener(path) as sock:
        async def read_until(pred):
            while not pred():
                messages.append((await loop.sock_recv(sock, 4096)).decode())

        async with BotAPIDouble(max_seconds=30) as api:
            settings = Settings(_env_file=None, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE=api.base,
                                MARKET_SOURCES="simulator", DATABASE_PATH=str(db_path),
                                BINANCE_REST_URL=f"http://{CLOSED}", OKX_REST_URL=f"http://{CLOSED}")
            stop = asyncio.Event()
            app = asyncio.create_task(run_app(settings, polling_timeout=1, handle_signals=False, stop=stop))
            try:
                async with asyncio.timeout(20):
                    await read_until(lambda: messages.count("WATCHDOG=1") >= 2)
            finally:
                stop.set()
                assert await asyncio.wait_for(app, 20) == 0
            async with asyncio.timeout(5):
                await read_until(lambda: "STOPPING=1" in messages)
    ready = [m for m in messages if m.startswith("READY=1")]
    assert len(ready) == 1 and "STATUS=running: 1 feeds" in ready[0]
    assert messages.index(ready[0]) < messages.index("WATCHDOG=1")
    assert api.calls_of("getMe") and api.calls_of("setMyCommands")  # READY came after the bot started
    assert stat.S_IMODE(os.stat(db_path).st_mode) == 0o600


def unit_directives() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            out.setdefault(key, []).append(value)
    return out


def test_the_unit_is_type_notify_with_a_watchdog_and_restarts_on_every_failure_but_a_setting():
    d = unit_directives()
    assert d["Type"] == ["notify"] and d["WatchdogSec"] == ["30"] and d["NotifyAccess"] == ["main"]
    assert d["Restart"] == ["on-failure"]
    assert d["RestartPreventExitStatus"] == ["2"]  # exit 1 (locked database, dead task) restarts
    assert d["UMask"] == ["0077"] and d["StateDirectoryMode"] == ["0700"]
    assert "ReadWritePaths" not in d  # StateDirectory= alone is writable under ProtectSystem=strict
    assert int(d["TimeoutStartSec"][0]) > 30 + 20 + 30  # db lock wait + getMe + instrument lists


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_the_unit_sandbox_scores_at_most_3(tmp_path):
    copy = tmp_path / "teleglas.service"  # --offline reads the file; nothing is installed
    copy.write_text(UNIT.read_text())
    out = subprocess.run(["systemd-analyze", "security", "--offline=true", str(copy)],
                         capture_output=True, text=True, timeout=60)
    score = re.search(r"Overall exposure level for teleglas.service: ([0-9.]+)", out.stdout)
    assert score, out.stdout[-500:] + out.stderr[-500:]
    assert float(score.group(1)) <= 3.0


def systemd_environment_file(text: str) -> dict[str, str]:
    """How systemd's EnvironmentFile= reads unquoted lines: '#'/';' only start a comment at the
    start of a line; everything after the first '=' is the value (whitespace trimmed)."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, _, value = line.partition("=")
        out[key.strip()] = value.strip()
    return out


def readme_env_snippet() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("Put the settings in `.env`")
    block = text[start:].split("```", 2)[1]
    return "\n".join(line.strip() for line in block.splitlines())


@pytest.mark.parametrize("name", [".env.example", "README.md"])
def test_env_files_read_the_same_for_systemd_and_the_app(name):
    text = (ROOT / ".env.example").read_text() if name == ".env.example" else readme_env_snippet()
    ours = systemd_environment_file(text)
    theirs = {k: v or "" for k, v in dotenv_values(stream=__import__("io").StringIO(text)).items()}
    assert ours == theirs and ours
    assert "DATABASE_PATH" not in ours  # the unit's StateDirectory decides
