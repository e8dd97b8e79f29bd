"""Alert text: one renderer for the bot (Telegram HTML) and ``teleglas demo`` (plain text).

Every value that comes from data is HTML-escaped before it reaches a template; templates live
in ``locales/<lang>/alerts.ftl``. Messages are kept under Telegram's 4096-character limit.
"""
from __future__ import annotations

import html
import re
from datetime import datetime, timezone, tzinfo

from engine.signals import Kind, Signal
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
    return f"{share * 100:.{digits}f}%"


def bar(share: float, width: int = BAR_WIDTH) -> str:
    share = min(1.0, max(0.0, share))
    full = round(share * width)
    return "█" * full + "░" * (width - full)


def fmt_time(ts_ms: int, tz: tzinfo | None = None) -> str:
    dt = datetime.fromtimestamp(ts_ms / 1000, tz=timezone.utc)
    if tz is not None:
        dt = dt.astimezone(tz)
        return dt.strftime("%Y-%m-%d %H:%M:%S %Z")
    return dt.strftime("%Y-%m-%d %H:%M:%S UTC")


def _e(value: object) -> str:
    return html.escape(str(value), quote=False)


def _reason(tr: Translator, lang: str, name: str) -> str:
    try:
        return tr.get(lang, f"reason-{name.replace('_', '-')}")
    except KeyError:
        return name.replace("_", " ")


def render_signal(sig: Signal, lang: str = "en", *, tz: tzinfo | None = None,
                  tr: Translator | None = None) -> str:
    """The alert a subscriber reads, as Telegram HTML."""
    tr = tr or translator()
    m = sig.magnitudes
    t = lambda key, **kw: tr.get(lang, key, **kw)  # noqa: E731
    lines = [t("alert-headline", badge=_e(t("tier-badge", tier=sig.tier.value)),
               kind=_e(t("kind-name", kind=sig.kind.value)), symbol=_e(sig.symbol))]
    if sig.upgrades:
        lines.append(t("alert-upgrade"))
    lines.append("")
    direction = _e(t("direction-word", direction=sig.direction.value))
    if sig.kind is Kind.LIQUIDATION_CASCADE:
        long_usd, short_usd = m.get("liq_long_usd", 0.0), m.get("liq_short_usd", 0.0)
        flushed = "LONG" if long_usd >= short_usd else "SHORT"
        lines.append(t(
            "alert-cascade-body",
            window=_e(f"{m.get('window_s', 30):g}"), total=_e(fmt_usd(m.get("liq_usd", 0.0))),
            share=_e(fmt_pct(m.get("dominance", 0.0))), flushed=_e(t("position-word", position=flushed)),
            long_usd=_e(fmt_usd(long_usd)), short_usd=_e(fmt_usd(short_usd)),
            count=_e(int(m.get("count", 0))), zone_low=_e(fmt_price(m.get("zone_low", 0.0))),
            zone_high=_e(fmt_price(m.get("zone_high", 0.0))), direction=direction,
        ))
    elif sig.kind is Kind.STOP_HUNT and sig.levels is not None:
        lv = sig.levels
        flushed = "LONG" if m.get("liq_long_usd", 0.0) >= m.get("liq_short_usd", 0.0) else "SHORT"
        lines.append(t(
            "alert-stophunt-body",
            total=_e(fmt_usd(m.get("liq_usd", 0.0))), flushed=_e(t("position-word", position=flushed)),
            zone_low=_e(fmt_price(lv.zone_low)), zone_high=_e(fmt_price(lv.zone_high)),
            absorb_usd=_e(fmt_usd(m.get("absorb_usd", 0.0))),
            absorb_side=_e(t("direction-word", direction=sig.direction.value)),
            large_count=_e(int(m.get("large_count", 0))), direction=direction,
            entry_low=_e(fmt_price(lv.entry_low)), entry_high=_e(fmt_price(lv.entry_high)),
            stop=_e(fmt_price(lv.stop)),
            stop_where=_e(t("stop-below" if lv.stop < lv.zone_high else "stop-above")),
            targets=_e(" / ".join(fmt_price(x) for x in lv.targets)),
            expires=_e(fmt_time(lv.expires_ts, tz)),
        ))
    else:
        details = ", ".join(f"{k}={v:g}" for k, v in sorted(m.items()))
        lines.append(t("alert-generic-body", details=_e(details)))
    lines.append("")
    lines.append(t("alert-score", score=_e(sig.confidence)))
    reasons = [f"{_reason(tr, lang, name)} +{pts:g}" for name, pts in sig.top_reasons() if pts > 0]
    if reasons:
        lines.append(t("alert-reasons", reasons=_e(", ".join(reasons))))
    if sig.venues:
        lines.append(t("alert-venues", venues=_e(", ".join(sig.venues))))
        if "binance" in sig.venues and sig.kind in (Kind.LIQUIDATION_CASCADE, Kind.STOP_HUNT):
            lines.append(t("alert-binance-caveat"))
    lines.append(t("alert-time", time=_e(fmt_time(sig.ts, tz))))
    text = "\n".join(lines)
    if len(text) > TELEGRAM_TEXT_LIMIT:
        text = text[: TELEGRAM_TEXT_LIMIT - 1] + "…"
    return text


_TAG = re.compile(r"</?(?:b|i|u|s|code|pre|a)(?:\s[^>]*)?>")


def html_to_text(text: str) -> str:
    """Telegram HTML -> what the user reads (for the terminal)."""
    return html.unescape(_TAG.sub("", text))
