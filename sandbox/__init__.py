"""The sandbox: a local Telegram Bot API emulator, a chat page and a scripted Telegram user."""
