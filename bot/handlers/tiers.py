"""/tiers: which alert tiers reach the user and which arrive without sound, and whether a
stop-hunt alert gets a silent reply in its thread when its outcome is final."""
from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot.callbacks import MenuCB, TierCB
from bot.handlers.replies import edit_or_send, send_here, toast
from bot.i18n import Texts
from bot.handlers.mute import quiet_summary
from bot.keyboards.menus import TIERS, tiers_keyboard
from storage import User, UserRepo


def tiers_view(account: User, t: Texts) -> tuple[str, InlineKeyboardMarkup]:
    lines = [t("tiers-title"), ""]
    for tier in TIERS:
        state = "off" if tier not in account.tiers else ("silent" if tier in account.silent_tiers else "sound")
        lines.append(t("tiers-line", tier=tier, badge=t("tier-badge", tier=tier), status=state))
    if not account.tiers:
        lines += ["", t("tiers-none")]
    lines += ["", t("tiers-outcomes", on="yes" if account.outcome_replies else "no")]
    lines += ["", t("tiers-hint"), "", quiet_summary(t, account)]
    return "\n".join(lines), tiers_keyboard(t, account.tiers, account.silent_tiers,
                                            account.outcome_replies)


async def cmd_tiers(message: Message, account: User, t: Texts) -> None:
    text, markup = tiers_view(account, t)
    await message.answer(text, reply_markup=markup)


async def cb_menu_tiers(callback: CallbackQuery, account: User, t: Texts) -> None:
    text, markup = tiers_view(account, t)
    await send_here(callback, account.id, text, reply_markup=markup)


async def cb_tier(callback: CallbackQuery, callback_data: TierCB, callback_answer: CallbackAnswer,
                  account: User, t: Texts, users: UserRepo) -> None:
    tier, op = callback_data.tier, callback_data.op
    if op == "outcomes":  # the stop-hunt result replies: on <-> off
        await users.set_outcome_replies(account.id, not account.outcome_replies)
        text, markup = tiers_view(await users.get(account.id) or account, t)
        await edit_or_send(callback, text, markup)
        return
    if tier not in TIERS or op not in ("on", "silent"):
        toast(callback_answer, t.plain("button-invalid"), alert=True)
        return
    tiers, silent = list(account.tiers), list(account.silent_tiers)
    target = tiers if op == "on" else silent
    if tier in target:
        target.remove(tier)
    else:
        target.append(tier)
    order = {name: i for i, name in enumerate(TIERS)}
    await users.set_tiers(account.id, sorted(tiers, key=order.__getitem__), sorted(silent, key=order.__getitem__))
    updated = await users.get(account.id) or account
    text, markup = tiers_view(updated, t)
    await edit_or_send(callback, text, markup)


def build_router() -> Router:
    """A fresh Router (a Router can belong to one Dispatcher only)."""
    router = Router(name="tiers")
    router.message.register(cmd_tiers, Command("tiers"))
    router.callback_query.register(cb_menu_tiers, MenuCB.filter(F.action == "tiers"))
    router.callback_query.register(cb_tier, TierCB.filter())
    return router
