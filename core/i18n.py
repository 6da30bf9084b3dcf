"""Translation and formatting: Vietnamese first, English second.

Source strings are English and live in the gettext catalogue
(`locales/vi/LC_MESSAGES/messages.po`). Code marks a string for the catalogue
with `N_()` where it is translated later (labels in tables, validation errors)
and translates with a `Translator` when it is shown to a person.
"""

from __future__ import annotations

import datetime as dt
import gettext
import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from core.config import PROJECT_ROOT

log = logging.getLogger(__name__)

LOCALES_DIR = PROJECT_ROOT / "locales"
DOMAIN = "messages"
DEFAULT_LOCALE = "vi"
SUPPORTED_LOCALES = ("vi", "en")
# Every time a person reads is Hanoi time, whatever the server's clock says.
TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")
DATE_PATTERN = "dd/MM/yyyy"
DATETIME_PATTERN = "HH:mm dd/MM/yyyy"


def N_(message: str) -> str:
    """Marks a source string for the catalogue; it is translated where it is shown."""
    return message


@dataclass(frozen=True)
class Message:
    """A catalogue string with its parameters, translated when rendered.

    Parameters that are themselves `Message`s are rendered in the same language.
    """

    msgid: str
    params: Mapping[str, object] = field(default_factory=dict)

    def render(self, translator: Translator) -> str:
        return translator.text(self.msgid, **self.params)


class Translator:
    """Gettext plus Babel formatting for one locale."""

    def __init__(self, locale: str, translations: gettext.NullTranslations) -> None:
        self.locale = locale
        self._translations = translations
        self._babel = Locale.parse(locale)  # parsed once: Babel re-parses a string per call

    def gettext(self, message: str) -> str:
        return self._translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._translations.ngettext(singular, plural, n)

    def text(self, message: str, /, **params: object) -> str:
        """Translate and fill `{name}` placeholders."""
        translated = self._translations.gettext(message)
        if not params:
            return translated
        rendered = {
            key: value.render(self) if isinstance(value, Message) else value
            for key, value in params.items()
        }
        return translated.format(**rendered)

    def date(self, value: dt.date) -> str:
        return babel_format_date(value, DATE_PATTERN, locale=self._babel)

    def datetime(self, value: dt.datetime) -> str:
        """A moment in Hanoi time, `HH:mm dd/mm/yyyy`; naive values are taken as UTC."""
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return babel_format_datetime(value, DATETIME_PATTERN, tzinfo=TIMEZONE, locale=self._babel)

    def number(self, value: float | int) -> str:
        return format_decimal(value, locale=self._babel)

    def territory(self, code: str) -> str:
        """A country's name in this language (`VN` -> `Việt Nam`)."""
        return self._babel.territories.get(code, code)


def _load_catalogue(locale: str) -> gettext.NullTranslations:
    po_path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    mo_path = po_path.with_suffix(".mo")
    if not po_path.exists():
        return gettext.NullTranslations()
    if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
        with mo_path.open("rb") as handle:
            return Translations(handle, domain=DOMAIN)
    # The build compiles the catalogue (`make`); a stale or missing .mo is compiled
    # in memory so an edited .po never shows people outdated text.
    log.warning("catalogue %s is not compiled or is stale; compiling in memory", po_path)
    with po_path.open("rb") as handle:
        catalogue = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalogue, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


@cache
def translator(locale: str | None = None) -> Translator:
    chosen = locale if locale in SUPPORTED_LOCALES else DEFAULT_LOCALE
    if chosen == "en":
        return Translator("en", gettext.NullTranslations())
    return Translator(chosen, _load_catalogue(chosen))


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def today_hanoi() -> dt.date:
    return dt.datetime.now(TIMEZONE).date()
