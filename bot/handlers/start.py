"""/start, /help, /lang and the main menu."""
from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot.callbacks import LangCB, MenuCB
from bot.handlers.replies import edit_or_send, reply_chat, send_here, toast
from bot.i18n import Texts, clip
from bot.keyboards.menus import LANGUAGES, language_picker, main_menu
from locales import Translator
from storage import User, UserRepo


USER_COMMANDS = ("start", "help", "add", "remove", "list", "flow", "mute", "unmute", "quiet", "tz",
                 "thresholds", "tiers", "signals", "stats", "lang")
ADMIN_COMMANDS = ("allow", "deny", "users", "health", "broadcast")
# the menus of a group: every member sees the read commands, its administrators all of them
GROUP_READ_COMMANDS = ("help", "list", "flow", "signals", "stats")
GROUP_ADMIN_COMMANDS = ("help", "list", "flow", "signals", "stats", "add", "remove", "mute", "unmute",
                        "quiet", "tz", "thresholds", "tiers", "topic", "lang")


def help_text(t: Texts, is_admin: bool, in_group: bool = False) -> str:
    lines = [t("help-title"), ""]
    lines += [t(f"help-{name}") for name in USER_COMMANDS]
    if in_group:
        lines += [t("help-topic"), "", t("group-help")]
    if is_admin:
        lines += ["", t("help-admin-title")]
        lines += [t(f"help-{name}") for name in ADMIN_COMMANDS]
    return "\n".join(lines)


async def cmd_start(message: Message, account: User, t: Texts, users: UserRepo) -> None:
    # the access middleware registered (or reactivated) the user; /start always reactivates
    if not account.active:
        await users.set_active(account.id, True)
    if account.is_group:
        await message.answer(t("start-group", title=clip(message.chat.title or "", 48)),
                             reply_markup=main_menu(t))
        return
    first_name = message.from_user.first_name if message.from_user is not None else None
    await message.answer(t("start-welcome", name=clip(first_name or "trader", 32)),
                         reply_markup=main_menu(t))


async def cmd_help(message: Message, t: Texts, is_admin: bool, in_group: bool = False) -> None:
    await message.answer(help_text(t, is_admin, in_group))


async def cmd_lang(message: Message, command: CommandObject, account: User, t: Texts,
                   users: UserRepo, tr: Translator) -> None:
    arg = (command.args or "").strip().lower()
    if not arg:
        await message.answer(t("lang-choose"), reply_markup=language_picker(t))
        return
    if arg not in LANGUAGES:
        await message.answer(t("lang-unknown", value=arg, choices=", ".join(LANGUAGES)))
        return
    await users.set_language(account.id, arg)
    await message.answer(Texts(tr, arg)("lang-set"))


async def cb_lang(callback: CallbackQuery, callback_data: LangCB, callback_answer: CallbackAnswer,
                  account: User, t: Texts,
                  users: UserRepo, tr: Translator) -> None:
    if callback_data.lang not in LANGUAGES:
        toast(callback_answer, t.plain("button-invalid"), alert=True)
        return
    await users.set_language(account.id, callback_data.lang)
    await edit_or_send(callback, Texts(tr, callback_data.lang)("lang-set"))


async def cb_help(callback: CallbackQuery, t: Texts, is_admin: bool, in_group: bool = False) -> None:
    await send_here(callback, reply_chat(callback), help_text(t, is_admin, in_group))


async def cb_lang_menu(callback: CallbackQuery, t: Texts) -> None:
    await send_here(callback, reply_chat(callback), t("lang-choose"),
                                    reply_markup=language_picker(t))


def build_router() -> Router:
    """A fresh Router (a Router can belong to one Dispatcher only)."""
    router = Router(name="start")
    router.message.register(cmd_start, CommandStart())
    router.message.register(cmd_help, Command("help"))
    router.message.register(cmd_lang, Command("lang"))
    router.callback_query.register(cb_lang, LangCB.filter())
    router.callback_query.register(cb_help, MenuCB.filter(F.action == "help"))
    router.callback_query.register(cb_lang_menu, MenuCB.filter(F.action == "lang"))
    return router
