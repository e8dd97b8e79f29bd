"""Settings: the variables in DESIGN.md (plus the delivery retry budgets, README's Settings
table), from the environment or a ``.env`` file.

A wrong value stops start-up with ONE line naming the variable (see ``load_settings``).
Secrets are ``SecretStr`` and never logged or printed.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

KNOWN_SOURCES = ("binance", "bybit", "okx", "coinglass", "simulator")
_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
RETRY_BUDGETS = ("DELIVERY_RETRY_URGENT_S", "DELIVERY_RETRY_WATCH_S", "DELIVERY_RETRY_INFO_S",
                 "DELIVERY_RETRY_BROADCAST_S", "DELIVERY_RETRY_OUTCOME_S", "DELIVERY_RETRY_OPS_S")
MIN_RETRY_BUDGET_S = 1.0
MAX_RETRY_BUDGET_S = 7 * 86400.0


def default_database_path() -> str:
    state_dir = os.environ.get("STATE_DIRECTORY")
    if state_dir:
        # systemd may pass several directories separated by ':'; the first is ours
        return str(Path(state_dir.split(":")[0]) / "teleglas.db")
    return "./teleglas.db"


def parse_host_port(value: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:9108`` for IPv6) -> (host, port); ValueError saying what is wrong."""
    host, sep, port = value.strip().rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit():
        raise ValueError(f"expected host:port such as 127.0.0.1:9108, got {value!r}")
    if not 0 < int(port) < 65536:
        raise ValueError(f"port must be 1-65535, got {port}")
    return host, int(port)


class ConfigError(Exception):
    """A setting is wrong. ``str()`` is the single line shown to the operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=True,
    )

    TELEGRAM_BOT_TOKEN: SecretStr | None = None
    TELEGRAM_API_BASE: str = "https://api.telegram.org"
    ADMIN_IDS: Annotated[tuple[int, ...], NoDecode] = ()
    ACCESS: Literal["private", "public"] = "private"
    MARKET_SOURCES: Annotated[tuple[str, ...], NoDecode] = ("binance", "bybit")
    COINGLASS_API_KEY: SecretStr | None = None
    COINGLASS_WS_URL: str = "wss://open-ws.coinglass.com/ws-api"
    BINANCE_WS_URL: str = "wss://fstream.binance.com/market/stream"
    BINANCE_REST_URL: str = "https://fapi.binance.com"
    BYBIT_WS_URL: str = "wss://stream.bybit.com/v5/public/linear"
    OKX_WS_URL: str = "wss://ws.okx.com:8443/ws/v5/public"
    OKX_REST_URL: str = "https://www.okx.com"
    DATABASE_PATH: str = Field(default_factory=default_database_path)
    LOG_LEVEL: str = "INFO"
    METRICS_ADDR: str = ""  # Prometheus metrics host:port; empty = off
    # score -> observed hit-rate file from `teleglas backtest --write-calibration`; empty = none
    CALIBRATION_PATH: str = ""
    # retry budgets of the outbox (bot/delivery): a row that keeps failing retryably (5xx,
    # network, timeout) is retried this many seconds after it was accepted, then given up
    # ('failed', counted, logged)
    DELIVERY_RETRY_URGENT_S: float = 3600.0
    DELIVERY_RETRY_WATCH_S: float = 3600.0
    DELIVERY_RETRY_INFO_S: float = 900.0
    DELIVERY_RETRY_BROADCAST_S: float = 6 * 3600.0
    DELIVERY_RETRY_OUTCOME_S: float = 3600.0
    DELIVERY_RETRY_OPS_S: float = 3600.0

    @field_validator("ADMIN_IDS", mode="before")
    @classmethod
    def _admin_ids(cls, value: object) -> tuple[int, ...]:
        if isinstance(value, (tuple, list)):
            items = [str(v) for v in value]
        else:
            items = [p.strip() for p in str(value or "").split(",") if p.strip()]
        ids = []
        for item in items:
            if not item.lstrip("-").isdigit():
                raise ValueError(f"expected comma-separated numeric Telegram user ids, got {item!r}")
            ids.append(int(item))
        return tuple(ids)

    @field_validator("MARKET_SOURCES", mode="before")
    @classmethod
    def _sources(cls, value: object) -> tuple[str, ...]:
        if isinstance(value, (tuple, list)):
            items = [str(v).strip() for v in value]
        else:
            items = [p.strip() for p in str(value or "").split(",") if p.strip()]
        if not items:
            raise ValueError("expected at least one source")
        out = []
        for item in items:
            low = item.lower()
            if low.startswith("replay:"):
                if not item[len("replay:"):]:
                    raise ValueError("replay:<path> needs a path")
                out.append("replay:" + item[len("replay:"):])
            elif low in KNOWN_SOURCES:
                out.append(low)
            else:
                raise ValueError(
                    f"unknown source {item!r}; expected a comma list of "
                    "binance, bybit, okx, coinglass, simulator, replay:<path>"
                )
        return tuple(dict.fromkeys(out))

    @field_validator("METRICS_ADDR", mode="before")
    @classmethod
    def _metrics_addr(cls, value: object) -> str:
        text = str(value or "").strip()
        if text:
            parse_host_port(text)
        return text

    @property
    def metrics_listen(self) -> tuple[str, int] | None:
        """(host, port) for the metrics endpoint, or None when METRICS_ADDR is empty (off)."""
        return parse_host_port(self.METRICS_ADDR) if self.METRICS_ADDR else None

    @field_validator("LOG_LEVEL", mode="before")
    @classmethod
    def _log_level(cls, value: object) -> str:
        level = str(value).strip().upper()
        if level not in _LOG_LEVELS:
            raise ValueError(f"expected one of {', '.join(_LOG_LEVELS)}, got {value!r}")
        return level

    @field_validator(
        "TELEGRAM_API_BASE", "COINGLASS_WS_URL", "BINANCE_WS_URL", "BINANCE_REST_URL",
        "BYBIT_WS_URL", "OKX_WS_URL", "OKX_REST_URL",
    )
    @classmethod
    def _url(cls, value: str, info: ValidationInfo) -> str:
        ws = (info.field_name or "").endswith("WS_URL")
        schemes = ("ws://", "wss://") if ws else ("http://", "https://")
        if not value.startswith(schemes):
            raise ValueError(f"expected a URL starting with {' or '.join(schemes)}, got {value!r}")
        return value.rstrip("/")

    @field_validator("TELEGRAM_BOT_TOKEN", "COINGLASS_API_KEY", mode="before")
    @classmethod
    def _empty_secret(cls, value: object) -> object:
        return None if value in ("", None) else value

    @field_validator(*RETRY_BUDGETS, mode="before")
    @classmethod
    def _retry_budget(cls, value: object) -> float:
        text = str(value).strip()
        try:
            seconds = float(text)
        except ValueError:
            raise ValueError(f"expected a number of seconds, got {value!r}") from None
        if not MIN_RETRY_BUDGET_S <= seconds <= MAX_RETRY_BUDGET_S:  # also NaN
            raise ValueError(f"expected seconds between {MIN_RETRY_BUDGET_S:g} and "
                             f"{MAX_RETRY_BUDGET_S:g} (7 days), got {text}")
        return seconds

    @property
    def replay_paths(self) -> list[str]:
        return [s[len("replay:"):] for s in self.MARKET_SOURCES if s.startswith("replay:")]


def _check_database_path(path_text: str) -> None:
    path = Path(path_text).expanduser()
    if path.exists():
        if path.is_dir():
            raise ConfigError(f"DATABASE_PATH: expected a file path, {path} is a directory")
        if not os.access(path, os.R_OK | os.W_OK):
            raise ConfigError(f"DATABASE_PATH: {path} is not readable and writable by this user")
        return
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ConfigError(f"DATABASE_PATH: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"DATABASE_PATH: directory {parent} is not writable by this user")


def load_settings(*, need_token: bool = False, need_database: bool = True, env_file: str | None = ".env") -> Settings:
    """Read and check the settings. Raises ConfigError with one line naming the variable."""
    try:
        # pydantic-settings takes _env_file at init, which its class signature does not show to mypy
        settings = Settings(_env_file=env_file)  # type: ignore[call-arg]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err.get("loc") else "settings"
        msg = err.get("msg", "invalid value")
        msg = msg.removeprefix("Value error, ")
        if err.get("type") == "literal_error":
            msg = f"{msg}, got {err.get('input')!r}"
        raise ConfigError(f"{name}: {msg}") from None
    if need_token:
        if settings.TELEGRAM_BOT_TOKEN is None:
            raise ConfigError("TELEGRAM_BOT_TOKEN: required for `teleglas run` (get one from @BotFather)")
        token = settings.TELEGRAM_BOT_TOKEN.get_secret_value()
        left, _, right = token.partition(":")
        if not left.isdigit() or not right:
            raise ConfigError("TELEGRAM_BOT_TOKEN: expected the form <digits>:<secret> as BotFather gives it")
    if "coinglass" in settings.MARKET_SOURCES and settings.COINGLASS_API_KEY is None:
        raise ConfigError("COINGLASS_API_KEY: required when MARKET_SOURCES includes coinglass")
    for replay in settings.replay_paths:
        if not Path(replay).is_file():
            raise ConfigError(f"MARKET_SOURCES: replay file {replay} does not exist")
    if need_database:
        _check_database_path(settings.DATABASE_PATH)
    return settings


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
