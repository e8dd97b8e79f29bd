"""Delivery to groups (issue 14): alerts land in the forum topic routed for their kind, a thread
reply stays in the topic of the message it answers, a deleted or closed topic falls back to the
general topic with one notice, a group found upgraded follows to its new id, and group pacing
(20 messages a minute: URGENT first, low tiers coalesced)."""
from __future__ import annotations

from bot.delivery import DeliveryConfig
from bot.delivery.scheduler import Scheduler
from engine.signals import Kind, Tier
from storage import ChatRepo, OutboxRow, UserRepo
from tests.conftest import BotHarness
from tests.test_bot_groups import OWNER, added, group_say
from tests.test_delivery_support import Backlog, make_signal
from tests.test_delivery_threads import cascade, stop_hunt

FORUM = -1001234567890
GROUP = -4001


def alerts_to(api, chat_id: int) -> list:
    """Messages the delivery sender sent (it alone sets link_preview_options), not notices."""
    return [c for c in api.sent_to(chat_id) if c.params.get("link_preview_options")
            and "deleted or closed" not in c.params.get("text", "")]


def thread_of(call) -> int | None:
    value = call.params.get("message_thread_id")
    return None if value is None else int(value)


async def forum_desk(h: BotHarness) -> dict:
    chat = h.api.group_chat(FORUM, title="Forum desk", is_forum=True)
    await added(h, chat)
    await group_say(h, chat, OWNER, "/add BTC")
    await group_say(h, chat, OWNER, "/topic here", thread_id=7)
    await group_say(h, chat, OWNER, "/topic stophunt here", thread_id=9)
    return chat


async def test_alerts_land_in_the_topic_of_their_kind_and_replies_stay_in_theirs(api, tmp_path):
    h = await BotHarness(api, tmp_path / "f.db", with_delivery=True).start()
    try:
        await forum_desk(h)
        first = cascade("BTC", Tier.URGENT)
        h.delivery.sink.emit(first)
        assert await api.wait_for(lambda: len(alerts_to(api, FORUM)) == 1)
        assert thread_of(alerts_to(api, FORUM)[0]) == 7  # '*' route
        # the stop hunt that continues the cascade answers it: in the cascade's topic
        h.delivery.sink.emit(stop_hunt(first))
        assert await api.wait_for(lambda: len(alerts_to(api, FORUM)) == 2)
        reply = alerts_to(api, FORUM)[1]
        assert thread_of(reply) == 7 and reply.params.get("reply_parameters")
        # a fresh stop hunt (no thread) goes to the stop-hunt topic
        h.delivery.sink.emit(make_signal("BTC", Tier.URGENT, kind=Kind.STOP_HUNT,
                                         magnitudes={"liq_usd": 9e6, "dominance": 0.9}))
        assert await api.wait_for(lambda: len(alerts_to(api, FORUM)) == 3)
        assert thread_of(alerts_to(api, FORUM)[2]) == 9
        assert (await ChatRepo(h.db).topics(FORUM)) == {"*": 7, "stophunt": 9}
    finally:
        await h.stop()


async def test_a_deleted_topic_falls_back_to_the_general_topic_and_admins_are_told_once(api, tmp_path):
    h = await BotHarness(api, tmp_path / "g.db", with_delivery=True).start()
    try:
        await forum_desk(h)
        api.gone_topics[(FORUM, 7)] = "Bad Request: message thread not found"
        h.delivery.sink.emit(cascade("BTC", Tier.URGENT))
        assert await api.wait_for(lambda: any(thread_of(c) is None for c in alerts_to(api, FORUM)))
        assert await api.wait_for(lambda: len([c for c in api.sent_to(FORUM)
                                               if "deleted or closed" in c.params.get("text", "")]) == 1)
        notices = [c for c in api.sent_to(FORUM) if "deleted or closed" in c.params.get("text", "")]
        assert thread_of(notices[0]) is None and "Admins" in notices[0].params["text"]
        assert await ChatRepo(h.db).topics(FORUM) == {"stophunt": 9}  # the gone route is forgotten
        # the next alert goes straight to the general topic; no second notice
        before = len(api.sent_to(FORUM))
        h.delivery.sink.emit(cascade("BTC", Tier.URGENT))
        assert await api.wait_for(lambda: len(api.sent_to(FORUM)) == before + 1)
        assert thread_of(api.sent_to(FORUM)[-1]) is None
        assert h.delivery.counters.topics_gone == 1
    finally:
        await h.stop()


async def test_a_group_upgraded_while_sending_gets_its_alert_at_the_new_id(api, tmp_path):
    h = await BotHarness(api, tmp_path / "m.db", with_delivery=True).start()
    try:
        chat = api.group_chat(GROUP)
        await added(h, chat)
        await group_say(h, chat, OWNER, "/add BTC")
        api.fail("sendMessage", 400, "Bad Request: group chat was upgraded to a supergroup chat",
                 chat_id=GROUP, parameters={"migrate_to_chat_id": FORUM})
        h.delivery.sink.emit(make_signal("BTC", Tier.URGENT))
        assert await api.wait_for(lambda: len(api.sent_to(FORUM)) == 1)
        assert await UserRepo(h.db).get(GROUP) is None
        moved = await UserRepo(h.db).get(FORUM)
        assert moved is not None and moved.active
        assert await h.db.fetchval("SELECT COUNT(*) FROM outbox WHERE user_id = ? AND state = 'sent'",
                                   (FORUM,)) == 1
    finally:
        await h.stop()


def _item(i: int, tier: str, chat_id: int = GROUP, thread_id: int | None = None) -> OutboxRow:
    priority = {"URGENT": 0, "WATCH": 1, "INFO": 2}[tier]
    return OutboxRow(id=i, user_id=chat_id, chat_id=chat_id, signal_id=f"s{i}", tier=tier, priority=priority,
                     text=f"alert {i}", silent=False, symbol="BTC", lang="en", thread_id=thread_id)


def test_a_burst_to_a_group_keeps_20_a_minute_urgent_first_low_tiers_coalesced():
    """Telegram allows 20 messages a minute per group: one per 3.05 s after each answer. In a
    burst of 40 INFO, 10 WATCH and 5 URGENT alerts (the production pacing and coalescing), every
    URGENT goes first (never behind a lower tier), then WATCH, and the INFO alerts coalesce, so
    the whole burst takes 19 messages and never more than 20 in a minute."""
    cfg = DeliveryConfig()
    s = Backlog(Scheduler(group_interval_s=60.0 / cfg.group_per_min + cfg.guard_s,
                          coalesce_window_s=cfg.coalesce_window_s, coalesce_tiers=cfg.coalesce_tiers))
    n = 0
    for tier, count in (("INFO", 40), ("WATCH", 10), ("URGENT", 5)):
        for _ in range(count):
            n += 1
            s.push(_item(n, tier))
    now, sent = 0.0, []
    while len(s):
        batch = s.pop_ready(now)
        if batch is None:
            now += 0.05
            continue
        sent.append((now, batch))
        s.release(GROUP, now + 0.1)  # the answer arrives 100 ms later
    tiers = [b[0].tier for _, b in sent]
    assert tiers == ["URGENT"] * 5 + ["WATCH"] * 10 + ["INFO"] * 4
    assert all(len(b) == 1 for _, b in sent[:15])  # URGENT and WATCH are never held back
    assert sum(len(b) for _, b in sent[15:]) == 40  # 40 INFO alerts in 4 messages
    times = [t for t, _ in sent]
    assert all(b - a >= 3.05 for a, b in zip(times, times[1:]))
    for start in times:  # never more than 20 in any minute
        assert sum(1 for t in times if start <= t < start + 60) <= 20


def test_alerts_of_different_topics_are_not_coalesced():
    s = Backlog(Scheduler(group_interval_s=0.0, coalesce_window_s=0.0))
    for i, thread in enumerate((7, 9, 7, None), start=1):
        s.push(_item(i, "INFO", chat_id=FORUM, thread_id=thread))
    batches = []
    now = 0.0
    while len(s):
        batch = s.pop_ready(now)
        if batch is None:
            now += 1
            continue
        batches.append(sorted((it.id, it.thread_id) for it in batch))
        s.release(FORUM, now)
    assert sorted(batches) == [[(1, 7), (3, 7)], [(2, 9)], [(4, None)]]


async def test_a_muted_bot_400_marks_the_group_inactive_until_it_can_post(api, tmp_path):
    h = await BotHarness(api, tmp_path / "r.db", with_delivery=True).start()
    try:
        chat = api.group_chat(GROUP)
        await added(h, chat)
        await group_say(h, chat, OWNER, "/add BTC")
        api.fail("sendMessage", 400, "Bad Request: not enough rights to send text messages to the chat",
                 chat_id=GROUP)
        h.delivery.sink.emit(make_signal("BTC", Tier.URGENT))
        assert await api.wait_for(lambda: h.delivery.counters.forbidden == 1)
        assert not (await UserRepo(h.db).get(GROUP)).active
        # promoted: it can post again, alerts resume
        await h._handled(api.bot_status(chat, OWNER, "restricted", "administrator"))
        assert (await UserRepo(h.db).get(GROUP)).active
        before = len(alerts_to(api, GROUP))
        h.delivery.sink.emit(make_signal("BTC", Tier.URGENT))
        assert await api.wait_for(lambda: len(alerts_to(api, GROUP)) == before + 1)
    finally:
        await h.stop()
