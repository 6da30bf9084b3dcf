"""Telegram's limits held for the whole bot: every worker takes its turn from one shared pace."""

from __future__ import annotations

import asyncio

import pytest

from bot.handlers.retry import CHAT_BURST, paces
from core import pacing
from core.db import Database
from core.pacing import LocalPaces
from tests.conftest import SKIP_POSTGRES, _truncate


@pytest.mark.skipif(SKIP_POSTGRES, reason="EHR_TEST_SKIP_POSTGRES=1")
async def test_a_flood_to_one_person_from_two_workers_goes_one_a_second_after_its_burst(
        postgres_url: str) -> None:
    first, second = Database(postgres_url), Database(postgres_url)  # two processes' pools
    try:
        await _truncate(first)
        flood = CHAT_BURST + 5
        turns = await asyncio.gather(*(db.write(pacing.reserve, paces(500_000_001, 1000))
                                       for n in range(flood) for db in ((first, second)[n % 2],)))
        other_chat = await first.write(pacing.reserve, paces(500_000_002, 1000))
    finally:
        await first.dispose()
        await second.dispose()
    # The burst takes both turns at once; the rest wait for the chat's turn, the bot's not yet taken.
    assert sorted(turn.taken for turn in turns) == [1] * 5 + [2] * CHAT_BURST
    waits = sorted(turn.wait for turn in turns)
    assert all(wait < 0.5 for wait in waits[:CHAT_BURST])
    # Then one a second, however the two workers interleave (less the time the flood took).
    assert [round(wait) for wait in waits[CHAT_BURST:]] == list(range(1, 6))
    assert other_chat.wait < 0.5  # another person is not held back by the flooded chat


def test_one_process_paces_the_bot_and_each_chat_by_the_same_rule() -> None:
    now = [100.0]
    local = LocalPaces(clock=lambda: now[0])
    waits = [local.reserve(paces(n % 50, 10)).wait for n in range(30)]  # 30 chats at once, 10 a second
    assert waits == pytest.approx([n / 10 for n in range(30)])
    now[0] += 3.0  # quiet: the bot's pace has caught up
    chat = [local.reserve(paces(7, 1000)).wait for _ in range(CHAT_BURST + 2)]
    assert chat[:CHAT_BURST] == pytest.approx([n / 1000 for n in range(CHAT_BURST)])
    assert chat[CHAT_BURST:] == pytest.approx([1.0, 2.0], abs=0.05)
