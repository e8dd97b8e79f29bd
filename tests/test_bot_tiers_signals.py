"""/tiers toggles and /signals."""
from __future__ import annotations

from bot.callbacks import TierCB
from storage import SignalRepo, UserRepo
from tests.conftest import answers, buttons, texts


async def test_tier_toggles(harness):
    (msg,) = [c for c in await harness.say(91, "/tiers") if c.method == "sendMessage"]
    assert "INFO: on, silent" in msg.params["text"] and "URGENT: on, with sound" in msg.params["text"]
    assert (("✅ URGENT", TierCB(tier="URGENT", op="on").pack())) in buttons(msg)
    replies = await harness.press(91, TierCB(tier="INFO", op="on").pack())
    assert "INFO: off" in texts(replies)[0]
    await harness.press(91, TierCB(tier="WATCH", op="silent").pack())
    user = await UserRepo(harness.db).get(91)
    assert user.tiers == ("URGENT", "WATCH") and user.silent_tiers == ("WATCH", "INFO")
    for tier in ("URGENT", "WATCH"):
        await harness.press(91, TierCB(tier=tier, op="on").pack())
    assert "receive no alerts" in await harness.text(91, "/tiers")
    replies = await harness.press(91, "tr1:ADMIN:on")
    assert answers(replies)[0][1]
    assert (await UserRepo(harness.db).get(91)).tiers == ()


async def test_signals_for_the_watchlist(harness):
    assert "watchlist is empty" in await harness.text(92, "/signals")
    await harness.say(92, "/add BTC")
    assert "No signals yet for BTC" in await harness.text(92, "/signals")
    repo = SignalRepo(harness.db)
    await repo.insert("s1", "LIQUIDATION_CASCADE", "BTC", "LONG", "URGENT", 82, 1_750_000_000_000,
                      None, None, b"{}")
    await repo.insert("s2", "STOP_HUNT", "ETH", "SHORT", "WATCH", 75, 1_750_000_100_000, None, None, b"{}")
    text = await harness.text(92, "/signals")
    assert "LIQUIDATION CASCADE" in text and "<b>BTC</b> LONG" in text and "score 82" in text
    assert "ETH" not in text
    await harness.say(92, "/lang id")
    assert "KASKADE LIKUIDASI" in await harness.text(92, "/signals")


async def test_outcome_replies_switch_in_tiers(harness):
    (msg,) = [c for c in await harness.say(91, "/tiers") if c.method == "sendMessage"]
    assert "Stop-hunt results: on" in msg.params["text"]
    toggle = TierCB(tier="-", op="outcomes").pack()
    assert ("✅ Stop-hunt results", toggle) in buttons(msg)
    replies = await harness.press(91, toggle)
    assert "Stop-hunt results: off" in texts(replies)[0]
    assert (await UserRepo(harness.db).get(91)).outcome_replies is False
    await harness.press(91, toggle)
    user = await UserRepo(harness.db).get(91)
    assert user.outcome_replies is True and user.tiers == ("URGENT", "WATCH", "INFO")  # tiers untouched
