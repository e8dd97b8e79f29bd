"""/start, /help, /lang, the menu, and the command list (setMyCommands) — through a real Bot."""
from __future__ import annotations

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.app import set_commands
from bot.callbacks import LangCB, MenuCB
from bot.handlers.start import ADMIN_COMMANDS, GROUP_ADMIN_COMMANDS, GROUP_READ_COMMANDS, USER_COMMANDS
from locales import translator
from storage import UserRepo
from tests.botapi import TOKEN
from tests.conftest import ADMIN, answers, buttons, texts


async def test_start_registers_user_in_telegram_language(harness):
    replies = await harness.say(11, "/start", lang="id-ID")
    (msg,) = [c for c in replies if c.method == "sendMessage"]
    assert "Selamat datang" in msg.params["text"]
    assert "/add BTC ETH SOL" in msg.params["text"]
    assert [d for _, d in buttons(msg)] == [MenuCB(action=a).pack() for a in
                                          ("list", "signals", "thr", "tiers", "mute", "lang", "help")]
    user = await UserRepo(harness.db).get(11)
    assert user is not None and user.language == "id" and user.active


async def test_unknown_language_falls_back_to_english(harness):
    text = await harness.text(12, "/start", lang="fr")
    assert "Welcome to <b>TELEGLAS</b>" in text
    assert (await UserRepo(harness.db).get(12)).language == "en"


async def test_start_escapes_the_users_name(harness, api):
    # the double names every user "Trader"; a hostile name is covered by Texts
    from bot.i18n import Texts

    t = Texts(translator(), "en")
    assert "&lt;b&gt;" in t("start-welcome", name="<b>x</b>")


async def test_start_reactivates_a_user_who_blocked_the_bot(harness):
    await harness.say(13, "/start")
    await UserRepo(harness.db).set_active(13, False)
    await harness.say(13, "/start")
    assert (await UserRepo(harness.db).get(13)).active


async def test_help_lists_every_command_with_an_example(harness):
    text = await harness.text(14, "/help")
    for name in USER_COMMANDS:
        assert f"/{name}" in text
    assert "<code>/add BTC eth SOLUSDT</code>" in text
    assert "/broadcast" not in text  # admin commands only for admins
    admin_text = await harness.text(ADMIN, "/help")
    for name in ADMIN_COMMANDS:
        assert f"/{name}" in admin_text


async def test_language_switch_by_command_and_button(harness):
    await harness.say(15, "/start")
    assert "Bahasa Indonesia" in await harness.text(15, "/lang id")
    assert "Daftar pantauan Anda kosong" in await harness.text(15, "/list")
    # the picker and a button press back to English (the message is edited in place)
    picker = await harness.text(15, "/lang")
    assert "Pilih bahasa" in picker
    replies = await harness.press(15, LangCB(lang="en").pack())
    assert "Language set to English" in texts(replies)[0]
    assert "Your watchlist is empty" in await harness.text(15, "/list")
    assert "Unknown language" in await harness.text(15, "/lang xx")


async def test_forged_language_button_is_refused(harness):
    await harness.say(16, "/start")
    replies = await harness.press(16, "l1:xx")
    assert answers(replies) == [("This button is no longer valid.", True)]
    assert (await UserRepo(harness.db).get(16)).language == "en"


async def test_menu_buttons_open_their_views(harness):
    await harness.say(17, "/start")
    for action, expected in (("list", "watchlist is empty"), ("thr", "Your thresholds"),
                             ("tiers", "Alert tiers"), ("mute", "Mute all alerts"),
                             ("help", "TELEGLAS commands"), ("lang", "Choose your language"),
                             ("signals", "watchlist is empty")):
        replies = await harness.press(17, MenuCB(action=action).pack())
        assert any(expected in t for t in texts(replies)), (action, texts(replies))
        assert [c.method for c in replies].count("answerCallbackQuery") == 1


async def test_set_my_commands_in_english_and_indonesian(api):
    async with Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base))) as bot:
        await set_commands(bot, translator())
    calls = api.calls_of("setMyCommands")
    scopes = [(c.params.get("scope", {}).get("type"), c.params.get("language_code")) for c in calls]
    assert scopes == [(s, lang) for lang in (None, "id") for s in
                      ("default", "all_private_chats", "all_group_chats", "all_chat_administrators")]
    for call in calls:
        names = [c["command"] for c in call.params["commands"]]
        kind = call.params["scope"]["type"]
        if kind in ("default", "all_private_chats"):
            assert names == list(USER_COMMANDS)
        elif kind == "all_group_chats":  # what every member may do
            assert names == list(GROUP_READ_COMMANDS) and "add" not in names
        else:  # group administrators also change settings and topics
            assert names == list(GROUP_ADMIN_COMMANDS) and "topic" in names and "allow" not in names
    assert calls[4].params["commands"][2]["description"].startswith("Pantau koin")


async def test_unknown_command_and_plain_text(harness):
    assert "Unknown command /frobnicate" in await harness.text(18, "/frobnicate now")
    assert "I only understand commands" in await harness.text(18, "hello there 🚀")
