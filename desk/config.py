"""The console's settings, from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from core.config import ConfigurationError
from core.i18n import N_


@dataclass(frozen=True)
class DeskSettings:
    # Where staff open the console (sign-in links point here): https in production.
    base_url: str
    # The bot's t.me name, for staff invites' links and QR codes.
    bot_username: str
    # Largest file the imports page takes.
    upload_limit_mb: int = 512

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, base_url: str | None = None,
                 bot_username: str | None = None) -> DeskSettings:
        env = os.environ if env is None else env
        return cls((env.get("EHR_DESK_URL") or base_url or "").rstrip("/"),
                   env.get("TELEGRAM_BOT_USERNAME") or bot_username or "",
                   int(env.get("EHR_DESK_UPLOAD_MB") or 512))

    def check_for_production(self) -> None:
        """Sign-in links and session cookies travel only over https, to a named bot."""
        if not self.base_url.startswith("https://"):
            raise ConfigurationError(N_("The web console needs EHR_DESK_URL, its https address (for "
                                        "example https://so-suc-khoe.hanoi.gov.vn)."))
        if not self.bot_username:
            raise ConfigurationError(N_("The web console needs TELEGRAM_BOT_USERNAME, the bot's name "
                                        "on t.me, for staff invites."))
