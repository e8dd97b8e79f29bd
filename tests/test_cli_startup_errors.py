"""Start-up against a Bot API address where nothing listens: one line naming TELEGRAM_API_BASE and
the address tried, the operating system's reason, no "ssl" for a plain http:// address; exit 1.
No network: 127.0.0.1 on a port just released (nothing listens there)."""
from __future__ import annotations

import socket

import pytest

from bot.cli import main
from bot.errors import network_error_detail


@pytest.fixture
def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # never listened: a connect is refused at once
    return port


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_teleglas_run_against_a_closed_port_says_what_happened_in_one_line(
        scheme, closed_port, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no .env from the developer's checkout
    base = f"{scheme}://127.0.0.1:{closed_port}"
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:test-token")
    monkeypatch.setenv("TELEGRAM_API_BASE", base)
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "t.db"))
    monkeypatch.setenv("MARKET_SOURCES", "simulator")
    assert main(["run"]) == 1  # may heal by itself: the service manager retries
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0] == (f"teleglas: cannot start: TELEGRAM_API_BASE: cannot reach {base} "
                        f"(connecting to 127.0.0.1:{closed_port}: connection refused); "
                        "exit 1 so the service manager retries")
    assert "ssl" not in err.lower()  # the connection was refused before any TLS was tried
    assert "123456:test-token" not in err


def test_a_timeout_says_no_answer_in_time():
    from aiogram.exceptions import TelegramNetworkError
    from aiogram.methods import GetMe

    try:
        try:
            raise TimeoutError
        except TimeoutError as exc:
            raise TelegramNetworkError(method=GetMe(), message="Request timeout error") from exc
    except TelegramNetworkError as wrapped:
        assert network_error_detail(wrapped) == "no answer in time"


def test_other_errors_keep_their_text_cut_to_one_short_line():
    assert network_error_detail(RuntimeError("x" * 500), limit=40) == "x" * 39 + "…"
    assert network_error_detail(RuntimeError()) == "RuntimeError"
