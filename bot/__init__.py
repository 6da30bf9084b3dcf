"""Channels: the Telegram adapter (`bot.handlers`) and channel-neutral journeys (`bot.flows`).

`bot` imports `core`; `core` never imports `bot`.
"""
