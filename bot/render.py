"""Alert text: one renderer for the bot (Telegram HTML) and ``teleglas demo`` (plain text).

Every value that comes from data is HTML-escaped before it reaches a template; templates live
in ``locales/<lang>/alerts.ftl``. Messages are kept under Telegram's 4096-character limit.
"""
from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, tzinfo, UTC

from engine.signals import Kind, Signal, Tier
from engine.symbols import unit_name
from locales import Translator, translator

TELEGRAM_TEXT_LIMIT = 4096
BAR_WIDTH = 20


def fmt_usd(value: float) -> str:
    sign = "-" if value < 0 else ""
    v = abs(value)
    if v >= 1e9:
        return f"{sign}${v / 1e9:.2f}B"
    if v >= 1e6:
        return f"{sign}${v / 1e6:.2f}M"
    if v >= 1e3:
        return f"{sign}${v / 1e3:.1f}K"
    return f"{sign}${v:,.0f}"


def fmt_signed_usd(value: float) -> str:
    return ("+" if value >= 0 else "") + fmt_usd(value)


def fmt_price(value: float) -> str:
    """Enough significant digits for any coin: 61,234.5 / 3,012.25 / 0.14735 / 0.0000102345."""
    v = abs(value)
    if v >= 1000:
        return f"${value:,.1f}"
    if v >= 1:
        return f"${value:,.3f}".rstrip("0").rstrip(".") if v < 100 else f"${value:,.2f}"
    if v == 0:
        return "$0"
    text = f"{value:.6g}" if v >= 1e-4 else f"{value:.6e}"
    if "e" in text:  # tiny prices: fixed notation with 6 significant digits
        digits = max(0, -int(f"{v:e}".split("e")[1]) + 5)
        text = f"{value:.{digits}f}"
    return "$" + text


def fmt_pct(share: float, digits: int = 0) -> str:
    """A share as a percentage that never rounds to 100 % (or 0 %) when it is not exactly that:
    "100% longs" next to "Shorts: $5.6K" reads as a contradiction."""
    value = share * 100
    step = 10.0 ** -digits
    if 0 < share < 1:
        value = min(max(value, step), 100 - step)
        if round(value, digits) >= 100:
            value = 100 - step
        elif round(value, digits) <= 0:
            value = step
    return f"{value:.{digits}f}%"


def bar(share: float, width: int = BAR_WIDTH) -> str:
    share = min(1.0, max(0.0, share))
    full = round(share * width)
    return "█" * full + "░" * (width - full)


def utc_offset_text(offset: timedelta | None) -> str:
    """timedelta(hours=7) -> 'UTC+7', -5h30m -> 'UTC-5:30', zero or None -> 'UTC'."""
    minutes = round(offset.total_seconds() / 60) if offset else 0
    if not minutes:
        return "UTC"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{'+' if minutes > 0 else '-'}{hours}" + (f":{rest:02d}" if rest else "")


def fmt_time(ts_ms: int, tz: tzinfo | None = None) -> str:
    """Event time in the reader's zone: its short name when it has one ('WIB'), else 'UTC+7'
    (zones given as an offset are named like '+07', which reads as nothing)."""
    dt = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    if tz is not None:
        dt = dt.astimezone(tz)
        name = dt.strftime("%Z")
        if not name or name[0] in "+-" or name.startswith("Etc"):
            name = utc_offset_text(dt.utcoffset())
        return dt.strftime("%Y-%m-%d %H:%M:%S ") + name
    return dt.strftime("%Y-%m-%d %H:%M:%S UTC")


def fmt_rate(fraction: float, digits: int = 3) -> str:
    """A signed funding rate given as a fraction: 0.0011 -> '+0.110%'."""
    return f"{fraction * 100:+.{digits}f}%"


def fmt_rates_by_venue(rates: Mapping[str, float], digits: int = 3) -> str:
    """Funding per venue, venues in name order: 'binance +0.010% · bybit +0.012%'."""
    return " · ".join(f"{venue} {fmt_rate(float(rate), digits)}" for venue, rate in sorted(rates.items()))


def buy_sell_shares(buy_share: float, width: int = BAR_WIDTH) -> dict[str, str]:
    """Buy and sell shares of taker volume as percentages and text bars (the sell share is the
    rest): the ``buy_share``/``buy_bar``/``sell_share``/``sell_bar`` of alerts and /flow."""
    sell_share = 1.0 - buy_share
    return {"buy_share": fmt_pct(buy_share), "buy_bar": bar(buy_share, width),
            "sell_share": fmt_pct(sell_share), "sell_bar": bar(sell_share, width)}


def fmt_distance(level: float, price: float) -> str:
    """How far a level is from the current price, signed: '+0.52%', '-1.30%'."""
    if price <= 0:
        return "—"
    return f"{(level - price) / price * 100:+.2f}%"


def fmt_r(target: float, entry: float, risk: float, long_setup: bool) -> str:
    """A target's reward in units of the risk (entry to stop): '2.1R'."""
    if risk <= 0:
        return "—R"
    reward = (target - entry) if long_setup else (entry - target)
    return f"{reward / risk:.1f}R"


def fmt_ratio(value: float) -> str:
    return f"{value:.1f}"


def escape(value: object) -> str:
    """THE HTML escaping of a value for Telegram HTML (bot messages and alerts alike)."""
    return html.escape(str(value), quote=False)


_e = escape


def _reason(tr: Translator, lang: str, name: str) -> str:
    try:
        return tr.get(lang, f"reason-{name.replace('_', '-')}")
    except KeyError:
        return name.replace("_", " ")


def _body(sig: Signal, t, tz: tzinfo | None) -> str:
    """The kind-specific lines. Every value is escaped here, templates add the markup."""
    m = sig.magnitudes
    g = m.get
    direction = _e(t("direction-word", direction=sig.direction.value))
    kind = sig.kind
    if kind is Kind.LIQUIDATION_CASCADE:
        long_usd, short_usd = g("liq_long_usd", 0.0), g("liq_short_usd", 0.0)
        flushed = str(sig.extra.get("flushed") or ("LONG" if long_usd >= short_usd else "SHORT"))
        status = str(sig.extra.get("status") or "in_progress")
        return t(
            "alert-cascade-body",
            status=status, duration=_e(f"{g('window_s', 30):.0f}"),
            window=_e(f"{g('window_s', 30):g}"), total=_e(fmt_usd(g("liq_usd", 0.0))),
            share=_e(fmt_pct(g("dominance", 0.0))), flushed=_e(t("position-word", position=flushed)),
            long_usd=_e(fmt_usd(long_usd)), short_usd=_e(fmt_usd(short_usd)),
            count=int(g("count", 0)), zone_low=_e(fmt_price(g("zone_low", 0.0))),
            zone_high=_e(fmt_price(g("zone_high", 0.0))),
            pressure="DOWN" if flushed == "LONG" else "UP",
            setup=_e(t("direction-word", direction="LONG" if flushed == "LONG" else "SHORT")),
        )
    if kind is Kind.STOP_HUNT and sig.levels is not None:
        lv = sig.levels
        long_setup = sig.direction.value == "LONG"
        price = g("price", 0.0)
        mid = (lv.entry_low + lv.entry_high) / 2
        risk = abs(mid - lv.stop)
        targets = " / ".join(
            f"{fmt_price(x)} ({fmt_distance(x, price)}, {fmt_r(x, mid, risk, long_setup)})" for x in lv.targets)
        body = t(
            "alert-stophunt-body",
            total=_e(fmt_usd(g("liq_usd", 0.0))),
            flushed=_e(t("position-word", position="LONG" if long_setup else "SHORT")),
            zone_low=_e(fmt_price(lv.zone_low)), zone_high=_e(fmt_price(lv.zone_high)),
            absorb_usd=_e(fmt_usd(g("absorb_usd", 0.0))),
            absorb_side=_e(t("side-word", side="BUY" if long_setup else "SELL")),
            absorb_share=_e(fmt_pct(g("absorb_share", 0.0))),
            large_count=int(g("large_count", 0)), whale=_e(fmt_usd(g("whale_usd", 0.0))),
            reclaim=_e(fmt_pct(g("reclaim", 0.0))), direction=direction,
            price=_e(fmt_price(price)),
            entry_low=_e(fmt_price(lv.entry_low)), entry_high=_e(fmt_price(lv.entry_high)),
            entry_dist=_e(f"{fmt_distance(lv.entry_low, price)} / {fmt_distance(lv.entry_high, price)}"),
            stop=_e(fmt_price(lv.stop)), stop_dist=_e(fmt_distance(lv.stop, price)),
            stop_where=_e(t("stop-below" if lv.stop < lv.zone_low else "stop-above")),
            targets=_e(targets),
            expires=_e(fmt_time(lv.expires_ts, tz)),
        )
        return body + _quoted_lines(sig, t)
    if kind in (Kind.ACCUMULATION, Kind.DISTRIBUTION):
        buy_share = g("buy_share", 0.5)
        window_s = g("window_s", 300.0)
        window = f"{window_s / 60:g}m" if window_s >= 60 else f"{window_s:g}s"
        shares = {k: _e(v) for k, v in buy_sell_shares(buy_share).items()}
        return t(
            "alert-flow-body",
            window=_e(window), buy_usd=_e(fmt_usd(g("buy_usd", 0.0))),
            sell_usd=_e(fmt_usd(g("sell_usd", 0.0))), **shares,
            large_buys=int(g("large_buys", 0)), large_sells=int(g("large_sells", 0)),
            whale=_e(fmt_usd(g("whale_usd", 0.0))), net_delta=_e(fmt_signed_usd(g("net_delta", 0.0))),
            mood=_e(t("flow-mood", direction=sig.direction.value)),
            price=_e(fmt_price(g("price", 0.0))), vwap=_e(fmt_price(g("vwap", 0.0))), direction=direction,
        )
    if kind is Kind.WHALE_WINDOW:
        return t(
            "alert-whale-body",
            count=int(g("whale_count", 0)),
            side=_e(t("side-word", side="BUY" if sig.direction.value == "LONG" else "SELL")),
            whale=_e(fmt_usd(g("whale_usd", 0.0))), window=_e(f"{g('window_s', 60):g}"),
            cluster_usd=_e(fmt_usd(g("cluster_usd", 0.0))), opposite=int(g("opposite_count", 0)),
            baseline=_e(fmt_ratio(g("baseline_per_min", 0.0))), price=_e(fmt_price(g("price", 0.0))),
            direction=direction,
        )
    if kind is Kind.FUNDING_EXTREME:
        by_venue = sig.extra.get("funding_by_venue")
        venues = fmt_rates_by_venue(by_venue if isinstance(by_venue, Mapping) else {})
        return t(
            "alert-funding-body",
            rate=_e(fmt_rate(g("funding_8h", 0.0))), max_rate=_e(fmt_rate(g("funding_max_8h", 0.0))),
            by_venue=_e(venues), who=_e(t("funding-who", direction=sig.direction.value)),
            direction=direction,
        )
    if kind is Kind.DIVERGENCE:
        hi = str(sig.extra.get("venue_high", sig.venues[0] if sig.venues else "?"))
        lo = str(sig.extra.get("venue_low", sig.venues[-1] if sig.venues else "?"))
        if "share_gap" in m:
            return t(
                "alert-divergence-flow-body", venue_high=_e(hi), venue_low=_e(lo),
                share_high=_e(fmt_pct(g("buy_share_high", 0.0))),
                share_low=_e(fmt_pct(g("buy_share_low", 0.0))),
            )
        return t(
            "alert-divergence-price-body", venue_high=_e(hi), venue_low=_e(lo),
            price_high=_e(fmt_price(g("price_high", 0.0))), price_low=_e(fmt_price(g("price_low", 0.0))),
            bps=_e(f"{g('spread_bps', 0.0):.0f}"), max_bps=_e(f"{g('max_bps', g('spread_bps', 0.0)):.0f}"),
            duration=_e(f"{g('duration_s', 0.0):.0f}"),
        )
    # VOLUME_SPIKE (and a stop hunt without levels, which the engine never emits)
    shares = buy_sell_shares(g("buy_share", 0.5))
    return t(
        "alert-spike-body",
        volume=_e(fmt_usd(g("volume_usd", 0.0))), ratio=_e(fmt_ratio(g("ratio", 0.0))),
        baseline=_e(fmt_usd(g("baseline_usd", 0.0))), buy_share=_e(shares["buy_share"]),
        buy_bar=_e(shares["buy_bar"]), large_buys=int(g("large_buys", 0)),
        large_sells=int(g("large_sells", 0)), price=_e(fmt_price(g("price", 0.0))),
        direction=direction,
    )


def _quoted_lines(sig: Signal, t) -> str:
    """The levels again in the unit a venue quotes the coin in (1000PEPE on Binance and Bybit), so
    they can be typed into that venue's order ticket as they are."""
    quoted = sig.extra.get("quoted")
    lv = sig.levels
    if not isinstance(quoted, Mapping) or not quoted or lv is None:
        return ""
    by_mult: dict[int, list[str]] = {}
    for venue, mult in sorted(quoted.items()):
        by_mult.setdefault(int(mult), []).append(str(venue))
    lines = []
    for mult, venues in sorted(by_mult.items()):
        unit = unit_name(mult, sig.symbol)
        def p(x: float, mult: int = mult) -> str:
            return fmt_price(x * mult)

        lines.append(t(
            "alert-quoted-levels", unit=_e(unit), venues=_e(", ".join(venues)),
            entry_low=_e(p(lv.entry_low)), entry_high=_e(p(lv.entry_high)), stop=_e(p(lv.stop)),
            targets=_e(" / ".join(p(x) for x in lv.targets)),
        ))
    return "\n" + "\n".join(lines)


def render_signal(sig: Signal, lang: str = "en", *, tz: tzinfo | None = None,
                  tr: Translator | None = None, show_upgrade: bool = True,
                  tier: Tier | None = None) -> str:
    """The alert a subscriber reads, as Telegram HTML: headline (tier, kind, symbol), the numbers
    of its kind, the score with its top reasons, the venues and the event time.

    ``show_upgrade=False`` leaves out the "update to the earlier alert" line of a signal that
    upgrades an earlier one: delivery passes it for a reader who never received that alert.
    ``tier``: the reader's own tier for the signal (``engine.contract``), else its headline tier."""
    tr = tr or translator()
    t = lambda key, **kw: tr.get(lang, key, **kw)  # noqa: E731
    lines = [t("alert-headline", badge=_e(t("tier-badge", tier=(tier or sig.tier).value)),
               kind=_e(t("kind-name", kind=sig.kind.value)), symbol=_e(sig.symbol))]
    if sig.upgrades and show_upgrade:
        lines.append(t("alert-upgrade"))
    lines.append("")
    lines.append(_body(sig, t, tz))
    lines.append("")
    lines.append(t("alert-score", score=_e(sig.confidence)))
    calibrated = sig.extra.get("calibrated")
    if isinstance(calibrated, dict) and calibrated.get("n"):
        # only where a backtest calibrated this kind (bot/outcomes.label_signal): what happened
        # to past signals like it, not a promise about this one
        lines.append(t("alert-calibrated", rate=_e(fmt_pct(float(calibrated["rate"]))),
                       n=int(calibrated["n"])))
    reasons = [f"{_reason(tr, lang, name)} +{pts:g}" for name, pts in sig.top_reasons() if pts > 0]
    if reasons:
        lines.append(t("alert-reasons", reasons=_e(", ".join(reasons))))
    agreeing = sig.extra.get("confluence")
    if isinstance(agreeing, (list, tuple)) and agreeing:
        kinds = ", ".join(t("kind-name", kind=str(k)) for k in agreeing)
        lines.append(t("alert-confluence", kinds=_e(kinds)))
    if sig.venues:
        lines.append(t("alert-venues", venues=_e(", ".join(sig.venues))))
        if "binance" in sig.venues and sig.kind in (Kind.LIQUIDATION_CASCADE, Kind.STOP_HUNT):
            lines.append(t("alert-binance-caveat"))
    lines.append(t("alert-time", time=_e(fmt_time(sig.ts, tz))))
    return fit_lines(lines)


def fit_lines(lines: list[str], limit: int = TELEGRAM_TEXT_LIMIT) -> str:
    """Join lines, dropping whole lines from the end when the text is too long: every line is
    self-contained HTML, so cutting between lines never leaves an open tag or a broken entity."""
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    kept: list[str] = []
    used = 2  # room for the final "\n…"
    for line in lines:
        if used + len(line) + 1 > limit:
            break
        kept.append(line)
        used += len(line) + 1
    return "\n".join(kept) + "\n…"


_TAG = re.compile(r"</?(?:b|i|u|s|code|pre|a)(?:\s[^>]*)?>")


def html_to_text(text: str) -> str:
    """Telegram HTML -> what the user reads (for the terminal)."""
    return html.unescape(_TAG.sub("", text))
