"""Answering an update where it came from: edit the pressed message or send a new one in its
chat and forum topic, a toast for a pressed button, the words after a command."""
from __future__ import annotations

import logging
from typing import Any

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer

log = logging.getLogger(__name__)


def toast(callback_answer: CallbackAnswer, text: str, *, alert: bool = False) -> None:
    """Answer the pressed button with ``text`` (CallbackAnswerMiddleware sends it once).
    Toasts are plain text: pass ``t.plain(...)``, never ``t(...)``."""
    callback_answer.text = text
    if alert:
        callback_answer.show_alert = True


async def edit_or_send(callback: CallbackQuery, text: str,
                       markup: InlineKeyboardMarkup | None = None) -> None:
    """Edit the pressed message in place; when it cannot be edited, send a new one."""
    msg = callback.message
    if isinstance(msg, Message):
        try:
            await msg.edit_text(text, reply_markup=markup)
            return
        except TelegramBadRequest as e:
            if "not modified" in str(e):
                return
            log.info("cannot edit message %s: %s", msg.message_id, e)
    if callback.from_user is not None and callback.bot is not None:
        await send_here(callback, reply_chat(callback), text, reply_markup=markup)


def reply_thread(callback: CallbackQuery) -> int | None:
    """The forum topic of the pressed message (an answer stays in that topic), else None."""
    msg = callback.message
    if isinstance(msg, Message) and msg.is_topic_message:
        return msg.message_thread_id
    return None


async def send_here(callback: CallbackQuery, chat_id: int, text: str, **kwargs: Any) -> Any:
    """A new message answering a button: to ``chat_id`` (the subscriber's chat), in the topic of
    the pressed message when it is in a forum topic."""
    if callback.bot is None:  # aiogram binds every update it dispatches to its Bot
        raise RuntimeError("callback query not bound to a Bot")
    return await callback.bot.send_message(chat_id, text, message_thread_id=reply_thread(callback),
                                           **kwargs)


def reply_chat(callback: CallbackQuery) -> int:
    """Where an answer to a button goes: the chat of the pressed message (a group's buttons are
    answered in the group), else the user's private chat."""
    msg = callback.message
    return msg.chat.id if msg is not None else callback.from_user.id


def command_args(message: Message) -> list[str]:
    """Arguments after the command word (already length-checked by the access middleware)."""
    text = message.text or ""
    parts = text.split(maxsplit=1)
    return parts[1].replace(",", " ").split() if len(parts) > 1 else []
