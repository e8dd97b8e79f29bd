"""bot.subscriptions: thresholds -> detector floors both ways (a real Engine, a real SQLite file),
and the one validation of a user's value."""
from __future__ import annotations

import asyncio

import pytest

from bot.subscriptions import Subscriptions, WatchlistFull
from engine.thresholds import MAJOR, MID, OutOfRange
from locales import translator
from storage import Database, ThresholdRepo, UserRepo, WatchlistRepo
from tests.conftest import FakeEngine, FakeRegistry


@pytest.fixture
async def subs(tmp_path):
    db = await Database.open(tmp_path / "subs.db")
    users = UserRepo(db)
    for uid in (1, 2, 3):
        await users.upsert_on_start(uid, uid, "en")
    service = Subscriptions(watchlist=WatchlistRepo(db), thresholds=ThresholdRepo(db), users=users,
                            tr=translator(), engine=FakeEngine(), registry=FakeRegistry())
    try:
        yield service
    finally:
        await db.close()


def cascade(service: Subscriptions, symbol: str = "BTC") -> float:
    assert service.engine is not None
    return service.engine.thresholds_for(symbol).cascade_usd


async def test_floor_is_the_lowest_any_active_subscriber_needs_and_follows_both_ways(subs):
    await subs.watch(1, "BTC")
    await subs.watch(2, "BTC")
    await subs.set_threshold(1, "BTC", "cascade", 500_000)
    await subs.set_threshold(2, "BTC", "cascade", 800_000)
    assert cascade(subs) == 500_000
    await subs.set_threshold(1, "BTC", "cascade", 5_000_000)  # 1 raises: 2 still needs 800k
    assert cascade(subs) == 800_000
    await subs.set_threshold(1, "BTC", "cascade", 300_000)
    assert cascade(subs) == 300_000
    await subs.unwatch(1, "BTC")  # 1 leaves BTC: 2's value decides
    assert cascade(subs) == 800_000
    await subs.reset_thresholds(2, "BTC", "cascade")  # nobody needs less: the default
    assert cascade(subs) == MAJOR.cascade_usd and subs.engine.thresholds.floored() == frozenset()


async def test_a_global_value_governs_coins_without_their_own(subs):
    for symbol in ("BTC", "SOL"):
        await subs.watch(1, symbol)
    await subs.set_threshold(1, "SOL", "whale", 12_000)
    await subs.set_threshold(1, "*", "whale", 5_000)
    engine = subs.engine
    assert engine.thresholds_for("BTC").whale_usd == 5_000
    assert engine.thresholds_for("SOL").whale_usd == 12_000  # its own value wins there
    await subs.set_threshold(1, "*", "whale", 20_000)  # raised: BTC back to 20k, SOL unchanged
    assert engine.thresholds_for("BTC").whale_usd == 20_000
    assert engine.thresholds_for("SOL").whale_usd == 12_000
    await subs.reset_thresholds(1)  # everything: both back to their defaults
    assert engine.thresholds_for("BTC") == MAJOR and engine.thresholds_for("SOL") == MID


async def test_a_value_on_a_coin_not_watched_moves_no_floor_until_it_is_added(subs):
    await subs.set_threshold(3, "DOGE", "cascade", 20_000)
    assert subs.engine.thresholds_for("DOGE") == MID
    await subs.watch(3, "DOGE")
    assert cascade(subs, "DOGE") == 20_000


async def test_an_inactive_subscriber_holds_no_floor_down(subs):
    """A denied user (or a group that muted the bot) keeps their list for a comeback, but their
    thresholds no longer pull the detectors down; ``resync`` is what /deny and the access
    middleware call."""
    await subs.watch(1, "ETH")
    await subs.watch(2, "ETH")
    await subs.set_threshold(1, "ETH", "cascade", 100_000)
    await subs.set_threshold(2, "ETH", "cascade", 900_000)
    await subs.users.set_active(1, False)
    await subs.resync(1)
    assert cascade(subs, "ETH") == 900_000
    await subs.users.set_active(1, True)
    await subs.resync(1)
    assert cascade(subs, "ETH") == 100_000


async def test_out_of_range_is_refused_once_and_stores_nothing(subs):
    await subs.watch(1, "BTC")
    for key, value in (("cascade", 5.0), ("dominance", 0.2), ("score", 0.0), ("funding", float("nan")),
                       ("whale", float("inf"))):
        with pytest.raises(OutOfRange):
            await subs.set_threshold(1, "BTC", key, value)
    with pytest.raises(ValueError):
        await subs.set_threshold(1, "BTC", "speed", 5)
    assert await subs.thresholds.get_all(1) == {}
    assert subs.engine.thresholds_for("BTC") == MAJOR


async def test_stored_values_from_before_the_ranges_are_clamped_not_fatal(subs):
    """A minimum score of 0 written by an older version: start-up and live changes use the
    key's lowest valid value instead of refusing (no ValueError swallowed anywhere)."""
    await subs.watch(1, "BTC")
    await subs.thresholds.set(1, "BTC", "score", 0)
    await subs.thresholds.set(1, "BTC", "cascade", 1.0)
    fresh = Subscriptions(watchlist=subs.watchlist, thresholds=subs.thresholds, users=subs.users,
                          tr=subs.tr, engine=FakeEngine())
    await fresh.seed_floors()
    th = fresh.engine.thresholds_for("BTC")
    assert (th.min_score, th.cascade_usd) == (1, 10_000)
    await subs.refloor("BTC")
    assert subs.engine.thresholds_for("BTC") == th


async def test_a_recompute_never_overwrites_a_lower_value_written_meanwhile(subs):
    """User 1 raises (the floor is recomputed from the database) while user 2 lowers (straight
    to the engine). The recompute's read is held until user 2's write happened (or 0.3 s
    passed: with the floors lock it cannot happen meanwhile); the floor must end at 2's value,
    not at what the stale read says."""
    await subs.watch(1, "BTC")
    await subs.watch(2, "BTC")
    await subs.set_threshold(1, "BTC", "cascade", 400_000)
    read, reading, written = subs.thresholds.for_watchers_of, asyncio.Event(), asyncio.Event()
    real_set = subs.thresholds.set

    async def held_read(symbol, **kwargs):
        rows = await read(symbol, **kwargs)
        reading.set()
        try:
            await asyncio.wait_for(written.wait(), 0.3)
        except TimeoutError:
            pass
        return rows

    async def noted_set(user_id, symbol, key, value):
        await real_set(user_id, symbol, key, value)
        if user_id == 2:
            written.set()

    subs.thresholds.for_watchers_of = held_read
    subs.thresholds.set = noted_set
    raising = asyncio.create_task(subs.set_threshold(1, "BTC", "cascade", 1_500_000))
    await reading.wait()  # 1's recompute has read the database
    await subs.set_threshold(2, "BTC", "cascade", 300_000)
    await raising
    assert cascade(subs) == 300_000


async def test_the_watchlist_cap_is_the_services_for_every_path(subs):
    """Not the /add handler's count: any caller of ``watch`` (buttons, groups) meets the cap,
    and a refused coin is neither stored nor streamed."""
    subs.max_watchlist = 3
    for symbol in ("BTC", "ETH", "SOL"):
        assert await subs.watch(1, symbol)
    with pytest.raises(WatchlistFull) as full:
        await subs.watch(1, "DOGE")
    assert full.value.limit == 3 and full.value.symbol == "DOGE"
    assert not await subs.watch(1, "BTC")  # already there: False, not "full"
    assert [e.symbol for e in await subs.watchlist.list_for_user(1)] == ["BTC", "ETH", "SOL"]
    assert "DOGE" not in subs.registry.symbols
    assert await subs.watch(2, "DOGE")  # the cap is per subscriber


async def test_a_user_who_blocks_the_bot_no_longer_holds_a_floor_down(tmp_path):
    """Delivery's 403 makes the user inactive and calls ``on_user_deactivated`` (bot.app wires
    it to ``resync``): their low cascade threshold stops holding BTC's floor down."""
    from engine.thresholds import defaults_for
    from tests.test_delivery_support import add_users, clocked, make_signal, run_clock

    db = await Database.open(tmp_path / "blocked.db")
    try:
        await add_users(db, [1, 2], ("BTC",))
        registry = FakeRegistry({"BTC"})
        subs = Subscriptions(watchlist=WatchlistRepo(db), thresholds=ThresholdRepo(db), users=UserRepo(db),
                             tr=translator(), engine=FakeEngine(), registry=registry)
        default = defaults_for("BTC").cascade_usd
        await subs.set_threshold(2, "BTC", "cascade", default / 4)
        assert cascade(subs) == default / 4
        async with clocked(db) as (clock, api, d):
            d.sender.on_user_deactivated = subs.resync
            api.fail("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=2, times=-1)
            d.sink.emit(make_signal("BTC"))
            assert await run_clock(clock, d, api, lambda: cascade(subs) == default)
        assert not (await UserRepo(db).get(2)).active
        assert registry.symbols == {"BTC"}  # user 1 still watches it: still streamed
        assert subs.engine.thresholds.floored() == frozenset()
    finally:
        await db.close()
