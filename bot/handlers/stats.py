"""/stats [SYMBOL|KIND|all] [24h|7d|30d]: how past signals turned out (live outcomes).

By default the alerts that reached this user (or group): signals whose alert row was SENT to them
(sent alert rows are kept 31 days as receipts, their text blanked after a week); ``/stats all``
every signal the engine emitted. A symbol groups by
kind; a kind groups by symbol. Period buttons edit the message in place. Admins also see the
engine's receive -> signal latency over the same signals.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import StatsCB
from bot.handlers.replies import edit_or_send, toast
from bot.i18n import Html, Texts, clip
from engine.backtest import percentile, wilson
from engine.outcomes import Result
from engine.signals import Kind
from engine.symbols import SymbolError, normalize_symbol
from storage import OutcomeRepo, OutcomeStat, User, WatchlistRepo

PERIODS: dict[str, int | None] = {"24h": 86_400, "7d": 7 * 86_400, "30d": 30 * 86_400, "all": None}
DEFAULT_PERIOD = "7d"
KIND_ALIASES: dict[str, Kind] = {
    "stophunt": Kind.STOP_HUNT, "hunt": Kind.STOP_HUNT, "cascade": Kind.LIQUIDATION_CASCADE,
    "liquidation": Kind.LIQUIDATION_CASCADE, "accumulation": Kind.ACCUMULATION,
    "distribution": Kind.DISTRIBUTION, "whale": Kind.WHALE_WINDOW, "funding": Kind.FUNDING_EXTREME,
    "divergence": Kind.DIVERGENCE, "spike": Kind.VOLUME_SPIKE, "volume": Kind.VOLUME_SPIKE,
    **{k.value.lower(): k for k in Kind}, **{k.value.lower().replace("_", ""): k for k in Kind},
}
_LEVEL_HITS = {Result.WIN_T1.value, Result.WIN_T2.value}


@dataclass(slots=True)
class Query:
    scope: str = "mine"  # mine | all | SYMBOL
    kind: str = ""  # '' or a Kind value
    period: str = DEFAULT_PERIOD


def parse_args(text: str | None) -> Query | str:
    """A Query, or the offending word."""
    q = Query()
    for word in (text or "").split():
        w = word.lower()
        if w in PERIODS and w != "all":
            q.period = w
        elif w == "all":
            q.scope = "all"
        elif w in KIND_ALIASES:
            q.kind = KIND_ALIASES[w].value
        else:
            try:
                q.scope = normalize_symbol(word)
            except SymbolError:
                return word
    return q


@dataclass(slots=True)
class Group:
    name: str
    count: int = 0
    scored: int = 0
    hits: int = 0
    rs: list[float] | None = None

    def add(self, row: OutcomeStat) -> None:
        self.count += 1
        if row.hit is not None:
            self.scored += 1
            self.hits += row.hit
        if row.r is not None and row.result != Result.NOT_FILLED.value:
            if self.rs is None:
                self.rs = []
            self.rs.append(row.r)


def group_rows(rows: list[OutcomeStat], by: Callable[[OutcomeStat], str]) -> list[Group]:
    groups: dict[str, Group] = {}
    for row in rows:
        key = by(row)
        g = groups.get(key)
        if g is None:
            g = groups[key] = Group(key)
        g.add(row)
    return sorted(groups.values(), key=lambda g: (-g.count, g.name))


def _r(value: float) -> str:
    return f"{value:+.2f}R".replace("-", "−")


def render_stats(t: Texts, q: Query, rows: list[OutcomeStat], *, symbols: list[str],
                 is_admin: bool) -> str:
    scope = (t("stats-scope-all") if q.scope == "all" else t("stats-scope-mine") if q.scope == "mine"
             else q.scope)
    if q.kind:
        scope = f"{scope} · {t('kind-name', kind=q.kind)}"
    lines = [t("stats-title", scope=scope, period=t(f"stats-period-{q.period}"))]
    if q.scope == "mine" and not symbols and not rows:
        return "\n".join(lines + [t("stats-no-watchlist")])
    decided = [r for r in rows if r.result != Result.OPEN.value]
    if not decided:
        lines.append(t("stats-empty-open", open=len(rows)) if rows else t("stats-empty"))
        return "\n".join(lines)
    by_symbol = bool(q.kind)
    for g in group_rows(decided, (lambda r: r.symbol) if by_symbol else (lambda r: r.kind)):
        name = g.name if by_symbol else t("kind-name", kind=g.name)
        interval = wilson(g.hits, g.scored)  # None when nothing was scored
        if interval is not None:
            lo, hi = interval
            hit = t("stats-hit", rate=f"{g.hits / g.scored * 100:.0f}%",
                     low=f"{lo * 100:.0f}", high=f"{hi * 100:.0f}", hits=g.hits, scored=g.scored)
        else:
            hit = t("stats-hit-none")
        line = t("stats-line", name=name, count=g.count, hit=hit)
        if g.rs:
            line = Html(f"{line} · " + t("stats-r", avg=_r(sum(g.rs) / len(g.rs)), best=_r(max(g.rs)),
                                         worst=_r(min(g.rs))))
        lines.append(line)
    still_open = len(rows) - len(decided)
    if still_open:
        lines.append(t("stats-open", open=still_open))
    lines.append(t("stats-footnote"))
    if is_admin:
        lat = sorted(r.engine_ms for r in rows if r.engine_ms is not None and r.engine_ms >= 0)
        if lat:
            lines.append(t("stats-latency", n=len(lat), p50=f"{percentile(lat, 50):.0f}",
                           p95=f"{percentile(lat, 95):.0f}", p99=f"{percentile(lat, 99):.0f}"))
    return "\n".join(lines)


def stats_keyboard(t: Texts, q: Query) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for p in PERIODS:
        label = t.plain(f"stats-period-{p}")
        kb.button(text=f"· {label} ·" if p == q.period else label,
                  callback_data=StatsCB(scope=q.scope, kind=q.kind, period=p))
    kb.adjust(len(PERIODS))
    return kb.as_markup()


async def stats_view(account: User, t: Texts, is_admin: bool, watchlist: WatchlistRepo,
                     outcome_repo: OutcomeRepo, q: Query, *,
                     now_s: float | None = None) -> tuple[str, InlineKeyboardMarkup | None]:
    now_s = time.time() if now_s is None else now_s
    span = PERIODS[q.period]
    since_ms = 0 if span is None else int((now_s - span) * 1000)
    symbols: list[str] = []
    received_by: int | None = account.id  # the user's own alerts, unless they ask for all
    if q.scope == "mine":
        symbols = [e.symbol for e in await watchlist.list_for_user(account.id)]
        wanted = None
    elif q.scope == "all":
        wanted, received_by = None, None
    else:
        wanted = [q.scope]
    rows = await outcome_repo.stats_rows(since_ms, symbols=wanted, kind=q.kind or None,
                                         received_by=received_by)
    text = render_stats(t, q, rows, symbols=symbols, is_admin=is_admin)
    return text, stats_keyboard(t, q)


async def cmd_stats(message: Message, command: CommandObject, account: User, t: Texts, is_admin: bool,
                    watchlist: WatchlistRepo, outcome_repo: OutcomeRepo) -> None:
    q = parse_args(command.args)
    if isinstance(q, str):
        await message.answer(t("stats-usage", value=clip(q)))
        return
    text, markup = await stats_view(account, t, is_admin, watchlist, outcome_repo, q)
    await message.answer(text, reply_markup=markup)


async def cb_stats(callback: CallbackQuery, callback_data: StatsCB, callback_answer: CallbackAnswer,
                   account: User, t: Texts, is_admin: bool, watchlist: WatchlistRepo,
                   outcome_repo: OutcomeRepo) -> None:
    q = Query(callback_data.scope, callback_data.kind, callback_data.period)
    valid_scope = q.scope in ("mine", "all")
    if not valid_scope:
        try:
            valid_scope = normalize_symbol(q.scope) == q.scope
        except SymbolError:
            valid_scope = False
    if q.period not in PERIODS or (q.kind and q.kind not in Kind.__members__) or not valid_scope:
        toast(callback_answer, t.plain("button-invalid"), alert=True)
        return
    text, markup = await stats_view(account, t, is_admin, watchlist, outcome_repo, q)
    await edit_or_send(callback, text, markup)


def build_router() -> Router:
    """A fresh Router (a Router can belong to one Dispatcher only)."""
    router = Router(name="stats")
    router.message.register(cmd_stats, Command("stats"))
    router.callback_query.register(cb_stats, StatsCB.filter())
    return router
