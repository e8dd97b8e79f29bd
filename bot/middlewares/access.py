"""Who may use the bot, and loading their stored profile.

* Only private chats are served (the bot is a personal assistant; groups are ignored).
* Admins (``ADMIN_IDS``) always pass. A user an admin denied never passes.
* ``ACCESS=private``: only users an admin allowed. A stranger gets ONE reply per message with
  their numeric id and how to ask for access; nothing about them is written anywhere.
* ``ACCESS=public``: anyone may subscribe.
Users who pass are registered on first contact (language from Telegram's language_code) and
their row is handed to handlers as ``account``; ``is_admin`` says whether they are an admin.
Over-long texts are refused here, before any handler parses them.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.handlers.common import MAX_ARG_TEXT, Texts, sync_registry
from config.settings import Settings
from locales import Translator
from storage import AccessRepo, UserRepo, WatchlistRepo

log = logging.getLogger(__name__)

ADMIN_TEXT_LIMIT = 4096  # an admin's /broadcast text; every other message has MAX_ARG_TEXT


def text_limit(text: str, is_admin: bool) -> int:
    """The longest text we take: 512 characters for any message (commands are short, plain
    text is not understood anyway), Telegram's own 4096 for an admin's /broadcast."""
    if is_admin:
        command = text.split(maxsplit=1)[0].split("@", 1)[0].lower() if text.strip() else ""
        if command == "/broadcast":
            return ADMIN_TEXT_LIMIT
    return MAX_ARG_TEXT


class AccessMiddleware(BaseMiddleware):
    def __init__(self, settings: Settings, users: UserRepo, access_repo: AccessRepo,
                 tr: Translator, *, watchlist: WatchlistRepo | None = None,
                 registry: Any = None, registry_lock: asyncio.Lock | None = None) -> None:
        self.settings = settings
        self.watchlist = watchlist
        self.registry = registry
        # the handlers' lock: every registry change is serialised behind the same one
        self.registry_lock = registry_lock if registry_lock is not None else asyncio.Lock()
        self.users = users
        self.access_repo = access_repo
        self.tr = tr
        self.admins = frozenset(settings.ADMIN_IDS)
        self.refused = 0

    async def allowed(self, user_id: int) -> bool:
        if user_id in self.admins:
            return True
        if await self.access_repo.is_blocked(user_id):
            return False
        if self.settings.ACCESS == "public":
            return True
        return await self.access_repo.is_allowed(user_id)

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        user = data.get("event_from_user")
        chat = data.get("event_chat")
        if user is None or user.is_bot:
            return None
        if isinstance(event, Message) and (chat is None or chat.type != "private"):
            return None
        if isinstance(event, CallbackQuery):
            msg = event.message
            if msg is not None and msg.chat.id != user.id:
                # a button on a message in another chat: never act on it
                await event.answer()
                return None
        lang = self.tr.normalize(user.language_code)
        if not await self.allowed(user.id):
            self.refused += 1
            text = self.tr.get(lang, "access-stranger", user_id=str(user.id))
            if isinstance(event, CallbackQuery):
                await event.answer(Texts(self.tr, lang).plain("access-stranger-short"), show_alert=True)
            elif isinstance(event, Message):
                await event.answer(text)
            return None
        is_admin = user.id in self.admins
        if isinstance(event, Message) and event.text is not None:
            limit = text_limit(event.text, is_admin)
            if len(event.text) > limit:
                await event.answer(self.tr.get(lang, "error-too-long", limit=str(limit)))
                return None
        account = await self.users.get(user.id)
        if account is None or not account.active:
            was_inactive = account is not None
            account = await self.users.upsert_on_start(user.id, user.id, lang)
            if was_inactive and self.watchlist is not None:
                # their watchlist counts again: the feeds must stream it
                await sync_registry(self.registry, self.watchlist, self.registry_lock)
        if is_admin and account.role != "admin":
            await self.users.set_role(user.id, "admin")
            account = await self.users.get(user.id)
        elif not is_admin and account.role == "admin":
            # removed from ADMIN_IDS since last time
            await self.users.set_role(user.id, "user")
            account = await self.users.get(user.id)
        data["account"] = account
        data["is_admin"] = is_admin
        return await handler(event, data)
