"""Engine-only paths never load the Telegram library: the demo, replay and the engine packages
run without aiogram (the routing decision they need is ``engine.contract``, which is pure)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import sys
from bot.cli import main
assert main(["demo", "--quiet", "--minutes", "3"]) == 0
import engine.core, engine.contract, engine.feeds.binance, engine.feeds.bybit, engine.feeds.okx, storage
loaded = sorted(m for m in sys.modules if m == "aiogram" or m.startswith("aiogram."))
print("AIOGRAM", len(loaded), loaded[:3])
"""


def test_demo_and_engine_packages_do_not_import_aiogram():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "AIOGRAM 0 []" in out.stdout, out.stdout[-2000:]
