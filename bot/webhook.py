"""Webhook mode: Telegram POSTs updates to the aiohttp app, beside `/healthz`.

Telegram sends the secret given to setWebhook in `X-Telegram-Bot-Api-Secret-Token`;
a request without it is refused before it is read.
"""

from __future__ import annotations

import hmac
import json
import logging

from aiohttp import web
from telegram import Update
from telegram.ext import Application

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
APPLICATION = web.AppKey("telegram_application", Application)
SECRET = web.AppKey("telegram_webhook_secret", str)


async def receive_update(request: web.Request) -> web.Response:
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), request.app[SECRET].encode()):
        log.warning("webhook call with a wrong or missing secret refused")
        return web.Response(status=403, text="forbidden")
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return web.Response(status=400, text="not JSON")
    application = request.app[APPLICATION]
    update = Update.de_json(data, application.bot)
    if update is None:
        return web.Response(status=400, text="not an update")
    await application.update_queue.put(update)
    return web.Response(text="ok")


def add_webhook_route(app: web.Application, application: Application, secret: str) -> None:
    if len(secret) < 16:
        raise ValueError("TELEGRAM_WEBHOOK_SECRET must be at least 16 characters")
    app[APPLICATION] = application
    app[SECRET] = secret
    app.router.add_post(WEBHOOK_PATH, receive_update)
