"""Every language has the same .ftl files, the same keys and, per key, the same placeholders."""
from __future__ import annotations

import re

import pytest

from locales import ROOT, Translator

LANGS = ("en", "id")
_VARIANT_KEY = re.compile(r"^\s*\*?\[([^\]]+)\]", re.M)


@pytest.fixture(scope="module")
def tr() -> Translator:
    return Translator()


def test_same_files_in_every_language():
    files = {lang: sorted(p.name for p in (ROOT / lang).glob("*.ftl")) for lang in LANGS}
    assert files["en"], "no English .ftl files found"
    assert files["en"] == files["id"]


def test_same_keys(tr):
    en, idn = tr.keys("en"), tr.keys("id")
    assert en, "no English keys loaded"
    assert not en - idn, f"missing in id: {sorted(en - idn)}"
    assert not idn - en, f"missing in en: {sorted(idn - en)}"


def test_same_placeholders(tr):
    differing = {key: (tr.placeholders("en", key), tr.placeholders("id", key))
                 for key in tr.keys("en") if tr.placeholders("en", key) != tr.placeholders("id", key)}
    assert not differing, differing


# CLDR plural categories: a language selects only those its own plural rules produce
# (English one/other; Indonesian has no plural inflection, so no selector at all)
PLURAL_CATEGORIES = frozenset({"zero", "one", "two", "few", "many", "other"})


def test_same_selector_variants(tr):
    # a selector branch missing in one language silently falls back to its default; plural
    # categories are per language by nature and are compared by test_plural_selectors instead
    for key in tr.keys("en"):
        en = set(_VARIANT_KEY.findall(tr._sources["en"][key])) - PLURAL_CATEGORIES
        idn = set(_VARIANT_KEY.findall(tr._sources["id"][key])) - PLURAL_CATEGORIES
        assert en == idn, (key, en, idn)


def test_plural_selectors(tr):
    """A count selects the right English form, and the same count reads in Indonesian."""
    from bot.i18n import Texts

    en, idn = Texts(tr, "en"), Texts(tr, "id")
    one = en("flow-large", threshold="$25.0K", buys=1, sells=9)
    assert one.endswith(": 1 buy · 9 sells"), one
    assert en("flow-large", threshold="$25.0K", buys=3, sells=1).endswith(": 3 buys · 1 sell")
    assert idn("flow-large", threshold="$25.0K", buys=1, sells=9).endswith(": 1 beli · 9 jual")
    assert en("signals-title", count=1) == "<b>The latest signal</b>"
    assert en("signals-title", count=3) == "<b>Latest 3 signals</b>"
    assert en("admin-broadcast-started", count=1).startswith("Sending to 1 active user… (")
    assert en("admin-broadcast-started", count=1234).startswith("Sending to 1,234 active users… (")
    assert en("admin-broadcast-started", count=True).startswith("Sending to True active users… (")  # not a count
    assert en("admin-broadcast-started-groups", count=1).startswith("Sending to 1 active subscriber… (")
    # the Fluent source: an English message with a [one] branch is a plural selector, whose
    # default must be [other]
    for key in tr.keys("en"):
        source = tr._sources["en"][key]
        if "[one]" in source:
            assert "*[other]" in source, key


def test_every_key_used_by_the_bot_exists(tr):
    import pathlib

    bot_dir = pathlib.Path(__file__).resolve().parents[1] / "bot"
    used = set()
    for path in bot_dir.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"""\b(?:t|t\.plain)\(\s*"([a-z0-9-]+)\"""", text))
        used |= set(re.findall(r"""tr\.get\([^,]+,\s*"([a-z0-9-]+)\"""", text))
    assert used, "no translation keys found in bot/"
    missing = sorted(k for k in used if k not in tr.keys("en"))
    assert not missing, missing


def test_a_placeholder_mismatch_is_detected(tmp_path):
    for lang, text in (("en", "hello = Hi { $name }\n"), ("id", "hello = Halo { $nama }\n")):
        (tmp_path / lang).mkdir()
        (tmp_path / lang / "x.ftl").write_text(text, encoding="utf-8")
    tr = Translator(tmp_path)
    assert tr.placeholders("en", "hello") != tr.placeholders("id", "hello")


def test_keys_built_from_names_exist(tr):
    from bot.handlers.start import ADMIN_COMMANDS, USER_COMMANDS
    from bot.keyboards.menus import MENU_ACTIONS

    wanted = {f"help-{c}" for c in USER_COMMANDS + ADMIN_COMMANDS} | {f"cmd-{c}" for c in USER_COMMANDS}
    wanted |= {f"menu-{a}" for a in MENU_ACTIONS}
    for lang in ("en", "id"):
        assert not wanted - tr.keys(lang), (lang, sorted(wanted - tr.keys(lang)))
