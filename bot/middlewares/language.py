"""Puts ``lang`` and ``t`` (translate in that language, escaping arguments) into handler data."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

from bot.i18n import Texts
from locales import Translator


class LanguageMiddleware(BaseMiddleware):
    def __init__(self, tr: Translator) -> None:
        self.tr = tr

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        account = data.get("account")
        if account is not None:
            lang = self.tr.normalize(account.language)
        else:
            user = data.get("event_from_user")
            lang = self.tr.normalize(user.language_code if user else None)
        data["lang"] = lang
        data["t"] = Texts(self.tr, lang)
        return await handler(event, data)
