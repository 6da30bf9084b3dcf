"""Configuration from the environment, with embedded defaults for `make run`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/ehr.sqlite3"


@dataclass(frozen=True)
class Settings:
    database_url: str
    locale: str
    log_level: str

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            # Vietnamese first; operators may switch the command line to English.
            locale=env.get("EHR_LANG") or "vi",
            log_level=env.get("LOG_LEVEL") or "INFO",
        )


class ConfigurationError(Exception):
    """A setting the operator must fix before the service may start: one translated line, exit 2.

    `msgid` is a catalogue string (marked with `N_` where it is raised).
    """

    def __init__(self, msgid: str, **params: object) -> None:
        super().__init__(msgid.format(**params))
        self.msgid = msgid
        self.params = params

    def render(self, t) -> str:  # t: core.i18n.Translator (which imports this module)
        return t.text(self.msgid, **self.params)
