"""The event loop every ``teleglas`` command runs on.

uvloop (libuv) on Linux when it is installed — the optional extra ``teleglas[fast]`` — else
asyncio's own loop. ``TELEGLAS_LOOP=asyncio`` forces asyncio's loop (to rule the loop out when
diagnosing); ``TELEGLAS_LOOP=uvloop`` asks for uvloop and says so when it is missing. Measured by
``benchmarks/bench_loop.py`` (README, Benchmarks). No Telegram import here: engine-only commands
use it too.
"""
from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)
CHOICES = ("auto", "asyncio", "uvloop")


def loop_factory(choice: str | None = None) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """``uvloop.new_event_loop`` when chosen (or ``auto`` on Linux) and importable, else None
    (asyncio's default loop)."""
    choice = (choice or os.environ.get("TELEGLAS_LOOP") or "auto").strip().lower()
    if choice not in CHOICES:
        print(f"teleglas: TELEGLAS_LOOP={choice!r} is not one of {', '.join(CHOICES)}; using auto",
              file=sys.stderr)
        choice = "auto"
    if choice == "asyncio" or (choice == "auto" and not sys.platform.startswith("linux")):
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            print("teleglas: TELEGLAS_LOOP=uvloop but uvloop is not installed "
                  "(pip install 'teleglas[fast]'); using asyncio's loop", file=sys.stderr)
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def loop_name(factory: Callable[[], asyncio.AbstractEventLoop] | None) -> str:
    return "asyncio" if factory is None else getattr(factory, "__module__", "uvloop").split(".")[0]


def run(main: Coroutine[Any, Any, T], choice: str | None = None) -> T:
    """``asyncio.run`` on the chosen loop."""
    with asyncio.Runner(loop_factory=loop_factory(choice)) as runner:
        return runner.run(main)
