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


# ---- axes: the x view spans the data, time ticks are round and all labelled, labels fit -----

def _with_empty_start(s, k):
    """``s`` as a feed that started ``k`` buckets into the window: nothing before bucket k."""
    from dataclasses import replace
    nan = float("nan")

    def blank(values, empty):
        return (empty,) * k + tuple(values[k:])
    return replace(s, open=blank(s.open, nan), high=blank(s.high, nan), low=blank(s.low, nan),
                   close=blank(s.close, nan), vwap=blank(s.vwap, nan), buy_usd=blank(s.buy_usd, 0.0),
                   sell_usd=blank(s.sell_usd, 0.0), liq_long_usd=blank(s.liq_long_usd, 0.0),
                   liq_short_usd=blank(s.liq_short_usd, 0.0), large_buys=blank(s.large_buys, 0),
                   large_sells=blank(s.large_sells, 0))


def _hunt_levels(s):
    return SimpleNamespace(zone_low=s.low[40], zone_high=s.low[40] * 1.002, entry_low=s.close[-1] * 0.999,
                           entry_high=s.close[-1] * 1.001, stop=min(v for v in s.low if v == v) * 0.997,
                           targets=(s.close[-1] * 1.01, s.close[-1] * 1.02))


def _drawn(fig):
    with charts.chart_style():
        fig.canvas.draw()
    return fig


def _time_labels(ax):
    """(tick x, label text) of the major ticks inside the view, as drawn."""
    lo, hi = ax.get_xlim()
    return [(t.get_position()[0], t.get_text()) for t in ax.get_xticklabels() if lo <= t.get_position()[0] <= hi]


def test_hunt_chart_x_axis_spans_the_data_not_the_empty_minutes_before_it():
    """The simulator's first stop hunt comes ~1 min after start: the 5-min hunt series is empty
    for its first buckets. The view starts just before the first candle, not at the window's start."""
    s = _with_empty_start(synthetic_series("BTC", "hunt", bucket_s=5, start=1_765_000_003), 14)
    fig = _drawn(charts.hunt_figure(s, _hunt_levels(s), tz=ZoneInfo("Asia/Jakarta")))
    ax_p, ax_v = fig.axes
    lo, hi = ax_v.get_xlim()
    assert lo >= 14 - charts.EDGE_BUCKETS - 1e-9  # old: -0.8, i.e. 70 s of nothing
    assert hi == pytest.approx(len(s) - 1 + charts.EDGE_BUCKETS)
    assert ax_p.get_xlim() == (lo, hi)  # shared


@pytest.mark.parametrize("window,bucket_s,zone,fmt", [
    ("hunt", 5, "Asia/Jakarta", "%H:%M"),
    ("1m", 1, "America/New_York", "%H:%M:%S"),
    ("15m", 15, "Europe/Berlin", "%H:%M"),
    ("1h", 60, "Asia/Kathmandu", "%H:%M"),  # UTC+05:45: round on the user's clock, not UTC's
])
def test_time_ticks_are_evenly_spaced_round_and_every_one_labelled(window, bucket_s, zone, fmt):
    from datetime import datetime

    tz = ZoneInfo(zone)
    s = synthetic_series("BTC", window, bucket_s=bucket_s, start=1_765_000_007)
    if window == "hunt":
        fig = _drawn(charts.hunt_figure(s, _hunt_levels(s), tz=tz))
    else:
        fig = _drawn(charts.flow_figure(s, tz=tz))
    ticks = _time_labels(fig.axes[-1])
    assert len(ticks) >= 3
    assert all(text for _x, text in ticks), ticks  # every tick labelled (old: one came out "")
    texts = [text for _x, text in ticks]
    assert len(set(texts)) == len(texts), texts
    xs = [x for x, _t in ticks]
    gaps = {round(b - a, 6) for a, b in zip(xs, xs[1:])}
    assert len(gaps) == 1, xs  # evenly spaced on the axis ...
    step_s = gaps.pop() * bucket_s
    assert step_s in charts.TIME_STEPS_S
    # ... and on the clock: consecutive labels one step apart (old: 75 s steps labelled by the
    # minute read 23:58, 23:59, 00:01), each a round time of the user's zone
    day = datetime.fromtimestamp(s.times[0], tz).date()
    clock = [datetime.combine(day, datetime.strptime(t, fmt).time()) for t in texts]
    seconds = [c.hour * 3600 + c.minute * 60 + c.second for c in clock]
    assert all((b - a) % 86400 == step_s for a, b in zip(seconds, seconds[1:])), texts
    assert all(v % step_s == 0 for v in seconds), texts


def _inside_figure(fig, margin_px=2.0):
    """Every visible tick label and text of every panel lies inside the image."""
    renderer = fig.canvas.get_renderer()
    w, h = fig.bbox.width, fig.bbox.height
    out = []
    for ax in fig.axes:
        (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
        artists = [*(t for t in ax.get_yticklabels() if y0 <= t.get_position()[1] <= y1),  # drawn ones
                   *(t for t in ax.get_xticklabels() if x0 <= t.get_position()[0] <= x1),
                   *ax.texts, ax.yaxis.label]
        for a in artists:
            if not a.get_visible() or not a.get_text():
                continue
            box = a.get_window_extent(renderer)
            if not (box.x0 >= margin_px and box.x1 <= w - margin_px and box.y0 >= margin_px
                    and box.y1 <= h - margin_px):
                out.append((a.get_text(), tuple(round(v) for v in box.extents)))
    return out


@pytest.mark.parametrize("price,mult", [(0.0000102, 1.0), (0.0000102, 1000.0), (61_000.0, 1.0), (0.1473, 1.0)])
def test_flow_chart_labels_stay_inside_the_image(price, mult):
    """1000PEPE-style prices ($0.000010072) made the y labels run off the left edge."""
    s = synthetic_series("PEPE", "15m", price=price)
    fig = _drawn(charts.flow_figure(s, quote_mult=mult, tz=ZoneInfo("Asia/Jakarta")))
    assert _inside_figure(fig) == []
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels() if t.get_text()]
    assert len(set(labels)) == len(labels) >= 3, labels  # as few decimals as keep them distinct


def test_hunt_chart_labels_stay_inside_the_image():
    s = synthetic_series("PEPE", "hunt", bucket_s=5, price=0.0000102)
    fig = _drawn(charts.hunt_figure(s, _hunt_levels(s), quote_mult=1000.0))
    assert _inside_figure(fig) == []


@pytest.mark.parametrize("locs,labels", [
    ([60_200.0, 60_400.0, 60_600.0], ["$60,200", "$60,400", "$60,600"]),
    ([3012.25, 3012.5, 3012.75], ["$3,012.25", "$3,012.50", "$3,012.75"]),
    ([0.0000100640, 0.0000100720], ["$0.000010064", "$0.000010072"]),
    ([0.1, 0.125, 0.15], ["$0.100", "$0.125", "$0.150"]),
])
def test_price_ticks_use_the_decimals_the_step_needs(locs, labels):
    f = charts.PriceTicks()
    f.set_locs(locs)
    assert [f(v) for v in locs] == labels


def test_price_ticks_with_a_single_tick_fall_back_to_fmt_price():
    f = charts.PriceTicks()
    f.set_locs([0.0000102345])
    assert f(0.0000102345) == charts.fmt_price(0.0000102345) == "$0.0000102345"


def test_a_series_with_data_only_in_its_last_buckets_still_shows_a_few_buckets():
    s = _with_empty_start(synthetic_series(n=60), 59)
    lo, hi = charts.x_view(s)
    assert hi - lo == pytest.approx(charts.MIN_VIEW_BUCKETS - 1 + 2 * charts.EDGE_BUCKETS)
    assert png_size(render_flow_chart(s)) == (WIDTH_PX, HEIGHT_PX)
