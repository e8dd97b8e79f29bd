"""Groups and supergroups as subscribers (issue 14): who may change a group's settings.

A group's settings (watchlist, thresholds, tiers, mutes, quiet hours, tz, language, topics) may be
changed by the group's Telegram administrators and by the bot's ``ADMIN_IDS``; every other member
may read (/list, /flow, /signals, /stats, /help, /start) and is told once that they cannot change.

Administrators are asked from Telegram (getChatAdministrators, one call per group) and cached for
``ttl_s``; a member not in the cached list is re-checked with getChatMember (at most once per
``recheck_s`` per member) before being refused, so someone promoted a minute ago is not turned
away; a chat_member / my_chat_member update drops the group's cache at once. Memory is bounded.
"""
from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiogram.exceptions import TelegramAPIError

from engine.signals import Kind

if TYPE_CHECKING:
    from aiogram import Bot

    from storage import ChatRepo

log = logging.getLogger(__name__)

GROUP_TYPES = frozenset({"group", "supergroup"})
ADMIN_STATUSES = frozenset({"creator", "administrator"})
# Telegram's account for messages an anonymous group admin sends "as the group"
ANONYMOUS_ADMIN_ID = 1087968824

# what a member may do in a group without being allowed to change settings
READ_COMMANDS = frozenset({"start", "help", "list", "flow", "signals", "stats"})
# every command a group understands (the admin-only commands stay in private chats)
GROUP_COMMANDS = READ_COMMANDS | frozenset({"add", "remove", "mute", "unmute", "quiet", "tz",
                                            "thresholds", "tiers", "lang", "topic"})
# callback prefixes (bot.callbacks) that only show things; MenuCB is decided by its action
READ_CALLBACK_PREFIXES = frozenset({"f1", "fv1", "st1"})
READ_MENU_ACTIONS = frozenset({"list", "signals", "help"})


def command_of(text: str) -> tuple[str, str]:
    """'/add@TeleglasBot BTC' -> ('add', 'teleglasbot'); not a command -> ('', '')."""
    if not text.startswith("/"):
        return "", ""
    word = text.split(maxsplit=1)[0][1:]
    name, _, mention = word.partition("@")
    return name.lower(), mention.lower()


def callback_is_read_only(data: str) -> bool:
    prefix, _, rest = (data or "").partition(":")
    if prefix in READ_CALLBACK_PREFIXES:
        return True
    return prefix == "mn1" and rest in READ_MENU_ACTIONS

# /topic KIND here: which signal kinds each route name covers (engine.signals.Kind values)
TOPIC_ROUTES: dict[str, tuple[str, ...]] = {
    "stophunt": ("STOP_HUNT",),
    "cascade": ("LIQUIDATION_CASCADE",),
    "flow": ("ACCUMULATION", "DISTRIBUTION"),
    "whale": ("WHALE_WINDOW",),
    "funding": ("FUNDING_EXTREME",),
    "divergence": ("DIVERGENCE",),
    "volume": ("VOLUME_SPIKE",),
}
_ROUTE_OF_KIND = {kind: route for route, kinds in TOPIC_ROUTES.items() for kind in kinds}
TOPIC_ALL = "*"  # storage.TOPIC_ALL: every alert


def thread_for(kind: Kind | str, routes: dict[str, int]) -> int | None:
    """The forum topic an alert of ``kind`` goes to: its kind's route, else the '*' route, else
    None (the general topic). Pure, O(1)."""
    route = _ROUTE_OF_KIND.get(kind.value if isinstance(kind, Kind) else kind)
    if route is not None and route in routes:
        return routes[route]
    return routes.get(TOPIC_ALL)


# Bot API answers (400) to a send into a forum topic that is gone: deleted, closed, or unknown
TOPIC_GONE_MARKERS = ("thread not found", "topic_closed", "topic_deleted", "topic was deleted",
                      "topic is closed", "topic_id_invalid")


# Bot API answers (400) when the bot was muted or lost the right to post in a group
NO_RIGHTS_MARKERS = ("not enough rights", "have no rights", "chat_write_forbidden",
                     "chat_send_plain_forbidden")


def cannot_post(description: str | None) -> bool:
    text = (description or "").lower()
    return any(marker in text for marker in NO_RIGHTS_MARKERS)


def topic_gone(description: str | None) -> bool:
    text = (description or "").lower()
    return any(marker in text for marker in TOPIC_GONE_MARKERS)


class GroupAdmins:
    """Cached answer to "may this user change this group's settings?" (see module docstring)."""

    def __init__(self, *, ttl_s: float = 300.0, recheck_s: float = 30.0, max_chats: int = 5_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.recheck_s = recheck_s
        self.max_chats = max_chats
        self.clock = clock
        # chat id -> (fetched at, admin user ids, {user id: last re-check})
        self._chats: OrderedDict[int, tuple[float, frozenset[int], dict[int, float]]] = OrderedDict()
        self.api_calls = 0

    def forget(self, chat_id: int) -> None:
        """A member's status changed (chat_member / my_chat_member): ask Telegram next time."""
        self._chats.pop(chat_id, None)

    def _store(self, chat_id: int, entry: tuple[float, frozenset[int], dict[int, float]]) -> None:
        self._chats[chat_id] = entry
        self._chats.move_to_end(chat_id)
        while len(self._chats) > self.max_chats:
            self._chats.popitem(last=False)

    async def is_admin(self, bot: Bot, chat_id: int, user_id: int) -> bool:
        now = self.clock()
        entry = self._chats.get(chat_id)
        if entry is None or now - entry[0] >= self.ttl_s:
            try:
                self.api_calls += 1
                members = await bot.get_chat_administrators(chat_id)
            except TelegramAPIError as e:  # cannot tell: refuse, and ask again next time
                log.info("getChatAdministrators for %s failed: %s", chat_id, e)
                return False
            entry = (now, frozenset(m.user.id for m in members), {})
            self._store(chat_id, entry)
        fetched, admins, rechecked = entry
        if user_id in admins:
            return True
        last = rechecked.get(user_id)
        if last is not None and now - last < self.recheck_s:
            return False
        # maybe promoted since the list was fetched: one fresh look at this member
        rechecked[user_id] = now
        if len(rechecked) > 1_000:
            rechecked.clear()
        try:
            self.api_calls += 1
            member = await bot.get_chat_member(chat_id, user_id)
        except TelegramAPIError as e:
            log.info("getChatMember %s in %s failed: %s", user_id, chat_id, e)
            return False
        if member.status in ADMIN_STATUSES:
            self._store(chat_id, (fetched, admins | {user_id}, rechecked))
            return True
        return False


class ToldOnce:
    """(chat, user) pairs already told something once (bounded, oldest forgotten first): a
    member that they cannot change a group's settings; with ACCESS=private a stranger's group
    (user None) how to get access. In memory on purpose: nothing about a stranger is written
    anywhere (``bot.middlewares.access``), and after a restart a group hears it once more."""

    def __init__(self, max_entries: int = 50_000) -> None:
        self._seen: OrderedDict[tuple[int, int | None], None] = OrderedDict()
        self.max_entries = max_entries

    def first_time(self, chat_id: int, user_id: int | None) -> bool:
        key = (chat_id, user_id)
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > self.max_entries:
            self._seen.popitem(last=False)
        return True


class TopicRoutes:
    """Forum topic routes per group chat, read from ``ChatRepo`` once and kept in memory (bounded),
    so routing an alert costs a dict lookup; ``/topic`` and a topic found deleted call ``forget``."""

    def __init__(self, chats: ChatRepo, max_chats: int = 10_000) -> None:
        self._chats_repo = chats
        self._routes: OrderedDict[int, dict[str, int]] = OrderedDict()
        self.max_chats = max_chats

    async def get(self, chat_id: int) -> dict[str, int]:
        if chat_id >= 0:
            return {}
        routes = self._routes.get(chat_id)
        if routes is None:
            routes = await self._chats_repo.topics(chat_id)
            self._routes[chat_id] = routes
            while len(self._routes) > self.max_chats:
                self._routes.popitem(last=False)
        else:
            self._routes.move_to_end(chat_id)
        return routes

    def forget(self, chat_id: int) -> None:
        self._routes.pop(chat_id, None)
