"""The simulator and replay feeds keep their own FeedStats, as the live feeds do (/health reads them)."""
import asyncio
import time

from engine.feeds.live import build_live_feeds
from engine.feeds.registry import SubscriptionRegistry
from engine.feeds.replay import ReplayFeed
from engine.simulator import MarketSimulator, SimulatorFeed
from tests.paths import real_file
from config.settings import Settings


async def test_simulator_feed_counts_what_it_delivers():
    sim = MarketSimulator(seed=5, duration_s=60)
    feed = SimulatorFeed(sim)
    assert feed.stats.name == "simulator" and feed.stats.state == "idle"
    got: list = []

    async def put(events):
        assert feed.stats.state == "live" and feed.stats.connected
        got.extend(events)

    before = time.time_ns()
    await feed.run(put)
    st = feed.stats
    assert st.events == st.frames == len(got) == sum(1 for _ in sim.events())
    assert st.state == "stopped" and not st.connected
    assert st.last_msg_ns >= before and st.last_event_ts == got[-1].ts
    assert 20 <= st.lag_ms <= 50  # the simulated 30-40 ms exchange-to-receive latency
    assert st.snapshot()["events"] == len(got)


async def test_paced_simulator_reports_live_progress_and_release_lag():
    feed = SimulatorFeed(MarketSimulator(seed=5, duration_s=3), speed=10.0)
    task = asyncio.create_task(feed.run(_discard))
    try:
        await asyncio.sleep(0.15)
        st = feed.stats
        assert st.state == "live" and st.events > 0 and st.age_s() < 1.0
        assert 0 <= st.lag_ms < 100  # release lateness against the scheduled time, not sim-vs-wall time
        async with asyncio.timeout(3):
            await task
    finally:
        task.cancel()
    assert feed.stats.state == "stopped"


async def test_built_simulator_and_replay_feeds_report_through_their_own_stats(tmp_path):
    settings = Settings(_env_file=None, MARKET_SOURCES=f"simulator,replay:{real_file('btcusdt_20230405.dat.gz')}")
    sim, replay = build_live_feeds(settings, SubscriptionRegistry(["BTC"]))
    assert isinstance(sim, SimulatorFeed) and isinstance(replay, ReplayFeed)
    replay.speed = 0.0
    assert replay.stats.state == "idle"
    await replay.run(_discard)
    assert replay.stats.state == "stopped" and replay.stats.events > 0 and replay.stats.lag_ms != 0


async def _discard(events):
    return None


def test_the_live_simulator_runs_on_the_wall_clock_with_an_episode_every_ten_minutes():
    from engine.feeds.live import live_simulator

    now_ms = 1_795_262_412_345
    sim = live_simulator(now_ms)
    assert now_ms - 100 < sim.start_ts <= now_ms  # alert times and "valid until" read as today
    starts = [(e.start_ts - sim.start_ts) / 1000 for e in sim.episodes]
    assert starts[0] == 240 and all(b - a == 600 for a, b in zip(starts, starts[1:]))
    assert {e.kind for e in sim.episodes[:6]} == {"STOP_HUNT", "ACCUMULATION", "DISTRIBUTION",
                                                  "FUNDING_EXTREME", "DIVERGENCE"}
    assert sim.episodes[-1].end_ts <= sim.start_ts + 24 * 3600 * 1000
