"""Chart rendering: valid PNGs of the expected size, the series handed to matplotlib are the
engine's figures, and the renderer shares one render per (key) among concurrent askers."""
from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from bot import charts
from bot.charts import (HEIGHT_PX, WIDTH_PX, ChartRenderer, png_size, render_flow_chart, render_hunt_chart,
                        synthetic_series)


def test_flow_chart_is_a_png_of_the_expected_size():
    png = render_flow_chart(synthetic_series(), tz=ZoneInfo("Asia/Jakarta"))
    assert png_size(png) == (WIDTH_PX, HEIGHT_PX)


def test_hunt_chart_is_a_png_and_labels_its_levels(monkeypatch):
    s = synthetic_series("PEPE", "hunt", bucket_s=5, price=0.0000102)
    lv = SimpleNamespace(zone_low=s.low[30], zone_high=s.low[30] * 1.002, entry_low=s.close[-1] * 0.999,
                         entry_high=s.close[-1] * 1.001, stop=min(s.low) * 0.997,
                         targets=(s.close[-1] * 1.01, s.close[-1] * 1.02))
    texts: list[str] = []
    from matplotlib.axes import Axes
    orig = Axes.text

    def spy(self, x, y, s_, *a, **k):
        texts.append(s_)
        return orig(self, x, y, s_, *a, **k)
    monkeypatch.setattr(Axes, "text", spy)
    png = render_hunt_chart(s, lv, quote_mult=1000, labels={"stop": "Stop", "target": "Target"})
    assert png_size(png) == (WIDTH_PX, HEIGHT_PX)
    # the stop label carries the price per 1000 coins, as the alert's quoted line does
    assert any(t.startswith("Stop\n") and charts.fmt_price(lv.stop * 1000) in t for t in texts)
    assert sum(t.startswith("Target ") for t in texts) == 2


def test_plotted_series_are_the_series_given(monkeypatch):
    """Not by pixels: the volume bars and the CVD line get exactly the series' numbers."""
    from matplotlib.axes import Axes
    seen: dict[str, list] = {}
    orig_vlines, orig_plot = Axes.vlines, Axes.plot

    def vlines(self, x, ymin, ymax, *a, **k):
        if k.get("label"):
            seen[k["label"]] = [list(ymin) if not isinstance(ymin, (int, float)) else ymin,
                                list(ymax) if not isinstance(ymax, (int, float)) else ymax]
        return orig_vlines(self, x, ymin, ymax, *a, **k)

    def plot(self, x, y, *a, **k):
        seen[k.get("label")] = list(y)
        return orig_plot(self, x, y, *a, **k)
    monkeypatch.setattr(Axes, "vlines", vlines)
    monkeypatch.setattr(Axes, "plot", plot)
    s = synthetic_series()
    render_flow_chart(s, labels={"buy": "B", "sell": "S", "cvd": "C", "vwap": "V"})
    assert seen["B"] == [0, list(s.buy_usd)]
    assert seen["S"] == [[-v for v in s.sell_usd], 0]
    assert seen["C"] == list(s.cvd)
    assert seen["V"] == list(s.vwap)


def test_empty_buckets_and_no_liquidations_render():
    s = synthetic_series(n=10)
    nan = float("nan")
    from dataclasses import replace
    s = replace(s, open=(nan,) * 10, high=(nan,) * 10, low=(nan,) * 10, close=(nan,) * 10,
                liq_long_usd=(0.0,) * 10, liq_short_usd=(0.0,) * 10, vwap=(nan,) * 10)
    assert png_size(render_flow_chart(s)) == (WIDTH_PX, HEIGHT_PX)


async def test_renderer_renders_once_per_key_for_concurrent_askers():
    r = ChartRenderer()
    gate = threading.Event()
    calls = []

    def slow(x):
        calls.append(x)
        gate.wait(5)
        return b"png-%d" % x
    try:
        tasks = [asyncio.create_task(r.render(("flow", "BTC", "5m", 100), slow, 1)) for _ in range(5)]
        await asyncio.sleep(0)
        gate.set()
        assert await asyncio.gather(*tasks) == [b"png-1"] * 5
        assert calls == [1] and r.renders == 1 and r.hits == 4
        assert await r.render(("flow", "BTC", "5m", 100), slow, 2) == b"png-1"  # cached
        assert await r.render(("flow", "BTC", "5m", 101), slow, 3) == b"png-3"  # new second
        assert r.renders == 2
    finally:
        r.close()


async def test_renderer_refuses_beyond_its_backlog():
    r = ChartRenderer(backlog=1)
    gate = threading.Event()
    try:
        first = asyncio.create_task(r.render(("a",), lambda: gate.wait(5) and b"a"))
        await asyncio.sleep(0)
        assert await r.render(("b",), lambda: b"b") is None and r.refused == 1
        gate.set()
        assert await first == b"a"
    finally:
        r.close()


def test_png_size_rejects_non_png():
    with pytest.raises(ValueError):
        png_size(b"GIF89a" + b"\0" * 30)


def test_demo_writes_the_charts_its_alerts_would_carry(tmp_path, capsys):
    from bot.cli import main

    out = tmp_path / "charts"
    assert main(["demo", "--minutes", "12", "--quiet", "--charts", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert any(n.endswith("-stop-hunt.png") for n in names), names
    assert "flow-BTC-15m.png" in names
    for p in out.iterdir():
        assert png_size(p.read_bytes()) == (WIDTH_PX, HEIGHT_PX)
    assert f"charts: {len(names)} PNG files" in capsys.readouterr().out
