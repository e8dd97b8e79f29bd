"""Last router: unknown commands, plain text, stale or forged buttons, and the error handler."""
from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.types import CallbackQuery, ErrorEvent, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot.handlers.replies import toast
from bot.i18n import Texts, clip
from bot.health import BotCounters
from locales import Translator

log = logging.getLogger(__name__)


async def unknown_message(message: Message, t: Texts) -> None:
    text = message.text or ""
    if text.startswith("/"):
        await message.answer(t("unknown-command", command=clip(text.split()[0], 32)))
    else:
        await message.answer(t("unknown-text"))


async def unknown_button(callback: CallbackQuery, callback_answer: CallbackAnswer, t: Texts) -> None:
    toast(callback_answer, t.plain("button-invalid"), alert=True)


async def on_error(event: ErrorEvent, bot: Bot, counters: BotCounters, tr: Translator) -> None:
    counters.errors += 1
    counters.last_error = f"{type(event.exception).__name__}: {event.exception}"[:300]
    log.error("handler failed: %s", counters.last_error, exc_info=event.exception)
    update = event.update
    user, chat_id = None, None
    if update.message is not None:
        user, chat_id = update.message.from_user, update.message.chat.id
    elif update.callback_query is not None:
        user = update.callback_query.from_user
        msg = update.callback_query.message
        chat_id = msg.chat.id if msg is not None else None
    if user is None:
        return
    try:  # where it happened: a group's command is answered in the group
        await bot.send_message(chat_id if chat_id is not None else user.id,
                               tr.get(tr.normalize(user.language_code), "error-internal"))
    except Exception as e:  # the error reply itself is best effort
        log.info("could not tell user %s about the error: %s", user.id, e)


def build_router() -> Router:
    """A fresh Router (a Router can belong to one Dispatcher only)."""
    router = Router(name="fallback")
    router.message.register(unknown_message)
    router.callback_query.register(unknown_button)
    router.errors.register(on_error)
    return router
