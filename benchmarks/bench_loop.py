"""uvloop against asyncio's own loop on the live path: a Binance WebSocket feed into the engine.

    .venv/bin/python benchmarks/bench_loop.py [--frames 200000] [--repeat 3]

A local WebSocket server (its own process, 127.0.0.1) streams real Binance trade frames (the trade
lines of ../shared/data/real/btcusdt_20240808.gz, looped and time-shifted; synthetic ones when
that file is absent) to every client as fast as TCP takes them. The client is the real
``BinanceFeed`` (routed URL, websockets, parse at the edge) driven by ``run_feeds`` into the real
``Engine`` — what ``teleglas run`` does per frame — in a child process on each loop in turn, so
each figure is that process's own CPU time (user + system) per frame, and the frames per second
it kept up with. Best of ``--repeat`` runs per loop.

Then the bot side: ``bench_fanout.py`` (one signal to ``--fanout-users`` users through the real
Delivery, SQLite outbox and aiogram to the local Bot API double at 1,000 msg/s) on each loop —
its total time, time to the first delivery and the process's CPU seconds.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
REAL_TAPE = ROOT.parent / "shared" / "data" / "real" / "btcusdt_20240808.gz"


def trade_frames(n: int) -> list[bytes]:
    import gzip

    import orjson

    lines = []
    if REAL_TAPE.is_file():
        with gzip.open(REAL_TAPE, "rb") as fh:
            lines = [orjson.loads(line.partition(b" ")[2]) for line in fh if b'"e":"trade"' in line]
    if not lines:
        lines = [{"stream": "btcusdt@aggTrade", "data": {"e": "aggTrade", "E": 1, "s": "BTCUSDT", "a": i,
                  "p": f"{60000 + i % 50}.5", "q": "0.01", "f": i, "l": i, "T": 1, "m": i % 3 == 0}}
                 for i in range(1000)]
    now_ms = time.time_ns() // 1_000_000
    first = lines[0]["data"]["T"]
    out = []
    i = 0
    while len(out) < n:
        msg = lines[i % len(lines)]
        data = dict(msg["data"])
        # stamped in the recent past, so the engine's clock guard takes them as live frames
        data["E"] = data["T"] = now_ms - 60_000 + (data["T"] - first) % 50_000
        out.append(orjson.dumps({"stream": msg["stream"], "data": data}))
        i += 1
    return out


async def serve(n: int) -> None:
    from websockets.asyncio.server import serve as ws_serve

    frames = trade_frames(n)

    async def handler(ws) -> None:
        for i in range(0, len(frames), 256):
            for raw in frames[i:i + 256]:
                await ws.send(raw.decode())
        await ws.wait_closed()

    async with ws_serve(handler, "127.0.0.1", 0, ping_interval=None, max_size=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Event().wait()


async def client(url: str, n: int) -> dict:
    from engine.core import Engine, run_feeds
    from engine.feeds.binance import BinanceFeed
    from engine.feeds.registry import SubscriptionRegistry
    from engine.signals import ListSink, SignalEngine

    engine = Engine(SignalEngine(ListSink()))
    feed = BinanceFeed(url, SubscriptionRegistry({"BTC"}), None)
    task = asyncio.create_task(run_feeds(engine, [feed]))
    while engine.stats.events == 0:  # noqa: ASYNC110 — polls a figure with no event to wait on
        await asyncio.sleep(0.001)
    c0, w0, e0 = time.process_time(), time.perf_counter(), engine.stats.events
    while engine.stats.events < n and not task.done():  # noqa: ASYNC110 — polls a figure with no event to wait on
        await asyncio.sleep(0.01)
    cpu, wall, done = time.process_time() - c0, time.perf_counter() - w0, engine.stats.events - e0
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return {"frames": done, "cpu_us_per_frame": cpu / done * 1e6, "frames_per_s": done / wall,
            "loop": type(asyncio.get_running_loop()).__module__.split(".")[0]}


def measure(frames: int = 200_000, repeat: int = 3) -> dict:
    """{loop: best result} for asyncio and uvloop (uvloop absent: its entry says so)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(frames)], stdout=subprocess.PIPE, env=env)
    try:
        port = int(server.stdout.readline())
        url = f"ws://127.0.0.1:{port}/market/stream"
        results: dict = {}
        for _ in range(repeat):
            for loop in ("asyncio", "uvloop"):
                out = subprocess.run([sys.executable, __file__, "--client", url, "--loop", loop, "--frames",
                                      str(frames)], capture_output=True, text=True, env=env)
                if out.returncode:
                    results[loop] = {"error": out.stderr.strip().splitlines()[-1]}
                    continue
                r = json.loads(out.stdout.strip().splitlines()[-1])
                if r["loop"] != loop:
                    results[loop] = {"error": f"{loop} not installed"}
                    continue
                best = results.get(loop)
                if best is None or r["cpu_us_per_frame"] < best["cpu_us_per_frame"]:
                    results[loop] = r
        return results
    finally:
        server.terminate()
        server.wait()


FANOUT = """
import asyncio, runpy, sys
from bot.loop import loop_factory
factory = loop_factory(sys.argv[1])
if factory is not None:
    import uvloop
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())  # bench_fanout calls asyncio.run
sys.argv = ["bench_fanout.py", "--users", sys.argv[2], "--skip-steady"]
runpy.run_path("benchmarks/bench_fanout.py", run_name="__main__")
"""


def measure_fanout(users: int = 1000, repeat: int = 1) -> dict:
    """{loop: {total_s, first_ms, cpu_s}} for bench_fanout on each loop (best total of ``repeat``)."""
    import re
    import resource

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    results: dict = {}
    for _ in range(repeat):
        for loop in ("asyncio", "uvloop"):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            out = subprocess.run([sys.executable, "-c", FANOUT, loop, str(users)], capture_output=True, text=True,
                                 env=env, cwd=ROOT)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            total = re.search(r"total time:\s+([\d.]+) s", out.stdout)
            first = re.search(r"time to first delivery:\s+([\d.]+) ms", out.stdout)
            if out.returncode or not total:
                results[loop] = {"error": (out.stderr.strip().splitlines() or ["no output"])[-1]}
                continue
            r = {"total_s": float(total.group(1)), "first_ms": float(first.group(1)) if first else float("nan"),
                 "cpu_s": after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, "users": users}
            if loop not in results or r["total_s"] < results[loop].get("total_s", float("inf")):
                results[loop] = r
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--fanout-users", type=int, default=1000, help="0 skips the fan-out comparison")
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--client", help=argparse.SUPPRESS)
    ap.add_argument("--loop", default="asyncio", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve))
        return
    if args.client:
        from bot.loop import run

        print(json.dumps(run(client(args.client, args.frames), args.loop)))
        return
    results = measure(args.frames, args.repeat)
    for loop, r in results.items():
        if "error" in r:
            print(f"{loop:<8} {r['error']}")
        else:
            print(f"{loop:<8} {r['cpu_us_per_frame']:6.1f} µs CPU per frame   {r['frames_per_s']:>9,.0f} frames/s "
                  f"({r['frames']:,} Binance trade frames: websocket -> parse -> engine)")
    if "cpu_us_per_frame" in results.get("asyncio", {}) and "cpu_us_per_frame" in results.get("uvloop", {}):
        gain = 1 - results["uvloop"]["cpu_us_per_frame"] / results["asyncio"]["cpu_us_per_frame"]
        print(f"uvloop: {-gain:+.0%} CPU per frame against asyncio's loop")
    if args.fanout_users:
        for loop, r in measure_fanout(args.fanout_users, args.repeat).items():
            if "error" in r:
                print(f"{loop:<8} fan-out: {r['error']}")
            else:
                print(f"{loop:<8} fan-out to {r['users']:,} users: total {r['total_s']:.2f} s, first delivery "
                      f"{r['first_ms']:.0f} ms, process CPU {r['cpu_s']:.2f} s")


if __name__ == "__main__":
    main()
