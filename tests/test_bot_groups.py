"""The bot in group chats and forum supergroups (issue 14), through a real aiogram Bot polling the
local Bot API double: who may change a group's settings (by command and by button), access,
addressed commands, lifecycle (added, removed, muted, upgraded to a supergroup), /topic."""
from __future__ import annotations

from bot.callbacks import MenuCB, ThrCB
from bot.groups import GroupAdmins
from bot.handlers.groups import thread_for
from storage import AccessRepo, ChatRepo, UserRepo, WatchlistRepo
from tests.botapi import BOT_ID
from tests.conftest import ADMIN, BotHarness, answers, texts
from tests.test_delivery_support import make_signal

FORUM = -1001234567890
GROUP = -4001
OWNER, MEMBER, OTHER_ADMIN = 50, 51, 52


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def group_say(h: BotHarness, chat: dict, user_id: int, text: str, **kw) -> list:
    start = len(h.api.calls)
    await h._handled(h.api.group_text(chat, user_id, text, **kw))
    return [c for c in h.api.calls[start:] if c.method in ("sendMessage", "editMessageText",
                                                            "answerCallbackQuery")]


async def group_press(h: BotHarness, chat: dict, user_id: int, data: str) -> list:
    start = len(h.api.calls)
    await h._handled(h.api.press(user_id, data, message=h.api.last_message(chat["id"])))
    return [c for c in h.api.calls[start:] if c.method in ("sendMessage", "editMessageText",
                                                            "answerCallbackQuery")]


async def added(h: BotHarness, chat: dict, by: int = OWNER) -> list:
    start = len(h.api.calls)
    h.api.members[chat["id"]].update({OWNER: "creator", OTHER_ADMIN: "administrator"})
    await h._handled(h.api.bot_status(chat, by, "left", "member"))
    return [c for c in h.api.calls[start:] if c.method == "sendMessage"]


async def test_admin_configures_member_reads_and_is_told_once(api, tmp_path):
    clock = Clock()
    h = await BotHarness(api, tmp_path / "g.db", group_admins=GroupAdmins(clock=clock)).start()
    try:
        chat = api.group_chat(FORUM, title="Alpha Desk", is_forum=True)
        greeting = await added(h, chat)
        assert len(greeting) == 1 and "Alpha Desk" in greeting[0].params["text"]
        assert "Group administrators" in greeting[0].params["text"]
        group = await UserRepo(h.db).get(FORUM)
        assert group is not None and group.active and group.is_group
        # the owner changes settings, addressed or not
        assert "BTC added" in texts(await group_say(h, chat, OWNER, "/add BTC"))[0]
        assert "ETH added" in texts(await group_say(h, chat, OTHER_ADMIN, "/add@teleglas_test_bot ETH"))[0]
        # a command for another bot is not ours
        assert await group_say(h, chat, OWNER, "/add@SomeOtherBot SOL") == []
        # a member may read ...
        listing = texts(await group_say(h, chat, MEMBER, "/list"))
        assert len(listing) == 1 and "BTC" in listing[0] and "ETH" in listing[0]
        # ... but not change: told once, then silence
        refused = texts(await group_say(h, chat, MEMBER, "/add SOL"))
        assert len(refused) == 1 and "Only this group's administrators" in refused[0]
        assert await group_say(h, chat, MEMBER, "/mute all 1h") == []
        assert await group_say(h, chat, MEMBER, "/lang id") == []
        symbols = [w.symbol for w in await WatchlistRepo(h.db).list_for_user(FORUM)]
        assert symbols == ["BTC", "ETH"]
        assert (await UserRepo(h.db).get(FORUM)).language == "en"
        # the members are the group's, never registered as private users
        assert await UserRepo(h.db).get(MEMBER) is None and await UserRepo(h.db).get(OWNER) is None
        # settings are the group's: the private chat of the owner is a different subscriber
        assert "watchlist is empty" in await h.text(OWNER, "/list")
        # the bot's own admin may change any group's settings
        assert "SOL added" in texts(await group_say(h, chat, ADMIN, "/add SOL"))[0]
    finally:
        await h.stop()


async def test_buttons_act_only_for_those_allowed_to_change(api, tmp_path):
    h = await BotHarness(api, tmp_path / "b.db").start()
    try:
        chat = api.group_chat(FORUM, is_forum=True)
        await added(h, chat)
        await group_say(h, chat, OWNER, "/add BTC")
        await group_say(h, chat, OWNER, "/start")  # the menu, in the group
        # a member: reading buttons work, changing ones are refused with an alert
        assert any("BTC" in t for t in texts(await group_press(h, chat, MEMBER, MenuCB(action="list").pack())))
        before = len(api.calls)
        refused = await group_press(h, chat, MEMBER, ThrCB(symbol="*", op="preset", key="", value="loose").pack())
        assert answers(refused) == [("Only this group's administrators can change its settings.", True)]
        assert not [c for c in api.calls[before:] if c.method in ("sendMessage", "editMessageText")]
        assert await h.db.fetchval("SELECT COUNT(*) FROM thresholds WHERE user_id = ?", (FORUM,)) == 0
        await group_say(h, chat, OWNER, "/thresholds")
        pressed = await group_press(h, chat, OWNER, MenuCB(action="tiers").pack())
        assert any("Alert tiers" in t for t in texts(pressed))
        assert all(int(c.params["chat_id"]) == FORUM for c in pressed if c.method == "sendMessage")
    finally:
        await h.stop()


async def test_a_member_promoted_later_is_rechecked(api, tmp_path):
    clock = Clock()
    admins = GroupAdmins(clock=clock, ttl_s=300, recheck_s=30)
    h = await BotHarness(api, tmp_path / "p.db", group_admins=admins).start()
    try:
        chat = api.group_chat(GROUP)
        await added(h, chat)
        assert "Only" in texts(await group_say(h, chat, MEMBER, "/add BTC"))[0]
        api.members[GROUP][MEMBER] = "administrator"
        # within the re-check pause the cached answer stands (no call per message)
        calls = admins.api_calls
        assert await group_say(h, chat, MEMBER, "/add BTC") == []
        assert admins.api_calls == calls
        clock.now += 31
        assert "BTC added" in texts(await group_say(h, chat, MEMBER, "/add BTC"))[0]
        # demoted: a chat_member update drops the cache at once
        api.members[GROUP][MEMBER] = "member"
        await h._handled(api.push_update({"chat_member": {
            "chat": chat, "from": api.user(OWNER), "date": 0,
            "old_chat_member": api.member(MEMBER, "administrator"),
            "new_chat_member": api.member(MEMBER, "member")}}))
        assert await group_say(h, chat, MEMBER, "/remove BTC") == []  # already told once
        assert [w.symbol for w in await WatchlistRepo(h.db).list_for_user(GROUP)] == ["BTC"]
    finally:
        await h.stop()


async def test_anonymous_admin_may_change(api, tmp_path):
    h = await BotHarness(api, tmp_path / "a.db").start()
    try:
        chat = api.group_chat(FORUM, is_forum=True)
        await added(h, chat)
        replies = await group_say(h, chat, 1087968824, "/add BTC",
                                  extra={"from": {"id": 1087968824, "is_bot": True,
                                                  "first_name": "Group", "username": "GroupAnonymousBot"},
                                         "sender_chat": chat})
        assert "BTC added" in texts(replies)[0]
    finally:
        await h.stop()


async def test_private_access_for_groups(api, tmp_path):
    h = await BotHarness(api, tmp_path / "pa.db", access="private").start()
    try:
        stranger_group = api.group_chat(-5001)
        said = await added(h, stranger_group, by=77)  # 77 is nobody the admin allowed
        assert len(said) == 1 and "/allow -5001" in said[0].params["text"]
        assert "I say this once" in said[0].params["text"]
        assert await UserRepo(h.db).get(-5001) is None
        # told when the bot was added: every later command is met with silence
        for text in ("/start", "/list", "/add BTC", "/flow BTC"):
            assert await group_say(h, stranger_group, 77, text) == []
        assert await UserRepo(h.db).get(-5001) is None
        # the admin allows the group by chat id
        assert "may use the bot now" in await h.text(ADMIN, "/allow -5001")
        assert "TELEGLAS" in texts(await group_say(h, stranger_group, 77, "/start"))[0]
        assert (await UserRepo(h.db).get(-5001)).active
        # an allowed user brings the bot into another group: served
        await h.say(ADMIN, "/allow 78")
        allowed_group = api.group_chat(-5002)
        said = await added(h, allowed_group, by=78)
        assert "TELEGLAS" in said[0].params["text"]
        assert (await ChatRepo(h.db).get(-5002)).added_by == 78
        # /deny of a group shuts it out
        assert "shut out" in await h.text(ADMIN, "/deny -5002")
        assert not (await UserRepo(h.db).get(-5002)).active
        assert await group_say(h, allowed_group, 78, "/list") == []
    finally:
        await h.stop()


async def test_a_stranger_group_hears_how_to_get_access_once(api, tmp_path):
    """A group the bot was added to while it was offline (no join notice): the first command
    gets the notice, every later one — from anyone, any command — nothing; other groups are
    told for themselves. Nothing about the strangers is written."""
    h = await BotHarness(api, tmp_path / "once.db", access="private").start()
    try:
        first, second = api.group_chat(-6001), api.group_chat(-6002)
        said = texts(await group_say(h, first, 77, "/list"))
        assert len(said) == 1 and "<code>-6001</code>" in said[0]
        assert await group_say(h, first, 77, "/list") == []
        assert await group_say(h, first, 79, "/start") == []
        said = texts(await group_say(h, second, 80, "/start", language_code="id"))
        assert len(said) == 1 and "<code>-6002</code>" in said[0] and "sekali" in said[0]
        assert await group_say(h, second, 77, "/start") == []
        assert await h.db.fetchval("SELECT COUNT(*) FROM users WHERE id < 0") == 0
        # allowed later: served as usual
        assert "may use the bot now" in await h.text(ADMIN, "/allow -6001")
        assert "TELEGLAS" in texts(await group_say(h, first, 77, "/start"))[0]
    finally:
        await h.stop()


async def test_broadcast_reaches_groups_only_when_the_admin_says_so(api, tmp_path, monkeypatch):
    """An operator's /broadcast is for the users who started the bot (private chats);
    ``/broadcast +groups`` reaches the subscribed groups as well."""
    monkeypatch.setattr("bot.handlers.admin.BROADCAST_POLL_S", 0.05)
    h = await BotHarness(api, tmp_path / "bc.db", with_delivery=True).start()
    try:
        chat = api.group_chat(GROUP, title="Desk")
        await added(h, chat)
        await h.say(76, "/start")

        def finished(n: int) -> bool:
            return sum("Broadcast finished" in t for t in api.texts_to(ADMIN)) >= n

        started = texts(await h.say(ADMIN, "/broadcast Maintenance at 02:00"))
        assert any("Sending to 2 active users… (private chats; groups only with" in t for t in started)
        assert await api.wait_for(lambda: finished(1))
        assert any("📣 Maintenance at 02:00" in t for t in api.texts_to(76))
        assert not any("Maintenance" in t for t in api.texts_to(GROUP))
        started = texts(await h.say(ADMIN, "/broadcast +groups Back at 03:00"))
        assert any("Sending to 3 active subscribers… (private chats and groups)" in t for t in started)
        assert await api.wait_for(lambda: finished(2))
        assert "📣 Back at 03:00" in api.texts_to(GROUP)  # the flag is not part of the text
        assert "📣 Back at 03:00" in api.texts_to(76)
        assert "Broadcast finished: 3 sent, 0 failed" in api.texts_to(ADMIN)[-1]
        # the flag alone is no announcement
        assert "/broadcast +groups" in texts(await h.say(ADMIN, "/broadcast +groups"))[0]
    finally:
        await h.stop()


async def test_upgrade_to_supergroup_keeps_everything(api, tmp_path):
    h = await BotHarness(api, tmp_path / "u.db").start()
    try:
        chat = api.group_chat(GROUP)
        await added(h, chat)
        await group_say(h, chat, OWNER, "/add BTC ETH")
        await group_say(h, chat, OWNER, "/tz Asia/Jakarta")
        await group_say(h, chat, OWNER, "/thresholds BTC cascade 5M")
        await group_say(h, chat, OWNER, "/lang id")
        new = api.group_chat(FORUM, is_forum=False)
        # Telegram sends both notices: one in the old group, one in the new supergroup
        await h._handled(api.group_text(chat, OWNER, "", extra={"migrate_to_chat_id": FORUM}))
        await h._handled(api.group_text(new, OWNER, "", extra={"migrate_from_chat_id": GROUP}))
        assert await UserRepo(h.db).get(GROUP) is None
        moved = await UserRepo(h.db).get(FORUM)
        assert (moved.language, moved.tz, moved.active) == ("id", "Asia/Jakarta", True)
        assert [w.symbol for w in await WatchlistRepo(h.db).list_for_user(FORUM)] == ["BTC", "ETH"]
        assert await h.db.fetchval("SELECT value FROM thresholds WHERE user_id = ?", (FORUM,)) == 5e6
        assert "BTC" in texts(await group_say(h, new, MEMBER, "/list"))[0]
    finally:
        await h.stop()


async def test_removed_or_muted_bot_stops_delivery_and_readding_resumes(api, tmp_path):
    h = await BotHarness(api, tmp_path / "d.db", with_delivery=True).start()
    try:
        chat = api.group_chat(GROUP)
        await added(h, chat)
        await group_say(h, chat, OWNER, "/add BTC")
        assert "BTC" in h.registry.symbols
        h.delivery.sink.emit(make_signal("BTC"))
        ok = await api.wait_for(lambda: any("BTC" in t for t in api.texts_to(GROUP)[2:]))
        assert ok, (api.texts_to(GROUP), await h.db.fetchall("SELECT user_id, state, last_error FROM outbox"))
        # removed: no more alerts, its coin stops streaming, settings kept
        await h._handled(api.bot_status(chat, OWNER, "member", "left"))
        assert not (await UserRepo(h.db).get(GROUP)).active
        assert "BTC" not in h.registry.symbols
        sent = len(api.sent_to(GROUP))
        h.delivery.sink.emit(make_signal("BTC"))
        # re-added: the same settings are back, and alerts resume
        await added(h, chat)
        assert (await UserRepo(h.db).get(GROUP)).active and "BTC" in h.registry.symbols
        assert len(api.sent_to(GROUP)) == sent + 1  # the greeting only: nothing was sent meanwhile
        # muted (restricted without the right to post): inactive until it can post again
        await h._handled(api.bot_status(chat, OWNER, "member", "restricted"))
        assert not (await UserRepo(h.db).get(GROUP)).active
        await h._handled(api.bot_status(chat, OWNER, "restricted", "administrator"))
        assert (await UserRepo(h.db).get(GROUP)).active
    finally:
        await h.stop()


async def test_topic_commands_in_a_forum(api, tmp_path):
    h = await BotHarness(api, tmp_path / "t.db").start()
    try:
        forum = api.group_chat(FORUM, is_forum=True)
        await added(h, forum)
        said = texts(await group_say(h, forum, OWNER, "/topic here", thread_id=7))
        assert "All alerts go to this topic" in said[0]
        sent = [c for c in api.calls_of("sendMessage") if int(c.params["chat_id"]) == FORUM][-1]
        assert int(sent.params["message_thread_id"]) == 7  # the answer stays in the topic
        await group_say(h, forum, OWNER, "/topic stophunt here", thread_id=9)
        await group_say(h, forum, OWNER, "/topic flow here", thread_id=11)
        routes = await ChatRepo(h.db).topics(FORUM)
        assert routes == {"*": 7, "stophunt": 9, "flow": 11}
        assert thread_for("STOP_HUNT", routes) == 9 and thread_for("DISTRIBUTION", routes) == 11
        assert thread_for("FUNDING_EXTREME", routes) == 7
        view = texts(await group_say(h, forum, MEMBER, "/topic"))
        assert view and "Only" in view[0]  # /topic is a setting: members are told once
        assert "topic 9" in texts(await group_say(h, forum, OWNER, "/topic"))[0]
        assert "general topic" in texts(await group_say(h, forum, OWNER, "/topic off"))[0]
        assert await ChatRepo(h.db).topics(FORUM) == {}
        plain = api.group_chat(GROUP)
        await added(h, plain)
        assert "forum" in texts(await group_say(h, plain, OWNER, "/topic here"))[0]
    finally:
        await h.stop()


async def test_help_in_a_group_explains_who_changes_what_in_indonesian(api, tmp_path):
    h = await BotHarness(api, tmp_path / "h.db").start()
    try:
        chat = api.group_chat(GROUP)
        api.members[GROUP][OWNER] = "creator"
        await h._handled(api.push_update({"my_chat_member": {
            "chat": chat, "from": api.user(OWNER, "id"), "date": 0,
            "old_chat_member": api.member(BOT_ID, "left"), "new_chat_member": api.member(BOT_ID, "member")}}))
        assert (await UserRepo(h.db).get(GROUP)).language == "id"
        help_text = texts(await group_say(h, chat, MEMBER, "/help"))[0]
        assert "Administrator grup" in help_text and "/topic" in help_text
        assert "/allow" not in help_text
        assert await group_say(h, chat, ADMIN, "/users") == []  # admin commands stay private
        assert await AccessRepo(h.db).list() == []
    finally:
        await h.stop()


async def test_a_button_pressed_in_a_topic_is_answered_in_that_topic(api, tmp_path):
    h = await BotHarness(api, tmp_path / "bt.db").start()
    try:
        forum = api.group_chat(FORUM, is_forum=True)
        await added(h, forum)
        await group_say(h, forum, OWNER, "/add BTC")
        await group_say(h, forum, OWNER, "/start", thread_id=7)
        menu = api.last_message(FORUM)
        assert menu["message_thread_id"] == 7
        menu = {**menu, "is_topic_message": True}
        start = len(api.calls)
        await h._handled(api.press(OWNER, MenuCB(action="tiers").pack(), message=menu))
        sent = [c for c in api.calls[start:] if c.method == "sendMessage"]
        assert sent and int(sent[0].params["chat_id"]) == FORUM
        assert int(sent[0].params["message_thread_id"]) == 7
    finally:
        await h.stop()
