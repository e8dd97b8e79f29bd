"""Charts for /flow and stop-hunt alerts: matplotlib (Agg) PNGs rendered off the event loop.

``render_flow_chart`` / ``render_hunt_chart`` turn an ``engine.chartseries.ChartSeries`` into PNG
bytes (1080 px wide: Telegram shows photos up to that width, labels stay readable on a phone).
The theme is dark with its own background, so the image reads the same in Telegram's dark and
light modes. Prices are labelled with ``bot.render.fmt_price`` (times ``quote_mult`` for coins a
venue quotes per 1000), times in the user's zone, words from the locale (``chart_labels``).

``ChartRenderer`` runs the renders in one worker thread (matplotlib is not thread-safe; one
thread also keeps a 2-core machine's event loop responsive) with a bounded queue, and caches
by (kind, symbol, window, state version, language, zone, mult): the state version is the
engine's newest second, so a chart is rendered at most once per second however many users
ask, and concurrent askers share one render.
"""
from __future__ import annotations

import asyncio
import io
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import matplotlib

matplotlib.use("Agg")
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.gridspec import GridSpec  # noqa: E402
from matplotlib.ticker import FixedLocator, Formatter, FuncFormatter, MaxNLocator  # noqa: E402

from bot.render import fmt_price, fmt_usd  # noqa: E402
from engine.chartseries import ChartSeries  # noqa: E402
from engine.signals import Levels, Signal  # noqa: E402
from engine.symbols import unit_name  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

    from engine.core import Engine

WIDTH_PX = 1080
HEIGHT_PX = 1080
DPI = 100
BG = "#131722"
PANEL = "#161b26"
GRID = "#2a3040"
FG = "#d8dde6"
MUTED = "#8a93a6"
BUY = "#26a69a"
SELL = "#ef5350"
PRICE = "#e8eaed"
VWAP = "#f5a623"
CVD = "#42a5f5"
LIQ_LONG = "#ff4081"  # longs liquidated: forced sells
LIQ_SHORT = "#00e5ff"
ZONE = "#ffca28"
ENTRY = "#66bb6a"
STOP = "#ef5350"
TARGET = "#42a5f5"

# what a render is cached under: it must hold the state version (see ChartRenderer)
CacheKey = tuple[object, ...]

LABEL_KEYS = ("price", "vwap", "buy", "sell", "cvd", "large-buy", "large-sell", "liq-long",
              "liq-short", "zone", "entry", "stop", "target", "absorbed")

_RC: dict[RcKeyType, Any] = {
    "font.size": 15, "axes.titlesize": 19, "axes.labelsize": 15, "xtick.labelsize": 14,
    "ytick.labelsize": 14, "legend.fontsize": 13, "text.color": FG, "axes.labelcolor": FG,
    "xtick.color": MUTED, "ytick.color": MUTED, "axes.edgecolor": GRID, "path.simplify": True,
}


class PlainTexts(Protocol):
    """A user's texts without markup (``Texts.plain``)."""

    def plain(self, key: str, **args: object) -> str: ...


def chart_labels(t: PlainTexts) -> dict[str, str]:
    """The chart's words in the user's language (Fluent keys ``chart-*``)."""
    return {key: t.plain(f"chart-{key}") for key in LABEL_KEYS}


DEFAULT_LABELS = {
    "price": "Price", "vwap": "VWAP", "buy": "Buy", "sell": "Sell", "cvd": "CVD",
    "large-buy": "Large buy", "large-sell": "Large sell", "liq-long": "Longs liquidated",
    "liq-short": "Shorts liquidated", "zone": "Hunt zone", "entry": "Entry", "stop": "Stop",
    "target": "Target", "absorbed": "Absorbed",
}


# x axis: bucket i is drawn centred on x = i; the view starts EDGE_BUCKETS before the first bucket
# holding data (a feed that just started leaves the older buckets empty) and ends EDGE_BUCKETS
# after the newest one, at least MIN_VIEW_BUCKETS wide
EDGE_BUCKETS = 0.8
MIN_VIEW_BUCKETS = 6
# time ticks: the smallest of these steps (seconds) giving at most MAX_TIME_TICKS intervals, on
# round times of the user's clock (every :00/:15/:30/:45 s, every whole minute, ...)
TIME_STEPS_S = (1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600)
MAX_TIME_TICKS = 6
# room left of the y tick labels (px), so a long price ($0.000010072) never touches the edge
LABEL_PAD_PX = 16


def _has_data(s: ChartSeries, i: int) -> bool:
    return (not math.isnan(s.close[i]) or s.buy_usd[i] > 0 or s.sell_usd[i] > 0
            or s.liq_long_usd[i] > 0 or s.liq_short_usd[i] > 0)


def x_view(s: ChartSeries) -> tuple[float, float]:
    """The x range a chart shows: from just before the first bucket with data to just after the
    newest bucket (never empty minutes before the data starts)."""
    n = max(len(s), 1)
    first = next((i for i in range(len(s)) if _has_data(s, i)), 0)
    first = max(0, min(first, n - MIN_VIEW_BUCKETS))
    return first - EDGE_BUCKETS, n - 1 + EDGE_BUCKETS


def _time_axis(ax: Axes, s: ChartSeries, tz: tzinfo | None) -> None:
    """Ticks every round ``step`` of the user's clock across the view, each one labelled.

    x = i is the middle of bucket i (``times[i]`` is its start), so x maps to the time
    ``times[0] + (x + 0.5) * bucket_s`` and a tick sits where its time falls between candles."""
    zone = tz or UTC
    t0 = s.times[0] if s.times else 0
    b = s.bucket_s
    lo, hi = ax.get_xlim()
    start, end = t0 + (lo + 0.5) * b, t0 + (hi + 0.5) * b
    step = next((st for st in TIME_STEPS_S if (end - start) / st <= MAX_TIME_TICKS), TIME_STEPS_S[-1])
    offset = datetime.fromtimestamp(start, zone).utcoffset()
    off = int(offset.total_seconds()) if offset is not None else 0
    first = math.ceil((start + off) / step) * step - off  # round on the user's clock, not UTC's
    ticks = [(t - t0) / b - 0.5 for t in range(first, math.floor(end) + 1, step)]
    fmt = "%H:%M" if step % 60 == 0 else "%H:%M:%S"
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda x, _pos: datetime.fromtimestamp(round(t0 + (x + 0.5) * b), zone).strftime(fmt)))


class PriceTicks(Formatter):
    """Price axis labels with as many decimals as the tick step needs and no more: "$60,400",
    "$3,012.5", "$0.000010072" (``fmt_price``'s six significant digits would add a zero that
    tells nothing and widens every label)."""

    def __init__(self) -> None:
        self.decimals: int | None = None  # None: one tick only, fmt_price's digits

    def set_locs(self, locs: list[float]) -> None:
        super().set_locs(locs)
        steps = [b - a for a, b in zip(locs, locs[1:]) if b > a]
        if not steps:
            self.decimals = None
            return
        step = min(steps)
        d = max(0, math.ceil(-math.log10(step)))
        # a step like 0.25 or 2.5e-9 needs one more decimal than its magnitude says
        while d < 15 and any(abs(round(v, d) - v) > step * 1e-3 for v in locs):
            d += 1
        self.decimals = d

    def __call__(self, x: float, pos: int | None = None) -> str:
        if self.decimals is None:
            return fmt_price(x)
        return ("-" if x < 0 else "") + f"${abs(x):,.{self.decimals}f}"


def _usd_axis(v: float, _pos: int) -> str:
    return ("-" if v < 0 else "") + fmt_usd(abs(v)) if v else "0"


def _figure() -> tuple[Figure, FigureCanvasAgg]:
    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, facecolor=BG)
    return fig, FigureCanvasAgg(fig)


def _style(ax: Axes) -> None:
    ax.set_facecolor(PANEL)
    ax.grid(True, color=GRID, linewidth=0.8, alpha=0.9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(length=0)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    canvas = fig.canvas
    assert isinstance(canvas, FigureCanvasAgg)  # _figure() made it: its renderer is reused
    canvas.print_png(buf, pil_kwargs={"compress_level": 1})  # zlib level 1: 3x faster, ~20% larger
    return buf.getvalue()


def _bar_points(ax: Axes, share: float) -> float:
    """A line width (points) that makes a vertical line ``share`` of a bucket wide (the x view
    must be set: a bucket is one x unit)."""
    width_px = ax.get_position().width * WIDTH_PX
    lo, hi = ax.get_xlim()
    return max(1.0, share * width_px / max(hi - lo, 1.0) * 72 / DPI)


def _fit_margins(canvas: FigureCanvasAgg, gs: GridSpec, axes: Sequence[Axes]) -> float:
    """Move the panels' left edge so the widest y tick label (and axis label) has LABEL_PAD_PX
    of room before the image edge, and pull the right edge in when the last time label would
    come closer than that to the other edge; returns the new left (figure fraction)."""
    renderer = canvas.get_renderer()
    left_px = (gs.left if gs.left is not None else 0.0) * WIDTH_PX
    need = 0.0
    for ax in axes:
        box = ax.yaxis.get_tightbbox(renderer)
        if box is not None:
            need = max(need, left_px - box.x0)
    left = min(0.4, max(0.05, (need + LABEL_PAD_PX) / WIDTH_PX))
    gs.update(left=left)
    box = axes[-1].xaxis.get_tightbbox(renderer)  # the bottom panel carries the time labels
    right = gs.right if gs.right is not None else 1.0
    if box is not None and box.x1 > WIDTH_PX - LABEL_PAD_PX:
        gs.update(right=right - (box.x1 - (WIDTH_PX - LABEL_PAD_PX)) / WIDTH_PX)
    return left


def _candles(ax: Axes, s: ChartSeries, mult: float) -> None:
    xs_up: list[int] = []
    xs_dn: list[int] = []
    lo_up: list[float] = []
    hi_up: list[float] = []
    lo_dn: list[float] = []
    hi_dn: list[float] = []
    body_up: list[tuple[int, float, float]] = []
    body_dn: list[tuple[int, float, float]] = []
    for i, (o, h, lo, c) in enumerate(zip(s.open, s.high, s.low, s.close)):
        if math.isnan(c):
            continue
        o, h, lo, c = o * mult, h * mult, lo * mult, c * mult
        if c >= o:
            xs_up.append(i)
            lo_up.append(lo)
            hi_up.append(h)
            body_up.append((i, o, c))
        else:
            xs_dn.append(i)
            lo_dn.append(lo)
            hi_dn.append(h)
            body_dn.append((i, c, o))
    ax.vlines(xs_up, lo_up, hi_up, color=BUY, linewidth=1.4)
    ax.vlines(xs_dn, lo_dn, hi_dn, color=SELL, linewidth=1.4)
    width = _bar_points(ax, 0.7)
    for body, color in ((body_up, BUY), (body_dn, SELL)):
        if body:  # a body is a thick vertical line (one LineCollection, not 60 Rectangles: fast)
            tiny = [max(b[2] - b[1], 0.0) for b in body]
            floor = (max(hi_up + hi_dn) - min(lo_up + lo_dn)) * 0.002 if hi_up + hi_dn else 0.0
            ax.vlines([b[0] for b in body], [b[1] for b in body],
                      [b[1] + max(d, floor) for b, d in zip(body, tiny)], color=color, linewidth=width)


def _price_panel(ax: Axes, s: ChartSeries, labels: Mapping[str, str], mult: float) -> None:
    _style(ax)
    _candles(ax, s, mult)
    n = len(s)
    ax.plot(range(n), [v * mult for v in s.vwap], color=VWAP, linewidth=2.0, label=labels["vwap"])
    # large orders: triangles above the high (buys) / below the low (sells), size by count
    for counts, prices, marker, color, key in (
            (s.large_buys, s.high, "^", BUY, "large-buy"), (s.large_sells, s.low, "v", SELL, "large-sell")):
        xs = [i for i, k in enumerate(counts) if k and not math.isnan(prices[i])]
        if xs:
            ax.scatter(xs, [prices[i] * mult for i in xs], s=[40 + 25 * min(counts[i], 12) for i in xs],
                       marker=marker, color=color, edgecolors="white", linewidths=0.6, zorder=4,
                       label=labels[key])
    _liq_markers(ax, s, labels, mult)
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + (hi - lo) * 0.22)  # headroom for the legend
    ax.yaxis.set_major_formatter(PriceTicks())
    ax.yaxis.set_major_locator(MaxNLocator(6))


def _liq_markers(ax: Axes, s: ChartSeries, labels: Mapping[str, str], mult: float) -> None:
    biggest = max(max(s.liq_long_usd, default=0.0), max(s.liq_short_usd, default=0.0))
    if biggest <= 0:
        return
    for usd, prices, color, key in ((s.liq_long_usd, s.low, LIQ_LONG, "liq-long"),
                                    (s.liq_short_usd, s.high, LIQ_SHORT, "liq-short")):
        xs = [i for i, v in enumerate(usd) if v > 0]
        ys = [(prices[i] if not math.isnan(prices[i]) else _near_price(s, i)) * mult for i in xs]
        keep = [(x, y) for x, y in zip(xs, ys) if not math.isnan(y)]
        if keep:
            ax.scatter([x for x, _ in keep], [y for _, y in keep],
                       s=[60 + 900 * math.sqrt(usd[x] / biggest) for x, _ in keep],
                       color=color, alpha=0.55, edgecolors=color, linewidths=1.2, zorder=3,
                       label=labels[key])


def _near_price(s: ChartSeries, i: int) -> float:
    for j in range(i, -1, -1):
        if not math.isnan(s.close[j]):
            return s.close[j]
    return math.nan


def _volume_panel(ax: Axes, s: ChartSeries, labels: Mapping[str, str]) -> None:
    _style(ax)
    n = range(len(s))
    width = _bar_points(ax, 0.8)
    ax.vlines(n, 0, s.buy_usd, color=BUY, linewidth=width, label=labels["buy"])
    ax.vlines(n, [-v for v in s.sell_usd], 0, color=SELL, linewidth=width, label=labels["sell"])
    ax.axhline(0, color=GRID, linewidth=1)
    ax.yaxis.set_major_formatter(FuncFormatter(_usd_axis))
    ax.yaxis.set_major_locator(MaxNLocator(4, symmetric=True))
    ax.legend(loc="upper left", frameon=False, ncol=2)


def _cvd_panel(ax: Axes, s: ChartSeries, labels: Mapping[str, str]) -> None:
    _style(ax)
    ax.plot(range(len(s)), s.cvd, color=CVD, linewidth=2.2, label=labels["cvd"])
    ax.yaxis.set_major_formatter(FuncFormatter(_usd_axis))
    ax.yaxis.set_major_locator(MaxNLocator(4))
    ax.legend(loc="upper left", frameon=False)


def chart_style() -> Any:
    """The charts' matplotlib settings (a context manager); a figure from ``flow_figure`` or
    ``hunt_figure`` is drawn inside it."""
    return matplotlib.rc_context(_RC)


def render_flow_chart(series: ChartSeries, *, title: str = "", labels: Mapping[str, str] | None = None,
                      tz: tzinfo | None = None, quote_mult: float = 1.0) -> bytes:
    """Price candles + VWAP, large orders and liquidations; mirrored taker volume; CVD."""
    with chart_style():
        fig = flow_figure(series, title=title, labels=labels, tz=tz, quote_mult=quote_mult)
        return _png(fig)


def flow_figure(series: ChartSeries, *, title: str = "", labels: Mapping[str, str] | None = None,
                tz: tzinfo | None = None, quote_mult: float = 1.0) -> Figure:
    """``render_flow_chart``'s figure, before it becomes a PNG (draw or save it inside
    ``chart_style()``: tick labels are made at draw time, with the style's font sizes)."""
    labels = {**DEFAULT_LABELS, **(labels or {})}
    with chart_style():
        fig, canvas = _figure()
        gs = fig.add_gridspec(3, 1, height_ratios=(3.2, 1.5, 1.1), hspace=0.08,
                              left=0.14, right=0.97, top=0.93, bottom=0.06)
        ax_p = fig.add_subplot(gs[0])
        ax_v = fig.add_subplot(gs[1], sharex=ax_p)
        ax_c = fig.add_subplot(gs[2], sharex=ax_p)
        ax_p.set_xlim(*x_view(series))  # first: bar widths are measured in buckets of this view
        _price_panel(ax_p, series, labels, quote_mult)
        ax_p.legend(loc="upper left", ncol=3, markerscale=0.6, facecolor=PANEL, edgecolor=GRID, framealpha=0.85)
        _volume_panel(ax_v, series, labels)
        _cvd_panel(ax_c, series, labels)
        for ax in (ax_p, ax_v):
            ax.tick_params(labelbottom=False)
        _time_axis(ax_c, series, tz)
        left = _fit_margins(canvas, gs, (ax_p, ax_v, ax_c))
        fig.suptitle(title or f"{series.symbol} · {series.window}", color=FG, fontsize=21,
                     fontweight="bold", x=left, ha="left", y=0.975)
        return fig


def render_hunt_chart(series: ChartSeries, levels: Levels, *, title: str = "",
                      labels: Mapping[str, str] | None = None, tz: tzinfo | None = None,
                      quote_mult: float = 1.0) -> bytes:
    """The stop-hunt alert's chart as PNG bytes (see ``hunt_figure``)."""
    with chart_style():
        return _png(hunt_figure(series, levels, title=title, labels=labels, tz=tz, quote_mult=quote_mult))


def hunt_figure(series: ChartSeries, levels: Levels, *, title: str = "",
                labels: Mapping[str, str] | None = None, tz: tzinfo | None = None,
                quote_mult: float = 1.0) -> Figure:
    """The last minutes of a stop hunt: price, the hunt zone shaded, liquidations along the
    sweep, absorption (taker volume against the move), entry band, stop and targets as lines.
    ``levels`` is an ``engine.signals.Levels`` (zone_low/high, entry_low/high, stop, targets)."""
    labels = {**DEFAULT_LABELS, **(labels or {})}
    m = quote_mult
    with chart_style():
        fig, canvas = _figure()
        gs = fig.add_gridspec(2, 1, height_ratios=(3.6, 1.3), hspace=0.08,
                              left=0.14, right=0.84, top=0.93, bottom=0.06)
        ax_p = fig.add_subplot(gs[0])
        ax_v = fig.add_subplot(gs[1], sharex=ax_p)
        ax_p.set_xlim(*x_view(series))  # first: bar widths are measured in buckets of this view
        _style(ax_p)
        ax_p.axhspan(levels.zone_low * m, levels.zone_high * m, color=ZONE, alpha=0.16, linewidth=0)
        ax_p.axhspan(levels.entry_low * m, levels.entry_high * m, color=ENTRY, alpha=0.22, linewidth=0)
        _candles(ax_p, series, m)
        _liq_markers(ax_p, series, labels, m)
        marks: list[tuple[float, str, str]] = [
            ((levels.zone_low + levels.zone_high) / 2, labels["zone"], ZONE),
            ((levels.entry_low + levels.entry_high) / 2, labels["entry"], ENTRY),
            (levels.stop, labels["stop"], STOP),
        ]
        ax_p.axhline(levels.stop * m, color=STOP, linewidth=2.0, linestyle="--")
        for k, target in enumerate(levels.targets, 1):
            ax_p.axhline(target * m, color=TARGET, linewidth=1.8, linestyle=":")
            marks.append((target, f"{labels['target']} {k}", TARGET))
        lows = [v for v in series.low if not math.isnan(v)]
        highs = [v for v in series.high if not math.isnan(v)]
        every = lows + highs + [v for v, _l, _c in marks]
        lo, hi = min(every) * m, max(every) * m
        pad = (hi - lo) * 0.06 or hi * 0.001 or 1.0
        ax_p.set_ylim(lo - pad, hi + pad)
        trans = ax_p.get_yaxis_transform()
        for value, text, color in marks:
            ax_p.text(1.01, value * m, f"{text}\n{fmt_price(value * m)}", transform=trans, color=color,
                      fontsize=12, va="center", ha="left", fontweight="bold")
        ax_p.yaxis.set_major_formatter(PriceTicks())
        ax_p.yaxis.set_major_locator(MaxNLocator(6))
        _volume_panel(ax_v, series, {**labels, "buy": labels["buy"], "sell": labels["sell"]})
        ax_v.set_ylabel(labels["absorbed"], color=MUTED)
        ax_p.tick_params(labelbottom=False)
        _time_axis(ax_v, series, tz)
        left = _fit_margins(canvas, gs, (ax_p, ax_v))
        fig.suptitle(title or f"{series.symbol} · stop hunt", color=FG, fontsize=21,
                     fontweight="bold", x=left, ha="left", y=0.975)
        return fig


def quote_unit(signal: Signal) -> tuple[float, str]:
    """(multiplier, unit) the alert's quoted line uses for this coin (1000PEPE on Binance and
    Bybit), or (1, symbol) for coins quoted per coin."""
    quoted = signal.extra.get("quoted")  # {venue: units per quoted unit}, from the engine or the database
    if not isinstance(quoted, dict) or not quoted:
        return 1.0, signal.symbol
    mult = min(int(m) for m in quoted.values())
    return float(mult), unit_name(mult, signal.symbol)


def hunt_chart_job(engine: Engine, signal: Signal, labels: Mapping[str, str], title: str,
                   tz: tzinfo | None = None) -> tuple[CacheKey, Callable[[], bytes]] | None:
    """(cache key, render thunk) for a stop-hunt alert's chart, the series read NOW (on the
    event loop, O(300 s)); None when the alert has no levels or the engine no data."""
    levels = signal.levels
    if levels is None:
        return None
    series = engine.hunt_chart(signal.symbol)
    if series is None or series.empty:
        return None
    mult, _unit = quote_unit(signal)
    key = ("hunt", signal.symbol, series.version, levels.stop, title, str(tz))

    def thunk() -> bytes:
        return render_hunt_chart(series, levels, title=title, labels=labels, tz=tz, quote_mult=mult)
    return key, thunk


class DemoCharts:
    """``teleglas demo --charts DIR``: the chart each new stop-hunt alert would carry, rendered
    at the moment of the alert, and a 15m /flow chart per coin at the end."""

    def __init__(self, engine: Engine, out_dir: str | Path, lang: str = "en") -> None:
        from bot.i18n import Texts
        from locales import translator

        self.engine = engine
        self.dir = Path(out_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.t = Texts(translator(), lang)
        self.labels = chart_labels(self.t)
        self.written: list[Path] = []

    def on_signal(self, signal: Signal) -> None:
        if signal.edits is not None or signal.kind.value != "STOP_HUNT":
            return
        _mult, unit = quote_unit(signal)
        job = hunt_chart_job(self.engine, signal, self.labels, self.t.plain("chart-hunt-title", symbol=unit))
        if job is not None:
            self._write(f"{len(self.written) + 1:03d}-{signal.symbol}-stop-hunt.png", job[1]())

    def finish(self, symbols: Sequence[str], window: str = "15m") -> None:
        for symbol in symbols:
            series = self.engine.flow_chart(symbol, window)
            if series is not None and not series.empty:
                self._write(f"flow-{symbol}-{window}.png",
                            render_flow_chart(series, title=f"{symbol} · {window}", labels=self.labels))

    def _write(self, name: str, png: bytes) -> None:
        path = self.dir / name
        path.write_bytes(png)
        self.written.append(path)


class ChartRenderer:
    """One worker thread, a bounded backlog and a small LRU cache shared by every user.

    ``render(key, fn, *args)`` returns the PNG for ``key`` (which must contain the state
    version): a cached one, the in-flight one another caller is waiting for, or a fresh render
    in the worker. ``None`` when the backlog is full (the caller sends text only).
    """

    def __init__(self, *, workers: int = 1, backlog: int = 8, cache_size: int = 64) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="charts")
        self._backlog = backlog
        self._cache_size = cache_size
        self._cache: OrderedDict[CacheKey, bytes] = OrderedDict()
        self._inflight: dict[CacheKey, asyncio.Future[bytes]] = {}
        self._lock = threading.Lock()
        self.renders = 0
        self.hits = 0
        self.refused = 0

    async def render(self, key: CacheKey, fn: Callable[..., bytes], *args: Any, **kwargs: Any) -> bytes | None:
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            self.hits += 1
            return cached
        waiting = self._inflight.get(key)
        if waiting is not None:
            self.hits += 1
            return await asyncio.shield(waiting)
        if len(self._inflight) >= self._backlog:
            self.refused += 1
            return None
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._pool, lambda: fn(*args, **kwargs))
        self._inflight[key] = future
        try:
            png = await asyncio.shield(future)
        finally:
            self._inflight.pop(key, None)
        self.renders += 1
        self._cache[key] = png
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return png

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def synthetic_series(symbol: str = "BTC", window: str = "15m", *, n: int = 60, bucket_s: int = 15,
                     start: int = 1_765_000_000, price: float = 61_000.0, seed: int = 7) -> ChartSeries:
    """A deterministic random-walk series (benchmarks, tests, docs samples)."""
    import random

    rnd = random.Random(seed)
    o, h, lo, c, buy, sell, cvd, vw, lb, ls, ll, lsh = ([] for _ in range(12))
    p, run, notional, qty = price, 0.0, 0.0, 0.0
    for _ in range(n):
        op = p
        ticks = [p := p * (1 + rnd.gauss(0, 0.0009)) for _ in range(8)]
        b, s_ = rnd.uniform(2e5, 2e6), rnd.uniform(2e5, 2e6)
        if ticks[-1] > op:
            b *= 1.6
        else:
            s_ *= 1.6
        run += b - s_
        notional += b + s_
        qty += (b + s_) / ((max(ticks) + min(ticks)) / 2)
        o.append(op)
        h.append(max([op, *ticks]))
        lo.append(min([op, *ticks]))
        c.append(ticks[-1])
        buy.append(b)
        sell.append(s_)
        cvd.append(run)
        vw.append(notional / qty)
        lb.append(rnd.choice((0, 0, 0, 1, 2, 5)))
        ls.append(rnd.choice((0, 0, 0, 1, 3)))
        ll.append(rnd.choice((0.0,) * 6 + (rnd.uniform(5e4, 2e6),)))
        lsh.append(rnd.choice((0.0,) * 7 + (rnd.uniform(5e4, 1e6),)))
    times = tuple(start + i * bucket_s for i in range(n))
    return ChartSeries(symbol=symbol, window=window, bucket_s=bucket_s, times=times, open=tuple(o),
                       high=tuple(h), low=tuple(lo), close=tuple(c), buy_usd=tuple(buy),
                       sell_usd=tuple(sell), cvd=tuple(cvd), vwap=tuple(vw), large_buys=tuple(lb),
                       large_sells=tuple(ls), liq_long_usd=tuple(ll), liq_short_usd=tuple(lsh),
                       large_threshold_usd=25_000.0, version=start + n * bucket_s)


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR; ValueError when it is not a PNG."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


__all__: Sequence[str] = ("ChartRenderer", "render_flow_chart", "render_hunt_chart", "chart_labels",
                          "synthetic_series", "png_size", "WIDTH_PX", "HEIGHT_PX")
