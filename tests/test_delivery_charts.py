"""A stop-hunt alert carries its chart as a reply: the text goes first and never waits for the
chart (an artificially slow renderer on the FakeClock leaves the URGENT text's latency exactly as
without charts), the chart follows as a reply to that message, silently."""
from __future__ import annotations

import pytest

from bot.charts import synthetic_series
from engine.signals import Kind, Levels, Tier
from storage import Database
from tests.test_delivery_support import add_users, clocked, make_signal, run_clock

RENDER_S = 5.0  # far beyond the 300 ms an URGENT alert may wait
# the smallest thing the double accepts as a PNG: signature + IHDR (1080 x 1080)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + (1080).to_bytes(4, "big") * 2 + b"\x08\x02\x00\x00\x00"


@pytest.fixture
async def db(tmp_path):
    database = await Database.open(tmp_path / "t.db")
    yield database
    await database.close()


class HuntEngine:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def hunt_chart(self, symbol: str, minutes: int = 5):
        self.asked.append(symbol)
        return synthetic_series(symbol, "hunt", bucket_s=5)


def hunt_signal(sid: str):
    sig = make_signal("BTC", Tier.URGENT, kind=Kind.STOP_HUNT, sid=sid)
    s = synthetic_series()
    sig.levels = Levels(zone_low=min(s.low), zone_high=min(s.low) * 1.002, entry_low=s.close[-1] * 0.999,
                        entry_high=s.close[-1] * 1.001, stop=min(s.low) * 0.997,
                        targets=(s.close[-1] * 1.01,), expires_ts=0)
    return sig


async def _deliver(db: Database, *, charts: bool, sid: str):
    """(text latency on the fake clock, the sendMessage call, the sendPhoto calls, renders)."""
    async with clocked(db, start=False) as (clock, api, d):
        renders: list[tuple] = []
        if charts:
            async def slow_render(key, fn, *args, **kwargs):
                renders.append(key)
                await clock.sleep(RENDER_S)
                return PNG
            d.enable_charts(HuntEngine(), slow_render)
        await d.start()
        t0 = clock.now()
        d.sink.emit(hunt_signal(sid))
        assert await run_clock(clock, d, api, lambda: bool(api.calls_of("sendMessage")))
        (text,) = api.calls_of("sendMessage")
        await run_clock(clock, d, api, lambda: bool(api.calls_of("sendPhoto")), until=t0 + 30)
        return text.at - t0, text, api.calls_of("sendPhoto"), renders, api, d


async def test_urgent_text_does_not_wait_for_a_slow_chart_which_follows_as_a_reply(db):
    await add_users(db, [1], ("BTC",))
    plain_latency, _t, photos, _r, _a, _d = await _deliver(db, charts=False, sid="hunt-plain")
    assert photos == []
    latency, text, photos, renders, api, d = await _deliver(db, charts=True, sid="hunt-chart")
    assert latency == plain_latency and latency < 0.3  # unchanged by a 5 s render
    assert "BTC" in text.params["text"]  # the alert itself is text, as always
    (photo,) = photos
    assert photo.at - text.at >= RENDER_S
    mid = max(m for (chat, m) in api.messages if chat == 1 and "text" in api.messages[(chat, m)])
    assert photo.params["reply_parameters"]["message_id"] == mid
    assert photo.params["photo"].png_size == (1080, 1080)
    assert str(photo.params.get("disable_notification")).lower() == "true"
    assert renders == [("hunt-alert", "hunt-chart", "en", "UTC")] and d.charts.sent == 1


async def test_other_kinds_and_edits_get_no_chart(db):
    await add_users(db, [1], ("BTC",))
    async with clocked(db, start=False) as (clock, api, d):
        engine = HuntEngine()

        async def render(key, fn, *args, **kwargs):
            return PNG
        d.enable_charts(engine, render)
        await d.start()
        d.sink.emit(make_signal("BTC", Tier.URGENT))  # a cascade
        assert await run_clock(clock, d, api, lambda: bool(api.calls_of("sendMessage")))
        await run_clock(clock, d, api, until=clock.now() + 10)
        assert api.calls_of("sendPhoto") == [] and engine.asked == []


async def test_with_the_real_renderer_the_reply_is_the_rendered_chart(db):
    from bot.charts import ChartRenderer, png_size

    await add_users(db, [1], ("BTC",), language="id")
    renderer = ChartRenderer()
    try:
        async with clocked(db, start=False) as (clock, api, d):
            d.enable_charts(HuntEngine(), renderer.render)
            await d.start()
            d.sink.emit(hunt_signal("hunt-real"))
            assert await run_clock(clock, d, api, lambda: d.charts.sent == 1, real_timeout=20)
            (photo,) = api.calls_of("sendPhoto")
        assert png_size(photo.params["photo"].data) == (1080, 1080) and renderer.renders == 1
    finally:
        renderer.close()
