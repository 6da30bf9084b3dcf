"""Telegram adapter: python-telegram-bot handlers that render flow replies."""
