"""Engine-only paths never load the Telegram library: the demo, replay, backtest, record and the
engine packages run without aiogram (the routing decision they need is ``engine.contract``, which is pure)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import os, sys, tempfile
from bot.cli import main
assert main(["demo", "--quiet", "--minutes", "3"]) == 0
tape = os.path.join(tempfile.mkdtemp(), "tape.txt")
with open(tape, "wb") as fh:
    fh.write(b'1723161255088176367 {"stream":"btcusdt@trade","data":{"e":"trade","E":1723161256322,'
             b'"T":1723161256322,"s":"BTCUSDT","t":1,"p":"61800.30","q":"0.006","X":"MARKET","m":false}}\\n')
os.environ["MARKET_SOURCES"] = "simulator"
os.environ.pop("DATABASE_PATH", None)
assert main(["replay", tape]) == 0
assert main(["record", "--out", tape + ".gz", "--duration", "1"]) == 2  # no live source: refused
try:
    main(["backtest", tape])  # when the command exists (an unknown command exits 2 through argparse)
except SystemExit:
    pass
import engine.core, engine.contract, engine.feeds.binance, engine.feeds.bybit, engine.feeds.okx, storage
loaded = sorted(m for m in sys.modules if m == "aiogram" or m.startswith("aiogram."))
print("AIOGRAM", len(loaded), loaded[:3])
"""


def test_demo_and_engine_packages_do_not_import_aiogram():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "AIOGRAM 0 []" in out.stdout, out.stdout[-2000:]
    assert "trades 1, liquidations 0" in out.stdout and "parse errors: 0" in out.stdout  # the replay ran
