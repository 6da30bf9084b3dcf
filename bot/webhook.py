"""Webhook mode: Telegram POSTs updates to the aiohttp app, beside `/healthz`.

Telegram sends the secret given to setWebhook in `X-Telegram-Bot-Api-Secret-Token`;
a request without it is refused before it is read. An update is answered 200 only
once it is stored (`bot.handlers.inbox`): anything else makes Telegram send it again
("in case of an unsuccessful request, we will repeat the request", Bot API, setWebhook),
so a database outage or a restart loses nothing.
"""

from __future__ import annotations

import hmac
import json
import logging

from aiohttp import web
from telegram.ext import Application

from bot.handlers.inbox import TelegramInbox
from core.inbox import Stored

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
APPLICATION = web.AppKey("telegram_application", Application)
SECRET = web.AppKey("telegram_webhook_secret", str)
INBOX = web.AppKey("telegram_inbox", TelegramInbox)
RETRY_AFTER = "5"  # seconds; Telegram retries on its own schedule, the header is for anyone else


def _try_later(reason: str) -> web.Response:
    return web.Response(status=503, text=reason, headers={"Retry-After": RETRY_AFTER})


async def receive_update(request: web.Request) -> web.Response:
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), request.app[SECRET].encode()):
        log.warning("webhook call with a wrong or missing secret refused")
        return web.Response(status=403, text="forbidden")
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return web.Response(status=400, text="not JSON")
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        return web.Response(status=400, text="not an update")
    try:
        stored = await request.app[INBOX].receive(data)
    except (AttributeError, KeyError, TypeError, ValueError):  # not the shape of an update
        return web.Response(status=400, text="not an update")
    except Exception:  # the database is away: not acknowledged, so Telegram keeps it and retries
        log.exception("Telegram update %s could not be stored; asking for a retry", data["update_id"])
        return _try_later("not stored")
    if stored is Stored.FULL:
        log.warning("webhook backlog full; Telegram asked to retry update %s later", data["update_id"])
        return _try_later("busy")
    return web.Response(text="ok")


def add_webhook_route(app: web.Application, application: Application, secret: str,
                      inbox: TelegramInbox) -> None:
    if len(secret) < 16:
        raise ValueError("TELEGRAM_WEBHOOK_SECRET must be at least 16 characters")
    app[APPLICATION] = application
    app[SECRET] = secret
    app[INBOX] = inbox
    app.router.add_post(WEBHOOK_PATH, receive_update)
