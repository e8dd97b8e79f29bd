"""TELEGLAS Telegram bot (aiogram 3): handlers, keyboards, middlewares, rendering, delivery."""
