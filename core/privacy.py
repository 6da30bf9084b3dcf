"""Masking of identifiers for anything that may reach a log or a console.

Full personal ID numbers and phone numbers never appear in logs (Decree
13/2023/NĐ-CP treats health data and ID numbers as sensitive personal data).
"""

from __future__ import annotations

import logging
import re


def mask_personal_id(value: str | None) -> str:
    """`001090001234` -> `0010****1234`: province and sex digits plus the last four."""
    if not value:
        return "-"
    digits = str(value)
    if len(digits) <= 8:
        return "*" * len(digits)
    return digits[:4] + "*" * (len(digits) - 8) + digits[-4:]


def mask_phone(value: str | None) -> str:
    """`+84912345678` -> `+849****678`, `0912345678` -> `0912****678`."""
    if not value:
        return "-"
    text = str(value)
    if len(text) < 9:
        return "*" * len(text)
    return text[:4] + "****" + text[-3:]


def mask_card(value: str | None) -> str:
    """Insurance card `DN4010123456789` -> `DN4010*****6789`."""
    if not value:
        return "-"
    text = str(value)
    if len(text) <= 9:
        return "*" * len(text)
    return text[:5] + "*" * (len(text) - 9) + text[-4:]


# Defence in depth: whatever a developer logs by mistake, runs of 9+ digits
# (personal IDs, phones, insurance numbers) are masked before they are written.
_DIGIT_RUN = re.compile(r"(?<![0-9])(\+?84|0)?([0-9][0-9 .-]{7,}[0-9])(?![0-9])")


def _mask_digit_runs(text: str) -> str:
    def repl(match: re.Match[str]) -> str:
        whole = match.group(0)
        digits = re.sub(r"[^0-9+]", "", whole)
        if len(digits.lstrip("+")) < 9:
            return whole
        return digits[:3] + "****" + digits[-3:]

    return _DIGIT_RUN.sub(repl, text)


class RedactingFilter(logging.Filter):
    """Masks long digit runs in every record that passes through a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _mask_digit_runs(message)
        if masked != message:
            record.msg = masked
            record.args = None
        return True


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Debugging the service must not turn on SQL logging, which would show rows, nor
    # HTTP request logging (the bot token is in Telegram's URLs), nor python-telegram-bot's
    # debug output (whole updates: what people typed).
    for noisy in ("sqlalchemy", "aiosqlite", "asyncio", "httpx", "httpcore", "alembic.runtime"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    logging.getLogger("telegram").setLevel(max(logging.INFO, root.level))
