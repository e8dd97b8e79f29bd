"""/flow: one chart photo with the snapshot text as its caption, timeframe and Refresh buttons
editing the media in place, Details for the full text, the alert's Flow button; text only
without data or without a chart."""
from __future__ import annotations

from dataclasses import replace

from bot.callbacks import FlowCB, FlowTextCB, FlowViewCB
from bot.charts import HEIGHT_PX, WIDTH_PX
from tests.conftest import BotHarness, FakeEngine, buttons, texts


def photos(calls):
    return [c for c in calls if c.method == "sendPhoto"]


async def test_flow_snapshot(harness):
    (msg,) = photos(await harness.say(51, "/flow btcusdt"))
    assert msg.params["photo"].png_size == (WIDTH_PX, HEIGHT_PX)
    text = msg.params["caption"]
    assert "BTC order flow · 5m" in text
    assert "Buy  $5.00M (62%)" in text and "Sell $3.00M (38%)" in text
    assert "█" in text and "░" in text
    assert "Net delta <b>+$2.00M</b>" in text and "CVD +$12.35M" in text
    assert "Large orders (≥ $25.0K): 35 buys · 15 sells" in text
    assert "Liquidations: longs $250.0K · shorts $50.0K" in text
    assert "binance +0.0100%" in text and "bybit +0.0120%" in text
    assert "$61,234.5" in text and "lower bounds" in text
    assert [d for _, d in buttons(msg)] == [FlowViewCB(symbol="BTC", window=w).pack()
                                           for w in ("1m", "5m", "15m", "1h", "5m")] + \
        [FlowTextCB(symbol="BTC", window="5m").pack()]
    assert harness.engine.calls[-1] == ("BTC", "5m")


async def test_timeframe_and_refresh_edit_the_media_in_place(harness):
    (msg,) = photos(await harness.say(52, "/flow ETH 1m"))
    mid = max(m for (chat, m) in harness.api.messages if chat == 52)
    replies = await harness.press(52, FlowViewCB(symbol="ETH", window="15m").pack())
    (edit,) = [c for c in replies if c.method == "editMessageMedia"]
    assert int(edit.params["message_id"]) == mid
    assert "ETH order flow · 15m" in edit.params["media"]["caption"]
    assert harness.api.photos[-1].png_size == (WIDTH_PX, HEIGHT_PX)
    assert not [c for c in replies if c.method in ("sendMessage", "sendPhoto")]
    assert harness.api.messages[(52, mid)]["caption"].startswith("📊 <b>ETH order flow · 15m")
    renders = harness.charts.renders
    # Refresh within the same engine second: the cached chart is shared, nothing re-rendered
    replies = await harness.press(52, FlowViewCB(symbol="ETH", window="15m").pack())
    assert [c.method for c in replies].count("answerCallbackQuery") == 1
    assert [c.method for c in replies].count("editMessageMedia") == 1
    assert harness.charts.renders == renders
    harness.engine.chart_version += 1  # a new second: a new render
    replies = await harness.press(52, FlowViewCB(symbol="ETH", window="15m").pack())
    assert [c.method for c in replies].count("editMessageMedia") == 1
    assert harness.charts.renders == renders + 1
    assert harness.engine.calls[-1] == ("ETH", "15m")


async def test_details_sends_the_full_text(harness):
    await harness.say(57, "/flow BTC 15m")
    replies = await harness.press(57, FlowTextCB(symbol="BTC", window="15m").pack())
    (sent,) = [c for c in replies if c.method == "sendMessage"]
    assert "BTC order flow · 15m" in sent.params["text"] and "Data as of" in sent.params["text"]


async def test_an_old_text_snapshot_is_edited_as_text(harness):
    old = {"message_id": 7, "date": 0, "chat": {"id": 58, "type": "private"}, "text": "BTC order flow"}
    replies = await harness.press(58, FlowViewCB(symbol="BTC", window="1h").pack(), message=old)
    (edit,) = [c for c in replies if c.method == "editMessageText"]
    assert "BTC order flow · 1h" in edit.params["text"]


async def test_alert_flow_button_sends_a_new_message(harness):
    replies = await harness.press(53, FlowCB(symbol="BTC", window="5m").pack(),
                                  message={"message_id": 1, "date": 0, "chat": {"id": 53, "type": "private"},
                                           "text": "alert"})
    assert [c.method for c in replies if c.method != "answerCallbackQuery"] == ["sendPhoto"]
    assert "BTC order flow · 5m" in photos(replies)[0].params["caption"]


class _NoCharts(FakeEngine):
    def flow_chart(self, symbol, window="5m"):
        return None


async def test_without_a_chart_the_snapshot_is_text(api, tmp_path):
    h = await BotHarness(api, tmp_path / "bot.db", engine=_NoCharts()).start()
    try:
        (msg,) = [c for c in await h.say(59, "/flow BTC") if c.method == "sendMessage"]
        assert "BTC order flow · 5m" in msg.params["text"] and len(buttons(msg)) == 5
    finally:
        await h.stop()


def test_caption_is_trimmed_at_a_line_to_1024():
    from bot.i18n import Texts
    from bot.handlers.flow import CAPTION_MAX, caption_of
    from locales import translator
    t = Texts(translator(), "en")
    text = "\n".join(f"<b>line {i}</b> " + "x" * 40 for i in range(60))
    cap = caption_of(t, text)
    assert len(cap) <= CAPTION_MAX and cap.endswith("Details for the full text)")
    assert all(line.startswith("<b>") and line.count("<b>") == line.count("</b>") for line in cap.split("\n")[:-1])
    assert caption_of(t, "short") == "short"


async def test_flow_bad_input(harness):
    assert "Example" in await harness.text(54, "/flow")
    assert "not a window" in await harness.text(54, "/flow BTC 7m")
    assert "is not a symbol" in await harness.text(54, "/flow 💥")
    for data in ("fv1:BTC:7m", "fv1:btc:5m", "f1:<b>:5m"):
        replies = await harness.press(54, data)
        assert not texts(replies), data


class _OneLargeBuy(FakeEngine):
    def flow(self, symbol, window="5m"):
        snap = super().flow(symbol, window)
        return None if snap is None else replace(snap, large_buys=1, large_sells=9)


async def test_large_order_counts_are_singular_for_one(api, tmp_path):
    h = await BotHarness(api, tmp_path / "bot.db", engine=_OneLargeBuy()).start()
    try:
        (msg,) = photos(await h.say(55, "/flow BTC"))
        assert "Large orders (≥ $25.0K): 1 buy · 9 sells" in msg.params["caption"]
        await h.say(55, "/lang id")
        (msg,) = photos(await h.say(55, "/flow BTC"))
        assert "Order besar (≥ $25.0K): 1 beli · 9 jual" in msg.params["caption"]
    finally:
        await h.stop()


async def test_no_data_means_no_timeframe_buttons(harness):
    """Other timeframes or a refresh of a coin without data would show the same nothing: the
    reply says what to do instead and carries no buttons."""
    (msg,) = [c for c in await harness.say(56, "/flow DOGE") if c.method == "sendMessage"]
    assert "No order-flow data for DOGE" in msg.params["text"] and "/add DOGE" in msg.params["text"]
    assert buttons(msg) == []
    await harness.say(56, "/add DOGE")
    (msg,) = [c for c in await harness.say(56, "/flow DOGE 1h") if c.method == "sendMessage"]
    assert "No trades for DOGE have arrived yet" in msg.params["text"] and buttons(msg) == []
    replies = await harness.press(56, FlowCB(symbol="DOGE", window="5m").pack())  # under an old alert
    (sent,) = [c for c in replies if c.method == "sendMessage"]
    assert "No trades for DOGE" in sent.params["text"] and buttons(sent) == []
    await harness.say(56, "/lang id")
    text = await harness.text(56, "/flow PEPE")
    assert "Tidak ada data order flow untuk PEPE" in text
    (msg,) = photos(await harness.say(56, "/flow BTC"))
    assert len(buttons(msg)) == 6  # with data: the timeframes, Refresh and Details


class _Pepe(FakeEngine):
    """PEPE at $0.00001234 a coin (1000PEPE: $0.01234), as Binance and Bybit quote it."""

    def __init__(self) -> None:
        super().__init__()
        self.symbols_with_data = {"BTC", "PEPE"}

    def flow(self, symbol, window="5m"):
        snap = super().flow(symbol, window)
        if snap is None or symbol != "PEPE":
            return snap
        return replace(snap, last_price=0.00001234, vwap=0.00001230)


async def test_a_coin_quoted_per_1000_is_shown_per_1000_as_its_alerts_are(api, tmp_path, monkeypatch):
    from engine.symbols import note_quoted

    monkeypatch.setattr("engine.symbols._QUOTED", {})  # what the feeds learnt, for this test only
    for venue in ("binance", "bybit"):
        note_quoted(venue, "PEPE", 1000)
    h = await BotHarness(api, tmp_path / "pepe.db", engine=_Pepe()).start()
    drawn: list[tuple] = []
    render = h.charts.render

    async def noted_render(key, fn, *args, **kwargs):
        drawn.append((kwargs["title"], kwargs["quote_mult"]))
        return await render(key, fn, *args, **kwargs)
    monkeypatch.setattr(h.charts, "render", noted_render)
    try:
        (msg,) = photos(await h.say(60, "/flow PEPE"))
        caption = msg.params["caption"]
        assert "PEPE order flow · 5m" in caption
        assert "Last $0.01234 · VWAP $0.0123 per 1000PEPE (binance, bybit)" in caption
        assert drawn == [("1000PEPE · 5m", 1000.0)]
        # the Details text says the same; a coin quoted per coin is unchanged
        replies = await h.press(60, FlowTextCB(symbol="PEPE", window="5m").pack())
        (sent,) = [c for c in replies if c.method == "sendMessage"]
        assert "per 1000PEPE (binance, bybit)" in sent.params["text"]
        (msg,) = photos(await h.say(60, "/flow BTC"))
        assert "Last $61,234.5 · VWAP $61,000.5\n" in msg.params["caption"]
        assert drawn[-1] == ("BTC · 5m", 1.0)
        # in Indonesian too
        (msg,) = photos(await h.say(61, "/flow PEPE", lang="id"))
        assert "Terakhir $0.01234 · VWAP $0.0123 per 1000PEPE (binance, bybit)" in msg.params["caption"]
    finally:
        await h.stop()
