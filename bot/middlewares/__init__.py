"""Outer middlewares, in this order: throttling -> access (+ user loading) -> language."""
from bot.middlewares.access import AccessMiddleware
from bot.middlewares.language import LanguageMiddleware
from bot.middlewares.throttling import ThrottlingMiddleware

__all__ = ["AccessMiddleware", "LanguageMiddleware", "ThrottlingMiddleware"]
