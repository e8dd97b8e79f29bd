"""systemd's notify protocol, written out (no dependency): ``READY=1`` once the bot and the engine
run, ``WATCHDOG=1`` from the event loop while the loop and the engine advance, ``STOPPING=1``.

The protocol (sd_notify(3)): one datagram of ``KEY=value`` lines to the AF_UNIX socket named by
``$NOTIFY_SOCKET`` (a path, or ``@name`` in the abstract namespace). ``$WATCHDOG_USEC`` is the
unit's WatchdogSec; a ping every half of it is systemd's advice. Outside systemd (no
``NOTIFY_SOCKET``) every call is a no-op.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping

log = logging.getLogger(__name__)


def notify(message: str, env: Mapping[str, str] | None = None) -> bool:
    """Send one notification; False when not under systemd or the socket is gone (never raises:
    a missed notification must not take the service down — the watchdog will say so)."""
    env = os.environ if env is None else env
    addr = env.get("NOTIFY_SOCKET", "")
    if not addr or addr[0] not in "/@":
        return False
    if addr[0] == "@":
        addr = "\0" + addr[1:]  # abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.setblocking(False)
            sock.connect(addr)
            sock.send(message.encode())
        return True
    except OSError as exc:
        log.warning("sd_notify %r failed: %s", message.split("\n", 1)[0], exc)
        return False


def watchdog_period_s(env: Mapping[str, str] | None = None) -> float | None:
    """Seconds between WATCHDOG=1 pings (half of WatchdogSec), or None when no watchdog is set
    for this process."""
    env = os.environ if env is None else env
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid.isdigit() and int(pid) != os.getpid():
        return None
    return int(usec) / 1e6 / 2


async def watchdog_loop(healthy: Callable[[], bool], period_s: float, *,
                        send: Callable[[str], object] = notify,
                        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
    """Ping while ``healthy()``. Runs ON the event loop, so a blocked loop sends nothing; an
    engine that stopped advancing makes ``healthy()`` false and the pings stop too — systemd
    then kills and restarts the service after WatchdogSec."""
    was_healthy = True
    while True:
        await sleep(period_s)
        ok = healthy()
        if ok:
            send("WATCHDOG=1")
        elif was_healthy:
            log.error("watchdog: the engine is not advancing; no WATCHDOG=1 until it does")
        was_healthy = ok
