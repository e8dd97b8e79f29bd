"""The ``teleglas`` command line: run, demo, record, replay, backtest.

Settings errors end the process with exit code 2 and one line naming the variable.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.errors import StartupError
from bot.loop import run as run_loop
from config.settings import ConfigError, Settings, configure_logging, load_settings
from engine.core import Engine, run_feeds
from engine.detectors.orderflow import WARMUP_S as FLOW_WARMUP_S
from engine.feeds.base import FeedStats
from engine.feeds.replay import ReplayFeed
from engine.scoring import decoy_alarms, match_episodes, outside_episodes, wrong_upgrades
from engine.signals import Signal, SignalEngine
from engine.simulator import MarketSimulator, SimulatorFeed
from storage.errors import DatabaseLocked, StorageError

if TYPE_CHECKING:
    from engine.contract import Below

log = logging.getLogger(__name__)


class TerminalSink:
    """Prints each alert as a subscriber would read it (same renderer as the bot, minus HTML)."""

    def __init__(self, lang: str = "en", out: TextIO | None = None, show: bool = True) -> None:
        from bot.render import html_to_text, render_signal

        self._render = render_signal
        self._plain = html_to_text
        self.lang = lang
        self.out = out or sys.stdout
        self.show = show
        self.signals: list[Signal] = []
        self.reaching_default = 0  # signals a subscriber with default settings would receive
        # demo --charts: called with each signal after it is printed
        self.on_signal: Callable[[Signal], None] | None = None

    def emit(self, signal: Signal) -> None:
        self.signals.append(signal)
        skip = default_subscriber_skip(signal)
        if skip is None and signal.edits is None:
            self.reaching_default += 1
        if self.show:
            text = self._plain(self._render(signal, self.lang))
            print("─" * 48, file=self.out)
            if signal.edits is not None:  # Telegram shows this in the earlier alert's message
                print(_text(self.lang, "demo-edit-of", id=str(signal.edits)), file=self.out)
            print(text, file=self.out, flush=True)
            if skip is not None:
                print(_text(self.lang, "demo-not-default", reason=skip.value.replace("_", " ")),
                      file=self.out, flush=True)
        if self.on_signal is not None:
            self.on_signal(signal)


def default_subscriber_skip(signal: Signal) -> Below | None:
    """Why a subscriber with default settings would not get ``signal`` (None: they would): the
    threshold contract delivery applies (``engine.contract``; default users take every tier, no
    mutes, no quiet hours). Pure: no Telegram library is imported for it."""
    from engine.contract import check

    return check(signal)[0]


def installed_version() -> str:
    """The version pip installed (``pyproject.toml``'s ``version``, read from the package metadata,
    so it is the one a bug report should quote)."""
    from importlib.metadata import version

    return version("teleglas")


class _VersionAction(argparse.Action):
    """``--version``: like argparse's own, but the package metadata is read only when asked for
    (not on every start of ``teleglas run``)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[Any] | None, option_string: str | None = None) -> None:
        print(f"{parser.prog} {installed_version()}")
        parser.exit()


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="teleglas", description="Real-time crypto-futures market intelligence")
    p.add_argument("--version", action=_VersionAction, help="print the installed version and exit")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="bot + engine, the long-running service")
    d = sub.add_parser("demo", help="no token, no network: the engine on the simulator (or a recording)")
    d.add_argument("--replay", metavar="FILE", help="replay a recording instead of the simulator")
    d.add_argument("--seed", type=int, default=7, help="simulator seed (default 7)")
    d.add_argument("--minutes", type=float, default=60.0, help="simulated minutes (default 60)")
    d.add_argument("--speed", type=float, default=0.0, help="0 = as fast as possible (default), 1 = real time")
    d.add_argument("--lang", default="en", choices=["en", "id"], help="language of the alerts and the summary")
    d.add_argument("--quiet", action="store_true", help="print only the summary")
    d.add_argument("--charts", metavar="DIR", help="write the charts the alerts would carry (PNG) into DIR")
    rec = sub.add_parser("record", help="record raw frames from the live sources (replay format)")
    rec.add_argument("--out", required=True, metavar="FILE", help="output file; gzip when it ends in .gz")
    rec.add_argument("--duration", type=float, metavar="S", help="seconds to record (default: until Ctrl-C)")
    rec.add_argument("--symbols", default="BTC,ETH", help="comma list of coins to subscribe (default BTC,ETH)")
    r = sub.add_parser("replay", help="run the engine over a recording and print the signals")
    r.add_argument("file")
    r.add_argument("--speed", type=float, default=0.0, help="0 = as fast as possible (default), 1 = real time")
    r.add_argument("--lang", default="en", choices=["en", "id"])
    r.add_argument("--json", action="store_true",
                   help="one JSON object per signal on stdout (the summary goes to stderr)")
    b = sub.add_parser("backtest", help="replay with outcomes: hit rates, R, calibration, latency")
    b.add_argument("file", nargs="?", help="a recording (replay format); or use --simulator")
    b.add_argument("--simulator", action="store_true", help="backtest the built-in simulator instead")
    b.add_argument("--seed", type=int, default=7, help="simulator seed (default 7)")
    b.add_argument("--minutes", type=float, default=240.0, help="simulated minutes (default 240)")
    b.add_argument("--seeds", type=int, default=1,
                   help="simulator: run this many seeds (from --seed on) and report them together")
    b.add_argument("--since", metavar="TIME", help="skip events before TIME (ISO 8601 or epoch s/ms)")
    b.add_argument("--until", metavar="TIME", help="stop at events after TIME (ISO 8601 or epoch s/ms)")
    b.add_argument("--json", action="store_true", help="the report as one JSON document on stdout")
    b.add_argument("--write-calibration", metavar="FILE",
                   help="write the score -> hit-rate calibration file (load it with CALIBRATION_PATH)")
    b.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return p


def _text(lang: str, key: str, **args: str) -> str:
    """A terminal string from locales/<lang>/cli.ftl (arguments are preformatted text)."""
    from locales import translator

    return translator().get(lang, key, **args)


def _summary(engine: Engine, sink: TerminalSink, elapsed: float, sim: MarketSimulator | None,
             feed_stats: FeedStats | None = None, lang: str | None = None) -> None:
    lang = lang or sink.lang

    def t(key: str, **args: object) -> str:
        return _text(lang, key, **{k: (f"{v:,}" if isinstance(v, int) else str(v)) for k, v in args.items()})

    st = engine.stats
    rate = st.events / elapsed if elapsed > 0 else 0.0
    print("═" * 48)
    print(t("demo-events", events=st.events, trades=st.trades, liquidations=st.liquidations,
            funding=st.fundings, marks=st.marks, rejected=st.rejected))
    print(t("demo-wall", seconds=f"{elapsed:.2f}", rate=f"{rate:,.0f}"))
    if feed_stats is not None:
        print(t("demo-frames", frames=feed_stats.frames, errors=feed_stats.parse_errors, ignored=feed_stats.ignored))
    if sim is None and st.liquidations == 0:
        print(t("demo-no-liquidations"))
    alerts = [s for s in sink.signals if s.edits is None]  # updates edit an alert, not new ones
    kinds = Counter(s.kind.value for s in alerts)
    tiers = Counter(s.tier.value for s in alerts)
    print(t("demo-signals", alerts=len(alerts), updates=len(sink.signals) - len(alerts),
            suppressed=engine.signals.suppressed, reaching=sink.reaching_default))
    for kind, n in sorted(kinds.items()):
        print(f"  {kind:<20} {n}")
    if tiers:
        print(f"  {t('demo-by-tier')}: " + ", ".join(f"{tier} {n}" for tier, n in sorted(tiers.items())))
    if sim is not None:
        results = match_episodes(sim.episodes, sink.signals)
        caught = sum(r.caught for r in results)
        print(t("demo-episodes", caught=caught, total=len(results)))
        for r in results:
            ep = r.episode
            start = (ep.start_ts - sim.start_ts) / 1000
            if (caught_by := r.caught_by) is not None:
                # measured like the rule above: from the episode's start, and against its end
                past_end = (caught_by.ts - ep.end_ts) / 1000
                if abs(past_end) < 0.05:
                    when = t("demo-at-end")
                elif past_end < 0:
                    when = t("demo-before-end", seconds=f"{-past_end:.1f}")
                else:
                    when = t("demo-after-end", seconds=f"{past_end:.1f}")
                verdict = t("demo-caught", into=f"{(caught_by.ts - ep.start_ts) / 1000:.1f}", when=when,
                            tier=caught_by.tier.value, score=caught_by.confidence)
            elif r.related:
                verdict = t("demo-missed-saw", kinds=", ".join(
                    sorted({f"{s.kind.value} {s.direction.value}" for s in r.related})))
            else:
                verdict = t("demo-missed")
            if not r.caught and ep.kind in ("ACCUMULATION", "DISTRIBUTION") and (
                    ep.end_ts - sim.start_ts) / 1000 < FLOW_WARMUP_S:
                verdict += " " + t("demo-missed-warmup", minutes=f"{FLOW_WARMUP_S / 60:.0f}")
            print(f"  t+{start:6.0f}s {ep.kind:<19} {ep.direction:<7} {ep.symbol:<5} {verdict}")
        decoys = decoy_alarms(sim.episodes, sink.signals)
        if decoys:
            alarmed = {ep: sigs for ep, sigs in decoys.items() if sigs}
            print(t("demo-decoys", ignored=len(decoys) - len(alarmed), total=len(decoys)))
            for ep, sigs in alarmed.items():
                print(f"  t+{(ep.start_ts - sim.start_ts) / 1000:6.0f}s {ep.kind} {ep.symbol}: {t('demo-false-alarm')} "
                      + ", ".join(f"{s.kind.value} {s.direction.value}" for s in sigs))
        wrong = wrong_upgrades(sim.episodes, sink.signals)
        print(t("demo-wrong-upgrades", count=len(wrong)))
        quiet = outside_episodes(sim.episodes, sink.signals)
        span = (t("demo-span-hours", hours=f"{round(sim.duration_s / 3600, 2):g}") if sim.duration_s >= 3600
                else t("demo-span-minutes", minutes=f"{round(sim.duration_s / 60, 1):g}"))
        print(t("demo-quiet", count=len(quiet), span=span, symbols=len(sim.symbols)))


def _demo_usage_error(args: argparse.Namespace) -> str | None:
    """Checked before the loop starts (no file system calls on the loop)."""
    if args.replay and not Path(args.replay).is_file():
        return f"--replay {args.replay}: no such file"
    if not args.replay and args.minutes <= 0:
        return "--minutes must be positive"
    return None


async def _demo(args: argparse.Namespace) -> int:
    sink = TerminalSink(args.lang, show=not args.quiet)
    engine = Engine(SignalEngine(sink))
    charts = None
    if args.charts:
        from bot.charts import DemoCharts

        charts = DemoCharts(engine, args.charts, args.lang)
        sink.on_signal = charts.on_signal
    sim = None
    replay = None
    feed: ReplayFeed | SimulatorFeed
    if args.replay:
        feed = replay = ReplayFeed(args.replay, speed=args.speed)
        print(_text(args.lang, "demo-header-replay", file=args.replay))
    else:
        sim = MarketSimulator(seed=args.seed, duration_s=args.minutes * 60)
        feed = SimulatorFeed(sim, speed=args.speed)
        print(_text(args.lang, "demo-header-sim", seed=str(args.seed), minutes=f"{args.minutes:g}",
                    symbols=", ".join(s.symbol for s in sim.symbols), venues=", ".join(sim.venues)))
    t0 = time.perf_counter()
    await run_feeds(engine, [feed])
    elapsed = time.perf_counter() - t0
    if replay is not None and (why := replay.not_a_recording()):
        print(f"teleglas demo: --replay {why}", file=sys.stderr)
        return 2
    _summary(engine, sink, elapsed, sim, feed.stats)
    if charts is not None:
        charts.finish(sorted(engine.states))
        print(_text(args.lang, "demo-charts", count=str(len(charts.written)), dir=str(args.charts)))
    return 0


async def _replay(args: argparse.Namespace) -> int:
    if args.json:
        from bot.backtest import run_offline, signal_json, write_json_line

        replay = ReplayFeed(args.file)
        run = run_offline(replay.events(), track=False,
                          on_signal=lambda s: write_json_line(signal_json(s)))
        if why := replay.not_a_recording():
            print(f"teleglas replay: {why}", file=sys.stderr)
            return 2
        print(f"signals: {len(run.signals)} · events: {run.engine.stats.events:,}", file=sys.stderr)
        if run.engine.stats.liquidations == 0:
            print(_text(args.lang, "demo-no-liquidations"), file=sys.stderr)
        return 0
    sink = TerminalSink(args.lang)
    engine = Engine(SignalEngine(sink))
    feed = ReplayFeed(args.file, speed=args.speed)
    t0 = time.perf_counter()
    await run_feeds(engine, [feed])
    if why := feed.not_a_recording():
        print(f"teleglas replay: {why}", file=sys.stderr)
        return 2
    _summary(engine, sink, time.perf_counter() - t0, None, feed.stats)
    return 0


async def _run() -> int:
    settings = load_settings(need_token=True)
    configure_logging(settings.LOG_LEVEL)
    from bot.app import run_app

    return await run_app(settings)


def _record(settings: Settings, args: argparse.Namespace) -> int:
    """``teleglas record``: the arguments are checked before any venue is contacted; one line when
    the recording starts, one summary line per feed at the end. Exit 0, or 2 for a usage or
    configuration error."""
    from engine.feeds.live import FeedConfigError
    from engine.feeds.record import record, recorded_sources
    from engine.feeds.registry import SubscriptionRegistry

    def usage(message: str) -> int:
        print(f"teleglas record: {message}", file=sys.stderr)
        return 2

    out, duration = args.out, args.duration
    try:
        symbols = SubscriptionRegistry(s for s in (p.strip() for p in args.symbols.split(",")) if s).symbols
    except ValueError as exc:
        return usage(f"--symbols: {exc}")
    if duration is not None and duration <= 0:
        return usage("--duration must be positive")
    if not Path(out).resolve().parent.is_dir():
        return usage(f"--out {out}: directory does not exist")
    try:
        sources = recorded_sources(settings)
    except FeedConfigError as exc:
        return usage(str(exc))
    print(f"recording {', '.join(sorted(symbols))} from {', '.join(sources)} to {out}"
          + (f" for {duration:g} s" if duration else " until Ctrl-C"), flush=True)
    t0 = time.monotonic()
    try:
        result = run_loop(record(settings, out, duration=duration, symbols=symbols))
    except FeedConfigError as exc:
        return usage(str(exc))
    print(f"{result['frames']:,} frames written in {time.monotonic() - t0:.1f} s")
    for name, st in result["feeds"].items():
        print(f"  {name:<10} frames {st['frames']:,} · events {st['events']:,} · parse errors {st['parse_errors']:,} · "
              f"vendor errors {st['vendor_errors']:,} · reconnects {st['reconnects']:,} · state {st['state']}"
              + (f" · {st['last_error']}" if st["last_error"] else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return run_loop(_run())
        if args.command == "demo":
            # the demo reads no settings at all: no token, no network, and a half-edited .env
            # for the real service must not stop a newcomer from seeing it work
            configure_logging("WARNING")
            if why := _demo_usage_error(args):
                print(f"teleglas demo: {why}", file=sys.stderr)
                return 2
            return run_loop(_demo(args))
        settings = load_settings(need_database=False)
        configure_logging(settings.LOG_LEVEL)
        if args.command == "replay":
            if not Path(args.file).is_file():
                print(f"teleglas replay: {args.file}: no such file", file=sys.stderr)
                return 2
            return run_loop(_replay(args))
        if args.command == "backtest":
            from bot.backtest import backtest_command

            return backtest_command(args)
        if args.command == "record":
            return _record(settings, args)
    except ConfigError as exc:
        print(f"teleglas: configuration error: {exc}", file=sys.stderr)
        return 2
    except DatabaseLocked as exc:  # temporary: exit 1 so the service manager tries again
        print(f"teleglas: database error: {exc}", file=sys.stderr)
        return 1
    except StorageError as exc:
        print(f"teleglas: database error: {exc}", file=sys.stderr)
        return 2
    except StartupError as exc:
        print(f"teleglas: cannot start: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `teleglas demo | head`: the reader left, which is not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return 2
