"""Shutdown waits for the updates being handled (bot.inflight): the outer middleware run_app uses
instead of reaching into aiogram's private task set."""
import asyncio
import datetime

from aiogram import Bot, Dispatcher, Router
from aiogram.types import Chat, Message, Update, User

from bot.inflight import InflightUpdates


def _update(update_id: int, text: str = "/slow") -> Update:
    chat = Chat(id=7, type="private")
    user = User(id=7, is_bot=False, first_name="T")
    msg = Message(message_id=update_id, date=datetime.datetime.now(datetime.UTC), chat=chat, from_user=user,
                  text=text)
    return Update(update_id=update_id, message=msg)


async def test_idle_returns_at_once_when_nothing_runs():
    tracker = InflightUpdates()
    await asyncio.wait_for(tracker.idle(), 1)
    assert tracker.running == 0


async def test_idle_waits_for_every_update_the_dispatcher_is_handling():
    release = asyncio.Event()
    both_in = asyncio.Event()
    started: list[int] = []
    handled: list[int] = []
    router = Router()

    @router.message()
    async def slow(message: Message) -> None:
        started.append(message.message_id)
        if len(started) == 2:
            both_in.set()
        await release.wait()
        handled.append(message.message_id)

    dp = Dispatcher()
    tracker = InflightUpdates()
    dp.update.outer_middleware(tracker)
    dp.include_router(router)
    bot = Bot("42:TEST")  # no request is made: the handler never answers
    try:
        tasks = [asyncio.create_task(dp.feed_update(bot, _update(i))) for i in (1, 2)]
        await asyncio.wait_for(both_in.wait(), 5)
        assert tracker.running == 2
        idle = asyncio.create_task(tracker.idle())
        await asyncio.sleep(0)
        assert not idle.done() and handled == []
        release.set()
        await asyncio.wait_for(idle, 5)
        assert sorted(handled) == [1, 2] and tracker.running == 0
        await asyncio.gather(*tasks)
    finally:
        await bot.session.close()


async def test_a_failing_handler_still_leaves_the_tracker_idle():
    tracker = InflightUpdates()

    async def boom(event, data):
        raise RuntimeError("handler failed")

    try:
        await tracker(boom, _update(3), {})
    except RuntimeError:
        pass
    assert tracker.running == 0
    await asyncio.wait_for(tracker.idle(), 1)
