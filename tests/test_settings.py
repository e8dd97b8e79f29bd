import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import ConfigError, Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
ALL_VARS = [name for name in Settings.model_fields] + ["STATE_DIRECTORY"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in ALL_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's checkout


def test_defaults_match_design():
    s = load_settings(env_file=None)
    assert s.MARKET_SOURCES == ("binance", "bybit")
    assert s.ACCESS == "private"
    assert s.ADMIN_IDS == ()
    assert s.TELEGRAM_API_BASE == "https://api.telegram.org"
    assert s.BINANCE_WS_URL == "wss://fstream.binance.com/market/stream"
    assert s.COINGLASS_WS_URL == "wss://open-ws.coinglass.com/ws-api"
    assert s.DATABASE_PATH == "./teleglas.db"
    assert s.LOG_LEVEL == "INFO"


def test_values_are_parsed(monkeypatch, tmp_path):
    monkeypatch.setenv("ADMIN_IDS", "42, 1001")
    monkeypatch.setenv("MARKET_SOURCES", "Binance,okx,simulator")
    monkeypatch.setenv("ACCESS", "public")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:secret-value")
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path))
    s = load_settings(need_token=True, env_file=None)
    assert s.ADMIN_IDS == (42, 1001)
    assert s.MARKET_SOURCES == ("binance", "okx", "simulator")
    assert s.DATABASE_PATH == str(tmp_path / "teleglas.db")
    assert "secret-value" not in repr(s) and "secret-value" not in str(s)


def test_retry_budgets_default_to_the_delivery_defaults_and_are_parsed(monkeypatch):
    from bot.delivery import DeliveryConfig

    s = load_settings(env_file=None)
    cfg = DeliveryConfig()
    assert (s.DELIVERY_RETRY_URGENT_S, s.DELIVERY_RETRY_WATCH_S, s.DELIVERY_RETRY_INFO_S,
            s.DELIVERY_RETRY_BROADCAST_S, s.DELIVERY_RETRY_OUTCOME_S, s.DELIVERY_RETRY_OPS_S) == (
        cfg.retry_budget_urgent_s, cfg.retry_budget_watch_s, cfg.retry_budget_info_s,
        cfg.retry_budget_broadcast_s, cfg.retry_budget_outcome_s, cfg.retry_budget_ops_s)
    assert (s.DELIVERY_RETRY_URGENT_S, s.DELIVERY_RETRY_INFO_S, s.DELIVERY_RETRY_BROADCAST_S) == (3600, 900, 21600)
    monkeypatch.setenv("DELIVERY_RETRY_INFO_S", " 1800 ")
    monkeypatch.setenv("DELIVERY_RETRY_OPS_S", "604800")  # the bound itself: 7 days
    s = load_settings(env_file=None)
    assert s.DELIVERY_RETRY_INFO_S == 1800.0 and s.DELIVERY_RETRY_OPS_S == 604800.0


def test_dotenv_file_is_read(tmp_path):
    (tmp_path / ".env").write_text("ADMIN_IDS=7\nACCESS=public\n")
    s = load_settings()
    assert s.ADMIN_IDS == (7,) and s.ACCESS == "public"


BAD = [
    ({"MARKET_SOURCES": "foo"}, "MARKET_SOURCES", {}),
    ({"MARKET_SOURCES": "binance,,kraken"}, "MARKET_SOURCES", {}),
    ({"MARKET_SOURCES": "replay:/no/such/file.gz"}, "MARKET_SOURCES", {}),
    ({"ADMIN_IDS": "abc"}, "ADMIN_IDS", {}),
    ({"ADMIN_IDS": "12,x"}, "ADMIN_IDS", {}),
    ({"ACCESS": "secret"}, "ACCESS", {}),
    ({"LOG_LEVEL": "loud"}, "LOG_LEVEL", {}),
    ({"BINANCE_WS_URL": "https://fstream.binance.com"}, "BINANCE_WS_URL", {}),
    ({"TELEGRAM_API_BASE": "api.telegram.org"}, "TELEGRAM_API_BASE", {}),
    ({"DATABASE_PATH": "/no/such/dir/teleglas.db"}, "DATABASE_PATH", {}),
    ({"MARKET_SOURCES": "coinglass"}, "COINGLASS_API_KEY", {}),
    ({}, "TELEGRAM_BOT_TOKEN", {"need_token": True}),
    ({"DELIVERY_RETRY_URGENT_S": "0"}, "DELIVERY_RETRY_URGENT_S", {}),
    ({"DELIVERY_RETRY_WATCH_S": "-60"}, "DELIVERY_RETRY_WATCH_S", {}),
    ({"DELIVERY_RETRY_INFO_S": "15min"}, "DELIVERY_RETRY_INFO_S", {}),
    ({"DELIVERY_RETRY_BROADCAST_S": "nan"}, "DELIVERY_RETRY_BROADCAST_S", {}),
    ({"DELIVERY_RETRY_OUTCOME_S": "1e9"}, "DELIVERY_RETRY_OUTCOME_S", {}),
    ({"DELIVERY_RETRY_OPS_S": ""}, "DELIVERY_RETRY_OPS_S", {}),
    ({"TELEGRAM_BOT_TOKEN": "not-a-token"}, "TELEGRAM_BOT_TOKEN", {"need_token": True}),
]


@pytest.mark.parametrize(("env", "variable", "kwargs"), BAD)
def test_bad_value_names_the_variable_in_one_line(monkeypatch, env, variable, kwargs):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ConfigError) as err:
        load_settings(env_file=None, **kwargs)
    message = str(err.value)
    assert message.startswith(variable + ":")
    assert "\n" not in message


def test_database_path_that_is_a_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path))
    with pytest.raises(ConfigError, match="DATABASE_PATH: expected a file path"):
        load_settings(env_file=None)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file, so permissions cannot make it unreadable")
def test_unreadable_database_file(monkeypatch, tmp_path):
    db = tmp_path / "x.db"
    db.write_bytes(b"")
    db.chmod(0)
    monkeypatch.setenv("DATABASE_PATH", str(db))
    with pytest.raises(ConfigError, match="DATABASE_PATH"):
        load_settings(env_file=None)


@pytest.mark.parametrize(("args", "env", "variable"), [
    (["record", "--out", "x.gz", "--duration", "1"], {"MARKET_SOURCES": "foo"}, "MARKET_SOURCES"),
    (["replay", "x.gz"], {"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
    (["run"], {"ADMIN_IDS": "abc"}, "ADMIN_IDS"),
    (["run"], {}, "TELEGRAM_BOT_TOKEN"),
    (["run"], {"TELEGRAM_BOT_TOKEN": "1:x", "DELIVERY_RETRY_INFO_S": "0"}, "DELIVERY_RETRY_INFO_S"),
])
def test_cli_exits_2_with_one_line_and_no_traceback(tmp_path, args, env, variable):
    full_env = {k: v for k, v in os.environ.items() if k not in ALL_VARS}
    full_env.update(env)
    full_env["PYTHONPATH"] = str(REPO)
    proc = subprocess.run([sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", *args],
                          cwd=tmp_path, env=full_env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert variable in lines[0]
    assert "Traceback" not in proc.stderr


def test_demo_ignores_the_service_settings(tmp_path):
    """`teleglas demo` needs no token and no network, and reads no settings."""
    full_env = {k: v for k, v in os.environ.items() if k not in ALL_VARS}
    full_env.update({"MARKET_SOURCES": "foo", "ACCESS": "Public", "PYTHONPATH": str(REPO)})
    proc = subprocess.run([sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())",
                           "demo", "--quiet", "--minutes", "3"],
                          cwd=tmp_path, env=full_env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "events processed" in proc.stdout
