"""Admin commands (``ADMIN_IDS`` only): /allow, /deny, /users, /health, /broadcast.

For anyone else these commands do not exist (the router filter fails and the fallback answers
"unknown command"), so a stranger learns nothing from probing them.
"""
from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, MagicData
from aiogram.types import Message

from bot.background import Background
from bot.i18n import Texts, clip
from bot.health import HealthMonitor
from bot.subscriptions import Subscriptions
from config.settings import Settings
from locales import Translator
from storage import AccessRepo, User, UserRepo, WatchlistRepo

if TYPE_CHECKING:
    from bot.delivery import Delivery
    from bot.delivery.service import BroadcastTicket

log = logging.getLogger(__name__)

MAX_USERS_LISTED = 50
MAX_BROADCAST = 3500
GROUPS_FLAG = "+groups"  # /broadcast +groups TEXT: subscribed groups as well as private chats
BROADCAST_POLL_S = 1.0  # how often a running broadcast's outbox rows are counted


def _user_id(command: CommandObject) -> int | None:
    """A user id, or a group's chat id (negative: -1001234567890) — a group is a subscriber too."""
    arg = (command.args or "").strip()
    digits = arg[1:] if arg.startswith("-") else arg
    if not digits.isdigit() or len(digits) > 15 or int(digits) == 0:
        return None
    return int(arg)


async def cmd_allow(message: Message, command: CommandObject, account: User, t: Texts,
                    access_repo: AccessRepo) -> None:
    uid = _user_id(command)
    if uid is None:
        await message.answer(t("admin-allow-usage"))
        return
    await access_repo.unblock(uid)
    new = await access_repo.allow(uid, account.id)
    await message.answer(t("admin-allowed" if new else "admin-already-allowed", user_id=str(uid)))


async def cmd_deny(message: Message, command: CommandObject, account: User, t: Texts, access_repo: AccessRepo,
                   users: UserRepo, settings: Settings, subscriptions: Subscriptions) -> None:
    uid = _user_id(command)
    if uid is None:
        await message.answer(t("admin-deny-usage"))
        return
    if uid in settings.ADMIN_IDS:
        await message.answer(t("admin-deny-admin", user_id=str(uid)))
        return
    await access_repo.block(uid, account.id)
    await users.set_active(uid, False)  # no more alerts; the watchlist is kept for an /allow
    await subscriptions.resync(uid)  # their symbols: streamed and floored for the others only
    await message.answer(t("admin-denied", user_id=str(uid)))


async def cmd_users(message: Message, t: Texts, users: UserRepo, access_repo: AccessRepo,
                    watchlist: WatchlistRepo, settings: Settings) -> None:
    everyone = await users.list_users()
    active = sum(1 for u in everyone if u.active)
    lines = [t("admin-users-title", total=str(len(everyone)), active=str(active), access=settings.ACCESS)]
    for u in everyone[:MAX_USERS_LISTED]:
        count = await watchlist.count_for_user(u.id)
        lines.append(t("admin-users-line", user_id=str(u.id), role=u.role,
                       language=t("lang-name", code=u.language), active="yes" if u.active else "no",
                       symbols=count))
    if len(everyone) > MAX_USERS_LISTED:
        lines.append(t("admin-users-more", more=str(len(everyone) - MAX_USERS_LISTED)))
    registered = {u.id for u in everyone}
    waiting = [a.user_id for a in await access_repo.list() if a.user_id not in registered]
    if waiting:
        lines.append(t("admin-users-allowed", ids=", ".join(str(i) for i in waiting[:MAX_USERS_LISTED])))
    blocked = [b.user_id for b in await access_repo.list_blocked()]
    if blocked:
        lines.append(t("admin-users-blocked", ids=", ".join(str(i) for i in blocked[:MAX_USERS_LISTED])))
    await message.answer("\n".join(lines))


def _age(seconds: float) -> str:
    if math.isinf(seconds):
        return "—"
    if seconds < 120:
        return f"{seconds:.1f}s"
    return f"{seconds / 60:.0f}m"


def _ms(value: Any) -> str:
    """A latency in ms for /health; "—" when there is no figure (no delivery in the window)."""
    if value is None or isinstance(value, bool):
        return "—"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "—"
    if not math.isfinite(v):
        return "—"
    return f"{v:,.0f} ms" if v >= 10 else f"{v:.1f} ms"


def _count(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return "—"
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "—"


def delivery_lines(t: Texts, figures: Mapping[str, Any] | None) -> list[str]:
    """The delivery part of /health, localized: queue depth, sent/failed/retried since start
    (alerts and broadcasts), 429s and the alerts' receive→sent percentiles of the last hour
    ("—" where there is no figure)."""
    if figures is None:
        return [t("health-no-delivery")]
    if "error" in figures:
        return [t("health-delivery-error", error=clip(str(figures["error"]), 120))]
    g = figures.get
    lines: list[str] = []
    if g("running") is False:
        lines.append(t("health-delivery-stopped"))
    lines.append(t("health-delivery", queue=_count(g("queued")), inbox=_count(g("inbox")),
                   inflight=_count(g("inflight")), sent=_count(g("rows_sent")),
                   failed=_count(g("rows_failed")), retried=_count(g("retries")),
                   limited=_count(g("rate_limited"))))
    lines.append(t("health-delivery-outcomes", ok=_count(g("send_ok")),
                   server=_count(g("send_server_error")), undecodable=_count(g("send_undecodable")),
                   network=_count(g("send_network")), timeout=_count(g("send_timeout")),
                   blocked=_count(g("send_blocked")), bad=_count(g("send_bad_request")),
                   expired=_count(g("rows_expired")), edits=_count(g("edits_sent")),
                   replies=_count(g("replies_sent")), replies_retried=_count(g("replies_retried"))))
    # the two "sent" figures differ by design: rows_sent counts every row since this process
    # started, broadcasts included; the latency window is alert rows of the last hour only
    # (also those sent before a restart). The labels say so, so they never seem to disagree.
    lines.append(t("health-latency", count=_count(g("sent_last_hour")), p50=_ms(g("p50_ms")),
                   p95=_ms(g("p95_ms")), p99=_ms(g("p99_ms"))))
    return lines


async def cmd_health(message: Message, t: Texts, health: HealthMonitor) -> None:
    r = health.report()
    lines: list[str] = [t("health-title", uptime=_age(r.uptime_s))]
    if r.feeds:
        for f in r.feeds:
            if not f.reporting:
                lines.append(t("health-feed-silent", name=f.name))
                continue
            lines.append(t("health-feed", name=f.name, status=f.state, lag=f"{f.lag_ms:.0f}",
                           age=_age(f.age_s), frames=f"{f.frames:,}", events=f"{f.events:,}",
                           errors=str(f.parse_errors), reconnects=str(f.reconnects)))
            if f.last_error:
                lines.append(t("health-feed-error", error=clip(f.last_error, 120)))
    else:
        lines.append(t("health-no-feeds"))
    lines.append(t("health-engine", events=f"{r.events_total:,}", rate=f"{r.events_per_s:,.0f}",
                   queue="—" if r.queue_depth is None else str(r.queue_depth),
                   symbols="—" if r.symbols is None else str(r.symbols)))
    if r.rejected or r.failed:
        lines.append(t("health-engine-errors", rejected=f"{sum(r.rejected.values()):,}",
                       reasons=", ".join(f"{k} {v:,}" for k, v in sorted(r.rejected.items())) or "—",
                       failed=f"{sum(r.failed.values()):,}",
                       components=", ".join(f"{k} {v:,}" for k, v in sorted(r.failed.items())) or "—"))
    lines.extend(delivery_lines(t, r.delivery))
    if r.incidents:
        lines.append(t("health-incidents"))
        lines.extend(f"• {t(key, **args)}" for key, args in r.incidents)
    lines.append(t("health-bot", updates=str(r.bot.updates), errors=str(r.bot.errors),
                   last=clip(r.bot.last_error, 120) if r.bot.last_error else "—"))
    await message.answer("\n".join(lines))


async def report_broadcast(bot: Bot, delivery: Delivery, ticket: BroadcastTicket, admin_id: int, tr: Translator,
                           lang: str) -> None:
    """Tell the admin how the broadcast ended once every user's row is sent or given up."""
    while True:
        progress = await delivery.broadcast_progress(ticket)
        if progress.done:
            break
        await asyncio.sleep(BROADCAST_POLL_S)
    await bot.send_message(admin_id, Texts(tr, lang)("admin-broadcast-done", sent=str(progress.sent),
                                                     failed=str(progress.failed)))


async def cmd_broadcast(message: Message, bot: Bot, command: CommandObject, account: User, t: Texts, lang: str,
                        tr: Translator, background: Background, delivery: Delivery | None = None) -> None:
    text = (command.args or "").strip()
    # private chats (users who started the bot) by default; subscribed groups only when asked
    # for by name — a token no announcement starts with, unlike "all"
    first, _sep, rest = text.partition(" ")
    groups = first.lower() == GROUPS_FLAG
    if groups:
        text = rest.strip()
    if not text:
        await message.answer(t("admin-broadcast-usage"))
        return
    if len(text) > MAX_BROADCAST:
        await message.answer(t("error-too-long", limit=str(MAX_BROADCAST)))
        return
    if delivery is None:
        await message.answer(t("admin-broadcast-unavailable"))
        return
    body = t("admin-broadcast-body", text=text)  # escaped: admins send text, not markup
    # through the delivery outbox: durable, paced by the one global limiter, retry_after
    # honoured, 403 deactivates; the id makes a re-delivered update queue nothing twice
    ticket = await delivery.broadcast(f"{message.chat.id}:{message.message_id}", body, groups=groups)
    await message.answer(t("admin-broadcast-started-groups" if groups else "admin-broadcast-started",
                           count=int(ticket.users)))
    background.spawn(report_broadcast(bot, delivery, ticket, account.id, tr, lang),
                     "broadcast")


def build_router() -> Router:
    """A fresh Router (a Router can belong to one Dispatcher only)."""
    router = Router(name="admin")
    router.message.filter(MagicData(F.is_admin))
    router.message.register(cmd_allow, Command("allow"))
    router.message.register(cmd_deny, Command("deny"))
    router.message.register(cmd_users, Command("users"))
    router.message.register(cmd_health, Command("health"))
    router.message.register(cmd_broadcast, Command("broadcast"))
    return router
