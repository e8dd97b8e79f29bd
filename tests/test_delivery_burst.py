"""1,000 users, a burst under a 30 msg/s limit: all delivered, no 429 provoked, URGENT first.

The double enforces Telegram's limits (30 msg/s overall, ~1 msg/s per chat) by answering 429;
the sender is configured at the same 30 msg/s. The ~35 s of pacing (1,000 / 30) run on a
``FakeClock`` shared by the sender and the double; the HTTP requests are real.
"""
from __future__ import annotations

import pytest

from bot.delivery import Delivery, DeliveryConfig
from engine.signals import Tier
from storage import Database, OutboxRepo, WatchlistRepo
from tests.test_delivery_support import add_users, clocked_double, make_signal, run_clock

URGENT_USERS = range(601, 1001)  # watch BTC
INFO_USERS = range(1, 601)  # watch ETH
LATE_USERS = range(1, 51)  # also watch SOL


@pytest.fixture
async def db(tmp_path):
    database = await Database.open(tmp_path / "t.db")
    yield database
    await database.close()


async def test_thousand_users_burst_at_30_per_s(db):
    await add_users(db, INFO_USERS, ("ETH",))
    await add_users(db, URGENT_USERS, ("BTC",))
    for uid in LATE_USERS:
        await WatchlistRepo(db).add(uid, "SOL")
    async with clocked_double(max_seconds=120) as (clock, api, bot):
        api.rate.global_per_s = 30
        api.rate.per_chat_per_s = 1
        d = Delivery(bot, db, config=DeliveryConfig(global_per_s=30), clock=clock)
        # the burst is accepted before the sender runs: INFO first, URGENT after it
        info = await d.accept(make_signal("ETH", Tier.INFO))
        urgent = await d.accept(make_signal("BTC", Tier.URGENT))
        assert len(info.rows) == 600 and len(urgent.rows) == 400
        await d.start()
        try:
            # a second URGENT arriving through the sink mid-burst overtakes the INFO backlog
            assert await run_clock(clock, d, api, lambda: d.counters.messages_sent >= 450,
                                   real_timeout=60)
            d.sink.emit(make_signal("SOL", Tier.URGENT))
            assert await run_clock(clock, d, api, lambda: d.counters.rows_sent == 1050,
                                   real_timeout=60)
        finally:
            await d.stop()
        calls = api.calls_of("sendMessage")
    assert api.rate_limited == 0 and d.counters.rate_limited == 0
    assert len(calls) == 1050
    chats = [int(c.params["chat_id"]) for c in calls]
    # URGENT first, in FIFO order (requests in flight together may land in either order)
    assert set(chats[:400]) == set(URGENT_USERS)
    inflight = d.config.max_inflight
    assert all(abs(chats.index(uid) - i) <= inflight for i, uid in enumerate(URGENT_USERS))
    # the late URGENT overtook the INFO backlog: all 50 went out while INFO was still queued
    late = [i for i, c in enumerate(calls) if "SOL" in c.params["text"]]
    info = [i for i, c in enumerate(calls) if "ETH" in c.params["text"]]
    assert len(late) == 50 and len(info) == 600
    assert max(late) < max(info) - 100
    assert sorted(chats) == sorted([*URGENT_USERS, *INFO_USERS, *LATE_USERS])
    assert await OutboxRepo(db).counts_by_state() == {"pending": 0, "sending": 0, "sent": 1050, "failed": 0}
