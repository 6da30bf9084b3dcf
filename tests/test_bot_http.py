"""The bot's HTTP client (python-telegram-bot over aiohttp): network trouble becomes PTB's errors."""

from __future__ import annotations

import asyncio
import socket

import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from bot.handlers.http import AiohttpRequest


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_an_unreachable_api_is_a_network_error_that_can_be_retried() -> None:
    request = AiohttpRequest(connect_timeout=1.0)
    bot = Bot("1:x", base_url=f"http://127.0.0.1:{closed_port()}/bot", request=request,
              get_updates_request=AiohttpRequest())
    async with request:
        with pytest.raises(NetworkError) as raised:
            await bot.get_me()
    assert "aiohttp." in raised.value.message


async def test_a_server_that_does_not_answer_in_time_is_a_timeout() -> None:
    async def silent(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response({"ok": True, "result": {}})

    app = web.Application()
    app.router.add_post("/bot1:x/getMe", silent)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    request = AiohttpRequest(read_timeout=0.3)
    try:
        async with request:
            with pytest.raises(TimedOut):
                await request.post(f"http://127.0.0.1:{port}/bot1:x/getMe")
    finally:
        await runner.cleanup()
