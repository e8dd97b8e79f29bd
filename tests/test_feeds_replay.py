"""ReplayFeed.run keeps the event loop responsive and batches paced output."""
import asyncio
import gzip

import pytest

from engine.feeds.replay import ReplayFeed

TRADE = ('{{"stream":"btcusdt@aggTrade","data":{{"e":"aggTrade","E":1,"s":"BTCUSDT","a":{a},"p":"100",'
         '"q":"2","f":1,"l":1,"T":1700000000000,"m":false}}}}')
BOOK = ('{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":1,"s":"BTCUSDT","b":"100.0","B":"1",'
        '"a":"100.1","A":"1","T":1700000000000,"E":1700000000000}}')


def write(path, lines):
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")


async def test_speed_zero_yields_to_the_loop_while_reading_frames_without_events(tmp_path):
    """The 2024 tape is mostly book frames: thousands of lines produce no event. The loop must
    still get a turn every few hundred frames, or the bot stalls while a replay source runs."""
    path = tmp_path / "book.gz"
    write(path, [f"{1_700_000_000_000_000_000 + i} {BOOK}" for i in range(4096)]
          + [f"1700000000000009999 {TRADE.format(a=1)}"])
    turns = 0
    seen_at_put: list[int] = []

    async def ticker():
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    async def put(events):
        seen_at_put.append(turns)

    task = asyncio.create_task(ticker())
    try:
        feed = ReplayFeed(path)
        await feed.run(put)
    finally:
        task.cancel()
    assert feed.stats.frames == 4097 and feed.stats.events == 1
    assert seen_at_put and seen_at_put[0] >= 4096 // 256 - 1  # the loop ran during the book stretch


async def test_paced_replay_puts_events_due_together_in_one_batch(tmp_path):
    path = tmp_path / "burst.gz"
    t0 = 1_700_000_000_000_000_000
    lines = [f"{t0} {TRADE.format(a=i)}" for i in range(600)]
    lines += [f"{t0 + 60_000_000} {TRADE.format(a=1000 + i)}" for i in range(50)]  # 60 ms later
    write(path, lines)
    puts: list[tuple[float, int]] = []
    now = [100.0]  # the feed's clock: it moves only when the feed sleeps (parsing takes no time)

    async def sleep(seconds: float) -> None:
        now[0] += seconds
        await asyncio.sleep(0)

    async def put(events):
        puts.append((now[0], len(events)))

    feed = ReplayFeed(path, speed=1.0, clock=lambda: now[0], sleep=sleep)
    async with asyncio.timeout(30):
        await feed.run(put)
    assert sum(n for _, n in puts) == 650
    assert len(puts) <= 4  # not one put per event
    assert puts[0][0] == 100.0  # the first burst at once
    # the second burst waits for its time: 60 ms of recorded time at speed 1
    assert puts[-1] == (pytest.approx(100.06), 50)
