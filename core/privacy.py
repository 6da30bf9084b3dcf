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


# Defence in depth: whatever a developer logs by mistake, runs of 9 or more digits
# (personal IDs, phones, insurance numbers), written together or with spaces, dots,
# dashes or brackets and with or without +84, are masked before they are written.
_DIGIT_RUN = re.compile(r"(?<![0-9])\+?[0-9](?:[ .()-]{0,3}[0-9])*")
_ENOUGH_DIGITS = 9
# Kept as they are: a timestamp's date is not an identifier, and neither is an IPv4
# address (an ID written with dots starts its groups with zeros, an address never does).
_DATE = re.compile(r"(?:(?:19|20)[0-9]{2}([-.])[01][0-9]\1[0-3][0-9]"
                   r"|[0-3][0-9]([-.])[01][0-9]\2(?:19|20)[0-9]{2})[ T]?")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


def _mask_run(match: re.Match[str]) -> str:
    run = match.group(0)
    if sum(c.isdigit() for c in run) < _ENOUGH_DIGITS or _IPV4.fullmatch(run):
        return run
    if date := _DATE.match(run):  # `2025-01-15 10` of `2025-01-15 10:23:45`: only the rest
        return date.group(0) + mask_identifiers(run[date.end():])
    digits = re.sub(r"[^0-9+]", "", run)
    return digits[:3] + "****" + digits[-3:]


def mask_identifiers(text: str) -> str:
    """`Key (personal_id)=(001090001234)` -> `Key (personal_id)=(001****234)`."""
    return _DIGIT_RUN.sub(_mask_run, text)


_TRACEBACKS = logging.Formatter()


class RedactingFilter(logging.Filter):
    """Masks identifiers in every record that passes through a handler it is on: the
    message, the exception's text and traceback, and the stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: logging reports it, with its parts masked
            record.msg = mask_identifiers(str(record.msg))
            if isinstance(record.args, tuple):
                record.args = tuple(mask_identifiers(str(arg)) for arg in record.args)
        else:
            masked = mask_identifiers(message)
            if masked != message:
                record.msg = masked
                record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
        if record.exc_text:
            # The masked text stands for the exception from here on: formatters append
            # `exc_text` as it is, and none can render the exception again unmasked.
            record.exc_text = mask_identifiers(record.exc_text)
            record.exc_info = None
        if record.stack_info:
            record.stack_info = mask_identifiers(record.stack_info)
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
