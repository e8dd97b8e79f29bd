"""/flow: snapshot text, timeframe and Refresh buttons editing in place, the alert's Flow button."""
from __future__ import annotations

from dataclasses import replace

from bot.callbacks import FlowCB, FlowViewCB
from tests.conftest import BotHarness, FakeEngine, buttons, texts


async def test_flow_snapshot(harness):
    (msg,) = [c for c in await harness.say(51, "/flow btcusdt") if c.method == "sendMessage"]
    text = msg.params["text"]
    assert "BTC order flow · 5m" in text
    assert "Buy  $5.00M (62%)" in text and "Sell $3.00M (38%)" in text
    assert "█" in text and "░" in text
    assert "Net delta <b>+$2.00M</b>" in text and "CVD +$12.35M" in text
    assert "Large orders (≥ $25.0K): 35 buys · 15 sells" in text
    assert "Liquidations: longs $250.0K · shorts $50.0K" in text
    assert "binance +0.0100%" in text and "bybit +0.0120%" in text
    assert "$61,234.5" in text and "lower bounds" in text
    assert [d for _, d in buttons(msg)] == [FlowViewCB(symbol="BTC", window=w).pack()
                                           for w in ("1m", "5m", "15m", "1h", "5m")]
    assert harness.engine.calls[-1] == ("BTC", "5m")


async def test_timeframe_and_refresh_edit_in_place(harness):
    (msg,) = [c for c in await harness.say(52, "/flow ETH 1m") if c.method == "sendMessage"]
    mid = None
    for (chat, message_id), stored in harness.api.messages.items():
        if chat == 52:
            mid = message_id
    replies = await harness.press(52, FlowViewCB(symbol="ETH", window="15m").pack())
    (edit,) = [c for c in replies if c.method == "editMessageText"]
    assert int(edit.params["message_id"]) == mid
    assert "ETH order flow · 15m" in edit.params["text"]
    assert not [c for c in replies if c.method == "sendMessage"]
    replies = await harness.press(52, FlowViewCB(symbol="ETH", window="15m").pack())
    assert [c.method for c in replies].count("answerCallbackQuery") == 1
    assert harness.engine.calls[-1] == ("ETH", "15m")


async def test_alert_flow_button_sends_a_new_message(harness):
    replies = await harness.press(53, FlowCB(symbol="BTC", window="5m").pack(),
                                  message={"message_id": 1, "date": 0, "chat": {"id": 53, "type": "private"},
                                           "text": "alert"})
    assert [c.method for c in replies if c.method != "answerCallbackQuery"] == ["sendMessage"]
    assert "BTC order flow · 5m" in texts(replies)[0]


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
        assert "Large orders (≥ $25.0K): 1 buy · 9 sells" in await h.text(55, "/flow BTC")
        await h.say(55, "/lang id")
        assert "Order besar (≥ $25.0K): 1 beli · 9 jual" in await h.text(55, "/flow BTC")
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
    (msg,) = [c for c in await harness.say(56, "/flow BTC") if c.method == "sendMessage"]
    assert len(buttons(msg)) == 5  # with data: the timeframes and Refresh
