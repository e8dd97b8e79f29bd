"""What several repositories share: the "every symbol" marker, epoch seconds, value checks."""
from __future__ import annotations

import time
from enum import Enum

from storage.errors import ConstraintError

ALL_SYMBOLS = "*"  # thresholds.symbol value meaning "every symbol"


def now_s() -> int:
    return int(time.time())


def enum_value(value: object) -> str:
    return str(value.value if isinstance(value, Enum) else value)


def check_symbol(symbol: str, *, allow_all: bool = False) -> str:
    if not isinstance(symbol, str) or not symbol or len(symbol) > 32 or symbol != symbol.strip():
        raise ValueError(f"not a symbol: {symbol!r}")
    if symbol == ALL_SYMBOLS and not allow_all:
        raise ValueError(f"{ALL_SYMBOLS!r} is not a watchable symbol")
    return symbol


def unknown_user(user_id: int, e: ConstraintError) -> ConstraintError:
    if "FOREIGN KEY" in str(e):
        return ConstraintError(f"user {user_id} is not registered (send /start first)")
    return e
