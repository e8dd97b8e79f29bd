"""Groups as subscribers (issue 14): the bot added to / removed from a group, muted or demoted
in it, the group upgraded to a supergroup, members' admin status changing; and /topic, which
routes a forum supergroup's alerts (all of them, or one kind) to a topic.

Lifecycle, from ``my_chat_member`` (the bot's own status in a chat):
* added (left/kicked -> member/administrator): with ACCESS=public, or when the adder is an admin
  or an allowed user, or the chat id was /allow-ed, the group is registered (its settings are
  kept from an earlier stay) and greeted; otherwise the group is told its chat id and how to ask.
* removed or kicked: inactive — no alerts, its symbols stop streaming; settings are kept.
* muted (restricted without can_send_messages): inactive until it can post again; unmuted or
  promoted: active again.
A ``migrate_to_chat_id`` / ``migrate_from_chat_id`` service message moves the group's settings,
topics and outbox rows to the supergroup's id (``ChatRepo.migrate``; idempotent, both arrive).
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.types import (ChatMemberAdministrator, ChatMemberBanned, ChatMemberLeft, ChatMemberMember,
                           ChatMemberOwner, ChatMemberRestricted, ChatMemberUpdated, Message)

from bot.groups import GROUP_TYPES, TOPIC_ROUTES, GroupAdmins, ToldOnce, TopicRoutes, thread_for  # noqa: F401
from bot.handlers.replies import command_args
from bot.i18n import Texts
from bot.subscriptions import Subscriptions
from config.settings import Settings
from locales import Translator
from storage import TOPIC_ALL, AccessRepo, ChatRepo, User, UserRepo

if TYPE_CHECKING:
    from bot.delivery import Delivery

log = logging.getLogger(__name__)

ChatMember = (ChatMemberOwner | ChatMemberAdministrator | ChatMemberMember | ChatMemberRestricted
              | ChatMemberLeft | ChatMemberBanned)


def _can_post(member: ChatMember) -> bool:
    if isinstance(member, ChatMemberRestricted):
        return member.is_member and member.can_send_messages
    return member.status in ("creator", "administrator", "member")


def _present(member: ChatMember) -> bool:
    if isinstance(member, ChatMemberRestricted):
        return member.is_member
    return member.status not in ("left", "kicked")


async def on_my_chat_member(event: ChatMemberUpdated, bot: Bot, settings: Settings, tr: Translator,
                            users: UserRepo, access_repo: AccessRepo, subscriptions: Subscriptions,
                            group_admins: GroupAdmins, chats: ChatRepo,
                            told_strangers: ToldOnce | None = None) -> None:
    chat = event.chat
    if chat.type not in GROUP_TYPES:
        return
    group_admins.forget(chat.id)
    before, after = event.old_chat_member, event.new_chat_member
    account = await users.get(chat.id)
    if not _present(after) or not _can_post(after):
        # removed, kicked or muted: no alerts until it can post again (settings are kept)
        if account is not None and account.active:
            await users.set_active(chat.id, False)
            await subscriptions.resync(chat.id)
            log.info("group %s: bot %s, delivery stopped", chat.id, after.status)
        return
    adder = event.from_user
    lang = tr.normalize(adder.language_code if adder else None)
    if _present(before) and account is not None:
        if not account.active and not await access_repo.is_blocked(chat.id):  # unmuted / promoted
            await chats.register_group(chat.id, chat.type, chat.title, account.language, None)
            await subscriptions.resync(chat.id)
            log.info("group %s: bot can post again, delivery resumed", chat.id)
        return
    # added to the group
    blocked = await access_repo.is_blocked(chat.id)
    allowed = not blocked and (
        settings.ACCESS == "public" or await access_repo.is_allowed(chat.id)
        or (adder is not None and (adder.id in settings.ADMIN_IDS or (
            not await access_repo.is_blocked(adder.id) and await access_repo.is_allowed(adder.id)))))
    if not allowed:
        if not blocked and (told_strangers is None or told_strangers.first_time(chat.id, None)):
            await _say(bot, event, tr.get(lang, "group-stranger", chat_id=str(chat.id)))
        return
    was_inactive = account is not None and not account.active
    account = await chats.register_group(chat.id, chat.type, chat.title,
                                         account.language if account else lang,
                                         adder.id if adder else None)
    if was_inactive:
        await subscriptions.resync(chat.id)
    log.info("group %s (%s) added by %s", chat.id, chat.type, adder.id if adder else "?")
    await _say(bot, event, Texts(tr, tr.normalize(account.language))("start-group", title=chat.title or ""))


async def _say(bot: Bot, event: ChatMemberUpdated, text: str) -> None:
    try:
        await bot.send_message(event.chat.id, text)
    except TelegramAPIError as e:  # e.g. added without the right to post: nothing to do
        log.info("cannot greet group %s: %s", event.chat.id, e)


async def on_chat_member(event: ChatMemberUpdated, group_admins: GroupAdmins) -> None:
    """Someone's status changed (promoted, demoted, left): who may change settings is asked
    again next time. Telegram sends these only when the bot is an administrator."""
    group_admins.forget(event.chat.id)


async def on_migrate(message: Message, chats: ChatRepo, group_admins: GroupAdmins,
                     delivery: Delivery | None = None) -> None:
    if message.migrate_to_chat_id:
        old, new = message.chat.id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id:
        old, new = message.migrate_from_chat_id, message.chat.id
    else:
        return
    group_admins.forget(old)
    group_admins.forget(new)
    if await chats.migrate(old, new):
        log.info("group %s became supergroup %s: settings and outbox moved", old, new)
        if delivery is not None:
            delivery.rows_changed()  # rows read ahead still name the old id: read them again


async def cmd_topic(message: Message, account: User, t: Texts, chats: ChatRepo,
                    topic_routes: TopicRoutes | None = None) -> None:
    if not account.is_group or not message.chat.is_forum:
        await message.answer(t("topic-not-forum"))
        return
    args = [a.lower() for a in command_args(message)]
    thread = message.message_thread_id if message.is_topic_message else None
    if not args:
        await message.answer(_topics_view(t, await chats.topics(account.id)))
        return
    if args == ["off"]:
        await chats.clear_topics(account.id)
        if topic_routes is not None:
            topic_routes.forget(account.id)  # after the write: the alert path reads them again
        await message.answer(t("topic-off"))
        return
    if len(args) == 1 and args[0] == "here":
        route = TOPIC_ALL
    elif len(args) == 2 and args[0] in TOPIC_ROUTES and args[1] in ("here", "off"):
        route = args[0]
        if args[1] == "off":
            thread = None
    else:
        await message.answer(t("topic-usage", routes=", ".join(TOPIC_ROUTES)))
        return
    if thread is None:  # the general topic: no route needed
        await chats.clear_topic(account.id, route)
    else:
        await chats.set_topic(account.id, route, thread)
    if topic_routes is not None:
        topic_routes.forget(account.id)
    label = t("topic-all") if route == TOPIC_ALL else route
    await message.answer(t("topic-set-general" if thread is None else "topic-set", route=label))


def _topics_view(t: Texts, routes: dict[str, int]) -> str:
    if not routes:
        return t("topic-none")
    lines = [t("topic-title")]
    for route, thread in sorted(routes.items()):
        lines.append(t("topic-line", route=t("topic-all") if route == TOPIC_ALL else route,
                       thread=str(thread)))
    return "\n".join(lines)


def build_router() -> Router:
    router = Router(name="groups")
    router.my_chat_member.register(on_my_chat_member)
    router.chat_member.register(on_chat_member)
    router.message.register(on_migrate, F.migrate_to_chat_id | F.migrate_from_chat_id)
    router.message.register(cmd_topic, Command("topic"))
    return router
