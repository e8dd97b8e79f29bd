"""The event loop choice (bot/loop.py): uvloop on Linux when installed, asyncio's loop otherwise,
and a clean fallback when uvloop is asked for but missing."""
from __future__ import annotations

import asyncio
import sys

import pytest

from bot import loop


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__.split(".")[0]


def test_asyncio_is_forced_by_the_setting(monkeypatch):
    monkeypatch.setenv("TELEGLAS_LOOP", "asyncio")
    assert loop.loop_factory() is None
    assert loop.run(_loop_module()) == "asyncio"


def test_without_uvloop_everything_runs_on_asyncio_and_says_why_when_asked(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop -> ImportError
    monkeypatch.delenv("TELEGLAS_LOOP", raising=False)
    assert loop.loop_factory() is None and loop.run(_loop_module()) == "asyncio"
    assert capsys.readouterr().err == ""  # auto: silent
    assert loop.run(_loop_module(), "uvloop") == "asyncio"
    assert "uvloop is not installed" in capsys.readouterr().err


def test_an_unknown_choice_is_named_and_treated_as_auto(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "uvloop", None)
    assert loop.loop_factory("fastest") is None
    assert "TELEGLAS_LOOP='fastest' is not one of auto, asyncio, uvloop" in capsys.readouterr().err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uvloop is adopted on Linux only")
def test_uvloop_is_used_on_linux_when_installed(monkeypatch):
    pytest.importorskip("uvloop", reason="the optional extra teleglas[fast] is not installed")
    monkeypatch.delenv("TELEGLAS_LOOP", raising=False)
    assert loop.run(_loop_module()) == "uvloop"
