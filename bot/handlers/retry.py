"""Flood control and network trouble: wait and try again rather than lose a reply."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram.error import BadRequest, NetworkError
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)


class RetryingRateLimiter(AIORateLimiter):
    """python-telegram-bot's rate limiter (it waits out 429 `retry_after`), plus a few
    retries of requests that failed on the network. A timed-out send may have been
    delivered; a rare duplicate message is better than a silent bot."""

    def __init__(self, *, network_retries: int = 3, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._network_retries = network_retries

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        for attempt in range(self._network_retries + 1):
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data,
                                                      rate_limit_args)
            except NetworkError as error:
                if isinstance(error, BadRequest) or attempt == self._network_retries:
                    raise
                delay = 0.5 * 2 ** attempt
                log.warning("%s failed on the network (%s); retrying in %.1f s", endpoint,
                            type(error).__name__, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")
