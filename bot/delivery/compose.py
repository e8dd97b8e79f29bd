"""One Telegram message from one or several (coalesced) alerts, always under 4096 characters."""
from __future__ import annotations

import html
from collections.abc import Sequence

from bot.render import TELEGRAM_TEXT_LIMIT, html_to_text
from locales import Translator

SEPARATOR = "\n\n┄┄┄┄┄┄\n\n"


def fit(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> str:
    """``text`` if it fits; else its plain-text form (escaped) cut to ``limit`` with an ellipsis.

    Cutting HTML could leave an open tag, which Telegram refuses (400), so a too-long text is
    flattened before it is cut.
    """
    if len(text) <= limit:
        return text
    plain = html.escape(html_to_text(text), quote=False)
    if len(plain) <= limit:
        return plain
    cut = plain[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]  # do not split an entity such as &amp;
    return cut + "…"


def compose(tr: Translator, lang: str, texts: Sequence[str]) -> str:
    """A single alert as is; several under a header ("3 alerts"), separated."""
    if len(texts) == 1:
        return fit(texts[0])
    header = tr.get(lang, "delivery-coalesced-header", count=len(texts))
    return fit(header + "\n\n" + SEPARATOR.join(texts))
