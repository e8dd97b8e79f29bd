"""Local venue servers for the feed tests: 127.0.0.1, an OS-chosen port, stopped by the test.

``VenueServer(protocol)`` speaks one venue's control protocol (subscription acks, heartbeat
answers, the Binance routed/legacy paths, the CoinGlass key check) and records what each client
connection sent, so tests can assert the handshake, the heartbeat and the resubscription.
Market frames are pushed by the test with ``push``; ``drop_all`` closes from the server side.
"""
from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
from websockets.asyncio.server import serve
from websockets.datastructures import Headers
from websockets.http11 import Response


@dataclass
class Conn:
    ws: object
    path: str
    query: dict
    received: list = field(default_factory=list)  # (monotonic time, text) of every client message
    subscribed: set = field(default_factory=set)
    pings: int = 0
    opened: float = field(default_factory=time.monotonic)  # server-side monotonic open / close times
    closed: float | None = None

    @property
    def messages(self) -> list:
        return [m for _, m in self.received]


class VenueServer:
    def __init__(self, protocol: str, *, answer_pings: bool = True, key: str | None = None,
                 reject: str = "frame", routed_path: str = "/market/stream", greeting: tuple = ()) -> None:
        self.protocol = protocol
        self.answer_pings = answer_pings
        self.key = key
        self.reject = reject  # coinglass bad key: "frame" (error frame + close) or "http" (401)
        self.routed_path = routed_path
        self.greeting = greeting  # frames pushed to every client right after it connects
        self.conns: list[Conn] = []
        self._server = None
        self.port = 0

    async def __aenter__(self) -> VenueServer:
        self._server = await serve(self._handler, "127.0.0.1", 0, ping_interval=None,
                                   process_request=self._process_request, max_size=None)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        self._server.close()
        await self._server.wait_closed()

    def url(self, path: str = "") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    @property
    def last(self) -> Conn:
        return self.conns[-1]

    def _process_request(self, connection, request):
        if self.protocol == "coinglass" and self.reject == "http":
            query = parse_qs(urlsplit(request.path).query)
            if query.get("cg-api-key", [None])[0] != self.key:
                return Response(401, "Unauthorized", Headers(), b"invalid api key\n")
        return None

    async def _handler(self, ws) -> None:
        parts = urlsplit(ws.request.path)
        conn = Conn(ws, parts.path, parse_qs(parts.query))
        if self.protocol == "binance" and parts.path == self.routed_path and "streams" in conn.query:
            conn.subscribed.update(conn.query["streams"][0].split("/"))
        self.conns.append(conn)
        if self.protocol == "coinglass" and conn.query.get("cg-api-key", [None])[0] != self.key:
            await ws.send('{"code":"40001","msg":"Invalid API key"}')
            await ws.close(1008, "invalid api key")
            return
        with contextlib.suppress(Exception):
            for frame in self.greeting:
                await ws.send(frame)
            async for msg in ws:
                conn.received.append((time.monotonic(), msg))
                reply = self._answer(conn, msg)
                for r in reply:
                    await ws.send(r)
        conn.closed = time.monotonic()

    def _answer(self, conn: Conn, msg) -> list[str]:
        if msg == "ping":  # OKX and CoinGlass text heartbeat
            conn.pings += 1
            return ["pong"] if self.answer_pings else []
        try:
            m = orjson.loads(msg)
        except orjson.JSONDecodeError:
            return []
        if self.protocol == "binance":
            method = m.get("method")
            if method == "SUBSCRIBE":
                conn.subscribed.update(m["params"])
            elif method == "UNSUBSCRIBE":
                conn.subscribed.difference_update(m["params"])
            return [orjson.dumps({"result": None, "id": m.get("id")}).decode()]
        if self.protocol == "bybit":
            op = m.get("op")
            if op == "ping":
                conn.pings += 1
                if not self.answer_pings:
                    return []
                return ['{"success":true,"ret_msg":"pong","conn_id":"t1","req_id":"","op":"ping"}']
            if op == "subscribe":
                conn.subscribed.update(m["args"])
            elif op == "unsubscribe":
                conn.subscribed.difference_update(m["args"])
            return [orjson.dumps({"success": True, "ret_msg": "", "conn_id": "t1", "req_id": m.get("req_id"),
                                  "op": op}).decode()]
        if self.protocol == "okx":
            op = m.get("op")
            out = []
            for arg in m.get("args", []):
                key = f"{arg['channel']}:{arg.get('instId') or arg.get('instType')}"
                if op == "subscribe":
                    conn.subscribed.add(key)
                else:
                    conn.subscribed.discard(key)
                out.append(orjson.dumps({"event": op, "arg": arg, "connId": "a4d3ae55"}).decode())
            return out
        if self.protocol == "coinglass":
            if m.get("method") == "subscribe":
                conn.subscribed.update(m["channels"])
            elif m.get("method") == "unsubscribe":
                conn.subscribed.difference_update(m["channels"])
            return []
        return []

    async def push(self, *frames: str | bytes, conn: Conn | None = None) -> None:
        ws = (conn or self.last).ws
        for frame in frames:
            await ws.send(frame)

    async def broadcast(self, frame: str | bytes) -> int:
        """Send ``frame`` to every open connection (what a venue does for a stream two
        connections share); returns how many got it."""
        sent = 0
        for conn in list(self.conns):
            if conn.closed is None:
                with contextlib.suppress(Exception):
                    await conn.ws.send(frame)
                    sent += 1
        return sent

    async def drop_all(self, code: int = 1012, reason: str = "service restart") -> None:
        for conn in list(self.conns):
            with contextlib.suppress(Exception):
                await conn.ws.close(code, reason)


async def wait_until(predicate, timeout: float = 2.0, step: float = 0.01) -> float:  # noqa: ASYNC109 — a polling helper's deadline, not an I/O call's timeout
    """Poll ``predicate`` until true; returns the seconds it took; AssertionError on timeout."""
    t0 = time.monotonic()
    while not predicate():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(step)
    return time.monotonic() - t0


class Collector:
    def __init__(self) -> None:
        self.events: list = []

    async def put(self, events: list) -> None:
        self.events.extend(events)


@contextlib.asynccontextmanager
async def running(feed):
    """Run ``feed.run(put)`` as a task for the block; cancelled and awaited on exit."""
    sink = Collector()
    task = asyncio.create_task(feed.run(sink.put))
    try:
        yield sink
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def record_backoff(feed: Any) -> list[float]:
    """The reconnect delays ``feed`` chooses, in order (its ``Backoff`` wrapped): what a test
    asserts instead of timing a reconnect on the wall clock (load only makes that slower)."""
    delays: list[float] = []
    choose = feed.backoff.next_delay

    def next_delay() -> float:
        delay = choose()
        delays.append(delay)
        return delay

    feed.backoff.next_delay = next_delay
    return delays


FAST = dict(ping_interval=0.2, pong_timeout=0.3, stale_after=1.0, backoff_base=0.05, backoff_cap=0.2,
            close_timeout=0.2, open_timeout=2.0, debounce_s=0.01, messages_per_s=50.0)
"""Short intervals for tests (production defaults are 20 s pings, 30-60 s staleness, 0.5-30 s backoff)."""


class ThreadedServer:
    """A VenueServer on its own event loop in a thread, for synchronous tests (the CLI)."""

    def __init__(self, *args, **kwargs) -> None:
        import threading

        self._args, self._kwargs = args, kwargs
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)
        self.server: VenueServer | None = None
        self._loop = None
        self._stop = None

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with VenueServer(*self._args, **self._kwargs) as srv:
            self.server = srv
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> VenueServer:
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("local server did not start")
        return self.server

    def __exit__(self, *exc) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)
