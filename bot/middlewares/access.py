"""Who may use the bot, and loading their stored profile.

* Private chats, groups and supergroups are served (channels are not). In a group the GROUP is
  the subscriber (``account`` is its row, keyed by the negative chat id) and see ``bot.groups``
  for who may change its settings; the group section below says what a group sees.
* Admins (``ADMIN_IDS``) always pass. A user an admin denied never passes.
* ``ACCESS=private``: only users an admin allowed. A stranger gets ONE reply per message with
  their numeric id and how to ask for access; nothing about them is written anywhere. A
  stranger's GROUP is told once (``told_strangers``, bounded, in memory), then ignored: a
  group's members would otherwise read the same notice under every command.
* ``ACCESS=public``: anyone may subscribe.
Users who pass are registered on first contact (language from Telegram's language_code) and
their row is handed to handlers as ``account``; ``is_admin`` says whether they are an admin.
Over-long texts are refused here, before any handler parses them.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.types import CallbackQuery, Chat, Message, TelegramObject
from aiogram.types import User as TgUser

from bot.groups import (ANONYMOUS_ADMIN_ID, GROUP_COMMANDS, GROUP_TYPES, READ_COMMANDS, GroupAdmins,
                        ToldOnce, callback_is_read_only, command_of)
from bot.i18n import Texts
from bot.parsing import MAX_ARG_TEXT
from bot.subscriptions import Subscriptions
from config.settings import Settings
from locales import Translator
from storage import AccessRepo, ChatRepo, UserRepo

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

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
                 tr: Translator, *, subscriptions: Subscriptions | None = None,
                 chats: ChatRepo | None = None, group_admins: GroupAdmins | None = None) -> None:
        self.settings = settings
        self.chats = chats
        self.group_admins = group_admins if group_admins is not None else GroupAdmins()
        self.told = ToldOnce()
        # ACCESS=private: a stranger's group hears how to get access once (here or when the bot
        # is added: bot.handlers.groups shares this set), then silence on every later command
        self.told_strangers = ToldOnce(max_entries=10_000)
        # the handlers' service: a returning subscriber's symbols are streamed again, behind
        # the same lock as every other change of the feeds' symbol set
        self.subscriptions = subscriptions
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

    async def __call__(self, handler: Handler,
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        user = data.get("event_from_user")
        chat = data.get("event_chat")
        if isinstance(event, Message) and chat is not None and chat.type in GROUP_TYPES:
            return await self._group_message(handler, event, data, user, chat)
        if (isinstance(event, CallbackQuery) and event.message is not None
                and event.message.chat.type in GROUP_TYPES):
            return await self._group_callback(handler, event, data, user, event.message.chat.id)
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
            if was_inactive and self.subscriptions is not None:
                # their watchlist counts again: the feeds must stream it
                await self.subscriptions.resync(user.id)
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

    # ---- groups and supergroups ------------------------------------------------------------
    # With privacy mode on (BotFather's default) a group shows the bot only commands, replies to
    # its messages and service messages; with it off, every message. Either way plain text is
    # ignored here (no "I don't understand" noise in a group), as are commands addressed to
    # another bot (/add@OtherBot), commands the bot does not know, and the admin commands
    # (/allow, /users... answer in private chats only).

    async def group_may_join(self, chat_id: int, user_id: int | None) -> bool:
        """ACCESS=public: any group. ACCESS=private: a group an admin allowed by chat id, or one
        an admin or allowed user brought in (added the bot, or ran /start there)."""
        if await self.access_repo.is_blocked(chat_id):
            return False
        if self.settings.ACCESS == "public" or await self.access_repo.is_allowed(chat_id):
            return True
        return user_id is not None and await self.allowed(user_id)

    async def can_change(self, bot: Bot, chat_id: int, user_id: int | None) -> bool:
        """The bot's ADMIN_IDS, the group's Telegram administrators (cached, re-checked), and an
        anonymous admin writing as the group (``user_id`` None)."""
        if user_id is None or user_id in self.admins:
            return True
        return await self.group_admins.is_admin(bot, chat_id, user_id)

    async def _group_message(self, handler: Handler, event: Message, data: dict[str, Any],
                             user: TgUser | None, chat: Chat) -> Any:
        data["is_admin"] = False  # admin commands and admin-only views stay in private chats
        data["in_group"] = True
        if event.migrate_to_chat_id or event.migrate_from_chat_id:
            data["account"] = None  # the upgrade notice: bot.handlers.groups moves the settings
            return await handler(event, data)
        name, mention = command_of(event.text or "")
        if not name or name not in GROUP_COMMANDS:
            return None
        if mention:
            me = await data["bot"].me()
            if mention != (me.username or "").lower():
                return None
        anonymous = event.sender_chat is not None and event.sender_chat.id == chat.id
        if not anonymous and (user is None or user.is_bot or user.id == ANONYMOUS_ADMIN_ID):
            return None
        actor = None if anonymous or user is None else user.id
        if actor is not None and await self.access_repo.is_blocked(actor):
            return None
        if len(event.text or "") > MAX_ARG_TEXT:
            lang = self.tr.normalize(user.language_code if user else None)
            await event.answer(self.tr.get(lang, "error-too-long", limit=str(MAX_ARG_TEXT)))
            return None
        account = await self.users.get(chat.id)
        if account is None or not account.active:
            lang = self.tr.normalize(user.language_code if user and not anonymous else None)
            if not await self.group_may_join(chat.id, actor):
                self.refused += 1
                if await self.access_repo.is_blocked(chat.id):
                    return None
                if self.told_strangers.first_time(chat.id, None):
                    await event.answer(self.tr.get(lang, "group-stranger", chat_id=str(chat.id)))
                return None
            was_inactive = account is not None
            account = await self._chats().register_group(
                chat.id, chat.type, chat.title, account.language if account else lang, actor)
            if was_inactive and self.subscriptions is not None:
                await self.subscriptions.resync(chat.id)
        may_change = name in READ_COMMANDS or await self.can_change(data["bot"], chat.id, actor)
        if not may_change:
            if self.told.first_time(chat.id, actor):
                await event.answer(Texts(self.tr, self.tr.normalize(account.language))("group-admins-only"))
            return None
        data["account"] = account
        data["can_change"] = name not in READ_COMMANDS  # reads do not ask Telegram who is admin
        return await handler(event, data)

    async def _group_callback(self, handler: Handler, event: CallbackQuery, data: dict[str, Any],
                              user: TgUser | None, chat_id: int) -> Any:
        account = await self.users.get(chat_id)
        if user is None or user.is_bot or account is None or not account.active \
                or await self.access_repo.is_blocked(user.id):
            await event.answer()
            return None
        t = Texts(self.tr, self.tr.normalize(account.language))
        if not callback_is_read_only(event.data or ""):
            if not await self.can_change(data["bot"], chat_id, user.id):
                await event.answer(t.plain("group-admins-only-short"), show_alert=True)
                return None
        data["account"] = account
        data["is_admin"] = False
        data["in_group"] = True
        data["can_change"] = True
        return await handler(event, data)

    def _chats(self) -> ChatRepo:
        if self.chats is None:
            self.chats = ChatRepo(self.users._db)  # noqa: SLF001 - same database as the users
        return self.chats
