"""/mute, /unmute (commands and buttons, including the alert's Mute button), /quiet, /tz."""
from __future__ import annotations

import time

from bot.callbacks import MuteCB
from bot.parsing import MUTE_CHOICES
from storage import UserRepo, WatchlistRepo
from tests.conftest import answers, buttons, texts


async def _mutes(h, uid):
    return {e.symbol: e.muted_until for e in await WatchlistRepo(h.db).list_for_user(uid)}


async def test_mute_symbol_for_a_duration_and_unmute(harness):
    await harness.say(41, "/add BTC ETH")
    text = await harness.text(41, "/mute btc 2h")
    assert "BTC muted for 2h" in text
    until = (await _mutes(harness, 41))["BTC"]
    assert abs(until - (time.time() + 7200)) < 10
    assert (await _mutes(harness, 41))["ETH"] == 0
    assert "BTC unmuted" in await harness.text(41, "/unmute BTC")
    assert (await _mutes(harness, 41))["BTC"] == 0


async def test_mute_all_and_unmute_everything(harness):
    await harness.say(42, "/add BTC")
    assert "All alerts muted for 1d" in await harness.text(42, "/mute all 1d")
    user = await UserRepo(harness.db).get(42)
    assert abs(user.muted_until - (time.time() + 86400)) < 10
    await harness.say(42, "/mute BTC 30m")
    assert "All alerts resumed" in await harness.text(42, "/unmute")
    assert (await UserRepo(harness.db).get(42)).muted_until == 0
    assert (await _mutes(harness, 42))["BTC"] == 0


async def test_mute_buttons(harness):
    await harness.say(43, "/add SOL")
    (msg,) = [c for c in await harness.say(43, "/mute SOL") if c.method == "sendMessage"]
    assert "Mute SOL for how long" in msg.params["text"]
    data = [d for _, d in buttons(msg)]
    assert data == [MuteCB(symbol="SOL", minutes=m).pack() for m in MUTE_CHOICES] + \
        [MuteCB(symbol="SOL", minutes=0).pack()]
    replies = await harness.press(43, MuteCB(symbol="SOL", minutes=240).pack())
    assert answers(replies) == [("Muted", False)]
    assert "SOL muted for 4h" in texts(replies)[0]
    assert abs((await _mutes(harness, 43))["SOL"] - (time.time() + 4 * 3600)) < 10
    replies = await harness.press(43, MuteCB(symbol="SOL", minutes=0).pack())
    assert (await _mutes(harness, 43))["SOL"] == 0


async def test_alert_mute_button_and_unwatched_symbol(harness):
    await harness.say(44, "/add BTC")
    replies = await harness.press(44, MuteCB(symbol="BTC", minutes=60).pack())
    assert "BTC muted for 1h" in texts(replies)[0]
    replies = await harness.press(44, MuteCB(symbol="DOGE", minutes=60).pack())
    assert "DOGE is not on your watchlist" in texts(replies)[0]


async def test_mute_bad_input_and_forged_buttons(harness):
    await harness.say(45, "/add BTC")
    assert "not a duration" in await harness.text(45, "/mute BTC 999d")
    assert "not a duration" in await harness.text(45, "/mute BTC 0m")
    assert "is not a symbol" in await harness.text(45, "/mute 🚀 2h")
    assert "Example" in await harness.text(45, "/mute a b c")
    for data in (MuteCB(symbol="BTC", minutes=10**7).pack(), MuteCB(symbol="BTC", minutes=-5).pack(),
                 "m1:BTC:abc", "m1:btc:60", "m1:BTC;DROP:60"):
        replies = await harness.press(45, data)
        assert answers(replies) == [("This button is no longer valid.", True)], data
    assert (await _mutes(harness, 45))["BTC"] == 0


async def test_quiet_hours_and_time_zone(harness):
    await harness.say(46, "/start")
    assert "No quiet hours" in await harness.text(46, "/quiet")
    assert "Quiet hours set: 23:00–07:00 (UTC)" in await harness.text(46, "/quiet 23:00-07:00")
    user = await UserRepo(harness.db).get(46)
    assert (user.quiet_start, user.quiet_end) == ("23:00", "07:00")
    assert "Time zone set to UTC+7 (now" in await harness.text(46, "/tz +7")
    assert "Time zone set to Asia/Jakarta, UTC+7 (now" in await harness.text(46, "/tz asia/jakarta")
    assert "23:00–07:00 (Asia/Jakarta, UTC+7)" in await harness.text(46, "/quiet")
    assert "not a time zone" in await harness.text(46, "/tz Mars/Olympus")
    assert "not a time zone" in await harness.text(46, "/tz +5:30")
    assert "not a time range" in await harness.text(46, "/quiet 25:00-07:00")
    assert "not a time range" in await harness.text(46, "/quiet 07:00-07:00")
    assert "Quiet hours removed" in await harness.text(46, "/quiet off")
    user = await UserRepo(harness.db).get(46)
    assert (user.quiet_start, user.tz) == (None, "Asia/Jakarta")


async def test_quiet_hours_urgent_choice_is_the_users_and_kept(harness):
    from bot.delivery.routing import Skip, decide
    from tests.test_delivery_support import make_signal

    await harness.say(47, "/start")
    users = UserRepo(harness.db)
    assert "urgent alerts still come through" in await harness.text(47, "/quiet")
    text = await harness.text(47, "/quiet 23:00-07:00 urgent off")
    assert "Quiet hours set: 23:00–07:00 (UTC). Urgent alerts wait too." in text
    user = await users.get(47)
    assert (user.quiet_start, user.quiet_end, user.quiet_urgent_pierces) == ("23:00", "07:00", False)
    # routing honours the stored choice: an URGENT alert at 23:30 is held
    urgent = make_signal("BTC")
    assert decide(urgent, user, 0, {}, now_s=0, sent_last_hour=0, minute_of_day=23 * 60 + 30) is Skip.QUIET
    # a new window keeps the choice; /quiet and /tiers show it
    assert "Urgent alerts wait too." in await harness.text(47, "/quiet 22:00-06:00")
    assert not (await users.get(47)).quiet_urgent_pierces
    assert "22:00–06:00 (UTC). Urgent alerts wait too" in await harness.text(47, "/quiet")
    assert "Quiet hours 22:00–06:00 (UTC). Urgent alerts wait too" in await harness.text(47, "/tiers")
    # the choice alone, in either language
    assert "Urgent alerts come through quiet hours" in await harness.text(47, "/quiet urgent on")
    user = await users.get(47)
    assert user.quiet_urgent_pierces and (user.quiet_start, user.quiet_end) == ("22:00", "06:00")
    assert decide(urgent, user, 0, {}, now_s=0, sent_last_hour=0, minute_of_day=23 * 60 + 30) is None
    await harness.say(47, "/lang id")
    assert "Alert urgent ikut ditahan" in await harness.text(47, "/quiet urgent off")
    assert "Alert urgent ikut ditahan" in await harness.text(47, "/quiet")
    await harness.say(47, "/lang en")
    assert not (await users.get(47)).quiet_urgent_pierces
    # removing the window keeps the choice for the next one
    await harness.text(47, "/quiet off")
    assert not (await users.get(47)).quiet_urgent_pierces
    assert "urgent alerts wait too" in await harness.text(47, "/quiet")
    assert "Urgent alerts still come through" in await harness.text(47, "/quiet 23-7 urgent")
    assert (await users.get(47)).quiet_urgent_pierces
    for bad in ("/quiet urgent maybe", "/quiet 23:00-07:00 urgent on off", "/quiet urgent 23:00-07:00"):
        assert "not a time range" in await harness.text(47, bad), bad


async def test_offset_zones_read_as_utc_plus_not_the_inverted_etc_name(harness):
    """/tz +7 stores Etc/GMT-7 (a valid IANA zone whose sign is inverted): every place that
    shows the user's zone says UTC+7, so nobody thinks the bot picked UTC-7."""
    await harness.say(48, "/add BTC")
    assert "Time zone set to UTC+7 (now" in await harness.text(48, "/tz +7")
    assert (await UserRepo(harness.db).get(48)).tz == "Etc/GMT-7"
    shown = [await harness.text(48, "/tz"), await harness.text(48, "/quiet 23:00-07:00"),
             await harness.text(48, "/quiet"), await harness.text(48, "/tiers"),
             await harness.text(48, "/mute BTC 2h"), await harness.text(48, "/list"),
             await harness.text(48, "/mute all 1h"), await harness.text(48, "/flow BTC")]
    for text in shown:
        assert "GMT" not in text and "+07" not in text, text
    assert "Your time zone is UTC+7" in shown[0]
    assert "(UTC+7)" in shown[1] and "(UTC+7)" in shown[2] and "(UTC+7)" in shown[3]
    assert shown[4].endswith("UTC+7).") and "muted until" in shown[5] and "UTC+7" in shown[5]
    assert "Data as of 2025-06-15 22:06:40 UTC+7" in shown[7]  # FakeEngine's snapshot time
    assert "Time zone set to UTC-3 (now" in await harness.text(48, "/tz UTC-3")
    assert "Time zone set to UTC (now" in await harness.text(48, "/tz +0")
    await harness.say(48, "/lang id")
    assert "UTC-5" in await harness.text(48, "/tz -5")
