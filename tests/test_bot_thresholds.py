"""/thresholds: view, direct setting (5M, 500k, 2.5m, 65%), ranges, −/+ and preset buttons,
reset, the alert's Thresholds button, forged callbacks; the detector floor follows."""
from __future__ import annotations

import pytest

from bot.callbacks import ThrCB
from storage import ThresholdRepo
from tests.conftest import ADMIN, answers, buttons, texts


async def _over(h, uid):
    return await ThresholdRepo(h.db).get_all(uid)


async def test_global_view_marks_defaults_and_has_buttons(harness):
    (msg,) = [c for c in await harness.say(61, "/thresholds") if c.method == "sendMessage"]
    text = msg.params["text"]
    assert "all coins" in text
    # "all coins" shows what a default means per coin class, not BTC/ETH's value as everyone's
    assert ("Cascade size: <b>$2.00M</b> (default for BTC/ETH; smaller coins lower: $500.0K large caps, "
            "$100.0K others)") in text
    assert ("Whale order: <b>$25.0K</b> (default for BTC/ETH; smaller coins lower: $15.0K large caps, "
            "$10.0K others)") in text
    assert "Tap − or + to step a value down or up, or the middle button to pick a preset." in text
    assert "Dominance: <b>65%</b> (default)" in text
    assert "Funding extreme: <b>0.05%</b> (default)" in text
    # the threshold contract, stated where the thresholds are set
    assert "an event at or above your threshold for its kind reaches you" in text
    assert "The minimum score filters only divergences and volume spikes" in text
    data = [d for _, d in buttons(msg)]
    assert ThrCB(symbol="*", op="dec", key="cascade").pack() in data
    assert ThrCB(symbol="*", op="inc", key="funding").pack() in data
    assert data[-1] == ThrCB(symbol="*", op="reset").pack()


@pytest.mark.parametrize("command, key, value, shown", [
    ("/thresholds BTC cascade 5M", "cascade", 5e6, "$5.00M"),
    ("/thresholds BTC cascade 500k", "cascade", 5e5, "$500.0K"),
    ("/thresholds btcusdt cascade 2.5m", "cascade", 2.5e6, "$2.50M"),
    ("/thresholds BTC dominance 65%", "dominance", 0.65, "65%"),
    ("/thresholds BTC whale $50,000", "whale", 5e4, "$50.0K"),
    ("/thresholds BTC score 80", "score", 80, "80"),
    ("/thresholds BTC funding 0.1%", "funding", 0.001, "0.1%"),
])
async def test_direct_values(harness, command, key, value, shown):
    text = await harness.text(62, command)
    assert f"set to <b>{shown}</b> for BTC" in text
    assert (await _over(harness, 62))[("BTC", key)] == pytest.approx(value)


async def test_symbol_view_marks_custom_values_and_engine_floor_follows(harness):
    await harness.say(63, "/add BTC SOL")
    await harness.say(63, "/thresholds BTC cascade 500k")
    assert harness.engine.thresholds_for("BTC").cascade_usd == 500_000
    text = await harness.text(63, "/thresholds BTC")
    assert "Cascade size: <b>$500.0K</b> (custom for this coin; default $2.00M)" in text
    # a global value lowers the floor of every watched symbol without its own value
    await harness.say(63, "/thresholds dominance 55%")
    assert harness.engine.thresholds_for("SOL").dominance == pytest.approx(0.55)
    assert "(your value for all coins; default 65%)" in await harness.text(63, "/thresholds SOL")
    await harness.say(63, "/thresholds cascade 1M")
    text = await harness.text(63, "/thresholds")
    assert ("Cascade size: <b>$1.00M</b> (your value for all coins; default $2.00M for BTC/ETH, "
            "$500.0K large caps, $100.0K others)") in text
    assert "Dominance: <b>55%</b> (your value for all coins; default 65%)" in text
    # one coin's view names that coin's own default
    assert "Cascade size: <b>$1.00M</b> (your value for all coins; default $500.0K)" in await harness.text(
        63, "/thresholds DOGE")
    await harness.say(63, "/lang id")
    text = await harness.text(63, "/thresholds")
    assert "Order whale: <b>$25.0K</b> (bawaan untuk BTC/ETH; koin lebih kecil lebih rendah: $15.0K" in text
    assert "Ketuk − atau + untuk menurunkan atau menaikkan nilai" in text
    await harness.say(63, "/lang en")
    # raising a value raises the floor again: to the default when nobody needs less (the floor
    # never goes above the default: the default tier and the signal history assume it)
    await harness.say(63, "/thresholds BTC cascade 10M")
    assert harness.engine.thresholds_for("BTC").cascade_usd == 2_000_000


async def test_out_of_range_and_bad_values_are_refused(harness):
    text = await harness.text(64, "/thresholds BTC cascade 5")
    assert "Cascade size must be between $10.0K and $1.00B" in text
    assert "Dominance must be between 50% and 100%" in await harness.text(64, "/thresholds dominance 20%")
    assert "Minimum score must be between 1 and 100" in await harness.text(64, "/thresholds score 1000")
    assert "not a valid value" in await harness.text(64, "/thresholds BTC cascade lots")
    assert "not a valid value" in await harness.text(64, "/thresholds cascade 65%")
    assert "not a threshold" in await harness.text(64, "/thresholds BTC speed 5")
    assert "neither a coin nor a threshold" in await harness.text(64, "/thresholds 💥")
    assert "Examples" in await harness.text(64, "/thresholds BTC cascade")
    assert await _over(harness, 64) == {}


async def test_reset(harness):
    await harness.say(65, "/thresholds BTC cascade 5M")
    await harness.say(65, "/thresholds ETH whale 50k")
    await harness.say(65, "/thresholds score 80")
    assert "back to default for BTC" in await harness.text(65, "/thresholds BTC cascade reset")
    assert set(await _over(harness, 65)) == {("ETH", "whale"), ("*", "score")}
    await harness.say(65, "/thresholds ETH reset")
    assert set(await _over(harness, 65)) == {("*", "score")}
    assert "reset to defaults" in await harness.text(65, "/thresholds reset")
    assert await _over(harness, 65) == {}


async def test_minus_plus_buttons_step_and_edit(harness):
    await harness.say(66, "/add BTC")
    await harness.say(66, "/thresholds BTC")
    replies = await harness.press(66, ThrCB(symbol="BTC", op="dec", key="cascade").pack())
    assert answers(replies) == [("Cascade size: $1.00M", False)]
    (edit,) = [c for c in replies if c.method == "editMessageText"]
    assert "Cascade size: <b>$1.00M</b> (custom for this coin" in edit.params["text"]
    assert (await _over(harness, 66))[("BTC", "cascade")] == 1e6
    assert harness.engine.thresholds_for("BTC").cascade_usd == 1e6
    await harness.press(66, ThrCB(symbol="BTC", op="inc", key="dominance").pack())
    assert (await _over(harness, 66))[("BTC", "dominance")] == pytest.approx(0.70)
    for _ in range(3):
        await harness.press(66, ThrCB(symbol="BTC", op="inc", key="score").pack())
    assert (await _over(harness, 66))[("BTC", "score")] == 65  # default 50, three steps of +5
    # at the top of the range the button says so and nothing changes
    await harness.say(66, "/thresholds BTC score 100")
    replies = await harness.press(66, ThrCB(symbol="BTC", op="inc", key="score").pack())
    assert answers(replies) == [("Already at the limit.", False)]


async def test_presets_and_reset_buttons(harness):
    await harness.say(67, "/thresholds")
    replies = await harness.press(67, ThrCB(symbol="*", op="key", key="whale").pack())
    (edit,) = [c for c in replies if c.method == "editMessageText"]
    assert "allowed $1.0K – $100.00M" in edit.params["text"]
    preset = ThrCB(symbol="*", op="preset", key="whale", value="50000").pack()
    assert preset in [d for _, d in buttons(edit)]
    await harness.press(67, preset)
    assert (await _over(harness, 67))[("*", "whale")] == 50_000
    await harness.press(67, ThrCB(symbol="*", op="reset", key="whale").pack())
    assert await _over(harness, 67) == {}
    await harness.press(67, ThrCB(symbol="*", op="preset", key="score", value="60").pack())
    await harness.press(67, ThrCB(symbol="*", op="reset").pack())
    assert await _over(harness, 67) == {}


async def test_alert_thresholds_button_opens_a_new_message(harness):
    replies = await harness.press(68, ThrCB(symbol="ETH", op="open").pack(),
                                  message={"message_id": 2, "date": 0, "chat": {"id": 68, "type": "private"},
                                           "text": "alert"})
    assert [c.method for c in replies if c.method != "answerCallbackQuery"] == ["sendMessage"]
    assert "Your thresholds — ETH" in texts(replies)[0]


async def test_forged_threshold_callbacks_change_nothing(harness):
    await harness.say(69, "/start")
    forged = [
        ThrCB(symbol="BTC", op="preset", key="cascade", value="1").pack(),      # below range
        ThrCB(symbol="BTC", op="preset", key="cascade", value="nan").pack(),
        ThrCB(symbol="BTC", op="preset", key="cascade", value="inf").pack(),
        ThrCB(symbol="BTC", op="preset", key="admin", value="1").pack(),
        ThrCB(symbol="BTC", op="drop", key="cascade").pack(),
        ThrCB(symbol="btc", op="inc", key="cascade").pack(),
        "t1:BTC:preset:cascade",
    ]
    for data in forged:
        replies = await harness.press(69, data)
        assert len(answers(replies)) == 1 and answers(replies)[0][1], data
        assert not [c for c in replies if c.method == "editMessageText"], data
    assert await _over(harness, 69) == {}


async def test_floors_follow_subscribers_who_leave_or_are_denied(harness):
    """Through the bot: /remove and an admin's /deny take a subscriber's values out of the
    floor (back to the next subscriber's value, then the default); /start brings them back."""
    await harness.say(66, "/add ETH")
    await harness.say(67, "/add ETH")
    await harness.say(66, "/thresholds ETH cascade 200k")
    await harness.say(67, "/thresholds ETH cascade 700k")
    assert harness.engine.thresholds_for("ETH").cascade_usd == 200_000
    await harness.say(ADMIN, "/deny 66")
    assert harness.engine.thresholds_for("ETH").cascade_usd == 700_000
    await harness.say(67, "/remove ETH")
    assert harness.engine.thresholds_for("ETH").cascade_usd == 2_000_000
    await harness.say(ADMIN, "/allow 66")
    await harness.say(66, "/start")  # active again: their list and values count again
    assert harness.engine.thresholds_for("ETH").cascade_usd == 200_000
