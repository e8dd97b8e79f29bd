"""Toasts (answerCallbackQuery) and inline button labels are plain text for Telegram: they
come from ``Texts.plain`` and show '&' as '&', never '&amp;'; messages stay escaped HTML."""
from __future__ import annotations

import shutil

from bot.callbacks import FlowViewCB, ThrCB
from bot.i18n import Html, Texts
from bot.keyboards.alerts import alert_keyboard
from bot.keyboards.menus import confirm_remove, watchlist_keyboard
from locales import ROOT, Translator, translator
from tests.conftest import BotHarness, answers, buttons, texts


def test_plain_variant_unescapes_values_and_templates():
    t = Texts(translator(), "en")
    assert t("thr-toast", what="P&L <net>", value="1 & 2") == "P&amp;L &lt;net&gt;: 1 &amp; 2"
    assert t.plain("thr-toast", what="P&L <net>", value="1 & 2") == "P&L <net>: 1 & 2"
    # a nested (already safe) part and the template's own markup come out as plain text too
    assert t.plain("thr-toast", what=Html("<b>Fish &amp; chips</b>"), value="x") == "Fish & chips: x"
    assert t.plain("mute-toast-on") == "Muted"


def test_button_labels_are_plain_text():
    t = Texts(translator(), "en")
    labels = [b.text for row in watchlist_keyboard(t, ["R&D"]).inline_keyboard for b in row]
    assert labels == ["✖ R&D"]
    labels = [b.text for row in confirm_remove(t, "R&D").inline_keyboard for b in row]
    assert labels[0] == "Yes, remove R&D"
    labels = [b.text for row in alert_keyboard(translator(), "en", ["R&D", "BTC"]).inline_keyboard
              for b in row]
    assert "📊 R&D flow" in labels and not any("&amp;" in label for label in labels)


def _translator_with_ampersands(tmp_path) -> Translator:
    """The real texts, with '&amp;' (valid Telegram HTML) in a few templates."""
    shutil.copytree(ROOT / "en", tmp_path / "en")
    shutil.copytree(ROOT / "id", tmp_path / "id")
    ftl = tmp_path / "en" / "bot.ftl"
    text = ftl.read_text(encoding="utf-8")
    for old, new in (("flow-refreshed = Updated", "flow-refreshed = Updated &amp; fresh"),
                     ("btn-refresh = 🔄 Refresh", "btn-refresh = 🔄 Refresh &amp; redraw"),
                     ("    [cascade] Cascade size", "    [cascade] Cascade &amp; size")):
        assert old in text, old
        text = text.replace(old, new)
    ftl.write_text(text, encoding="utf-8")
    return Translator(tmp_path)


async def test_toasts_and_labels_through_the_bot(api, tmp_path):
    h = await BotHarness(api, tmp_path / "p.db", tr=_translator_with_ampersands(tmp_path / "loc")).start()
    try:
        await h.say(55, "/add BTC")
        (msg,) = [c for c in await h.say(55, "/flow BTC") if c.method in ("sendMessage", "sendPhoto")]
        assert ("🔄 Refresh & redraw", FlowViewCB(symbol="BTC", window="5m").pack()) in buttons(msg)
        replies = await h.press(55, FlowViewCB(symbol="BTC", window="5m").pack())
        assert answers(replies) == [("Updated & fresh", False)]
        replies = await h.press(55, ThrCB(symbol="BTC", op="inc", key="cascade").pack())
        (toast, _alert), = answers(replies)
        assert toast.startswith("Cascade & size: ") and "&amp;" not in toast
        (view,) = texts(replies)
        assert "Cascade &amp; size" in view  # the message itself stays valid HTML
    finally:
        await h.stop()


def test_flow_and_alerts_share_one_set_of_formatting_helpers():
    from bot.handlers.flow import BAR, FUNDING_DIGITS, render_flow
    from bot.render import buy_sell_shares, fmt_rates_by_venue
    from tests.conftest import FakeEngine

    assert fmt_rates_by_venue({"bybit": 0.00012, "binance": -0.0001}) == "binance -0.010% · bybit +0.012%"
    assert fmt_rates_by_venue({"okx": 0.0001}, 4) == "okx +0.0100%"
    assert buy_sell_shares(0.75, 4) == {"buy_share": "75%", "buy_bar": "███░", "sell_share": "25%",
                                        "sell_bar": "█░░░"}
    snap = FakeEngine().flow("BTC", "5m")
    text = render_flow(Texts(translator(), "en"), snap, None)
    shares = buy_sell_shares(snap.buy_share, BAR)
    assert f"({shares['buy_share']}) <code>{shares['buy_bar']}</code>" in text
    assert f"({shares['sell_share']}) <code>{shares['sell_bar']}</code>" in text
    assert fmt_rates_by_venue(snap.funding_8h, FUNDING_DIGITS) in text
