"""/signals: the latest signals for the user's watchlist (from the signals table)."""
from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.callbacks import MenuCB
from bot.handlers.replies import send_here
from bot.i18n import Texts, local_time, user_tz
from storage import SignalRepo, User, WatchlistRepo

LIMIT = 10


async def signals_view(account: User, t: Texts, watchlist: WatchlistRepo, signal_repo: SignalRepo) -> str:
    symbols = [e.symbol for e in await watchlist.list_for_user(account.id)]
    if not symbols:
        return t("signals-no-watchlist")
    recent = await signal_repo.recent(symbols, LIMIT)
    if not recent:
        return t("signals-none", symbols=", ".join(symbols[:10]))
    tz = user_tz(account)
    lines = [t("signals-title", count=len(recent))]
    for s in recent:
        lines.append(t("signals-line", time=local_time(s.ts_event / 1000, tz, "%Y-%m-%d %H:%M:%S"),
                       badge=t("tier-badge", tier=s.tier),
                       kind=t("kind-name", kind=s.kind), symbol=s.symbol,
                       direction=t("direction-word", direction=s.direction), score=str(s.confidence)))
    return "\n".join(lines)


async def cmd_signals(message: Message, account: User, t: Texts, watchlist: WatchlistRepo,
                      signal_repo: SignalRepo) -> None:
    await message.answer(await signals_view(account, t, watchlist, signal_repo))


async def cb_menu_signals(callback: CallbackQuery, account: User, t: Texts, watchlist: WatchlistRepo,
                          signal_repo: SignalRepo) -> None:
    await send_here(callback, account.id, await signals_view(account, t, watchlist, signal_repo))


def build_router() -> Router:
    """A fresh Router (a Router can belong to one Dispatcher only)."""
    router = Router(name="signals")
    router.message.register(cmd_signals, Command("signals"))
    router.callback_query.register(cb_menu_signals, MenuCB.filter(F.action == "signals"))
    return router
