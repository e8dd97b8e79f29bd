"""`teleglas run` start-up: process start -> getMe -> first getUpdates, against the local Bot API double.

    .venv/bin/python benchmarks/bench_startup.py [--repeat 3]

A real ``python -m bot`` child process (MARKET_SOURCES=simulator, a fresh SQLite file in a temp
directory, no network: the Bot API is tests/botapi.py's double on 127.0.0.1 in this process). The
times are when the double received the calls, from the moment the child was spawned; the child
is then stopped with SIGTERM. Best of ``--repeat``, and the child's CPU seconds for that run.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.botapi import TOKEN, BotAPIDouble  # noqa: E402


async def once(loop_choice: str = "auto") -> dict:
    async with BotAPIDouble(max_seconds=120) as api:
        with tempfile.TemporaryDirectory(prefix="teleglas-start-") as tmp:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "MARKET_", "DATABASE_"))}
            env.update(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE=api.base, MARKET_SOURCES="simulator",
                       DATABASE_PATH=str(Path(tmp) / "teleglas.db"), METRICS_ADDR="", LOG_LEVEL="WARNING",
                       PYTHONPATH=str(ROOT), TELEGLAS_LOOP=loop_choice, NOTIFY_SOCKET="")
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.monotonic()
            proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", cwd=tmp, env=env,
                                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                ok = await api.wait_for(lambda: bool(api.calls_of("getUpdates")), timeout=90)
            finally:
                if proc.returncode is None:
                    proc.send_signal(signal.SIGTERM)
                err = (await proc.communicate())[1]
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if not ok:
                raise SystemExit(f"no getUpdates within 90 s:\n{err.decode()[-2000:]}")
            return {"getme_s": api.calls_of("getMe")[0].at - t0, "getupdates_s": api.calls_of("getUpdates")[0].at - t0,
                    "cpu_s": after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime}


def measure(repeat: int = 3, loop_choice: str = "auto") -> dict:
    runs = [asyncio.run(once(loop_choice)) for _ in range(repeat)]
    return min(runs, key=lambda r: r["getupdates_s"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    r = measure(args.repeat)
    print(f"teleglas run: getMe after {r['getme_s']:.2f} s, first getUpdates after {r['getupdates_s']:.2f} s "
          f"(process CPU {r['cpu_s']:.2f} s incl. shutdown; best of {args.repeat})")


if __name__ == "__main__":
    main()
