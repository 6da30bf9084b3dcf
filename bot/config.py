"""The bot's configuration, from the environment."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from core.config import ConfigurationError, Settings
from core.i18n import N_

OFFICIAL_API = "https://api.telegram.org/bot"


@dataclass(frozen=True)
class UssdSettings:
    """The USSD gateway: who may call `POST /ussd`, and how long an idle session lives."""

    secret: str | None = None
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    session_seconds: int = 180

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> UssdSettings:
        networks = tuple(ipaddress.ip_network(part.strip(), strict=False)
                         for part in (env.get("USSD_GATEWAY_NETWORKS") or "").split(",") if part.strip())
        return cls(env.get("USSD_GATEWAY_SECRET") or None, networks,
                   int(env.get("USSD_SESSION_SECONDS") or 180))

    @property
    def configured(self) -> bool:
        return bool(self.secret or self.networks)

    def check_for_production(self) -> None:
        """An operator's gateway is both authenticated and confined to its networks, or USSD is off.

        A secret alone is one leaked string away from anyone on the internet signing in as any
        caller (the gateway vouches for the number); networks alone trust every host in them.
        """
        if self.configured and not (self.secret and self.networks):
            missing = "USSD_GATEWAY_NETWORKS" if self.secret else "USSD_GATEWAY_SECRET"
            raise ConfigurationError(N_("USSD needs both USSD_GATEWAY_SECRET and USSD_GATEWAY_NETWORKS "
                                        "(or neither, with USSD off): {missing} is not set."),
                                     missing=missing)
        if self.secret is not None and len(self.secret) < 16:
            raise ConfigurationError(N_("USSD_GATEWAY_SECRET is too short (at least 16 characters)."))


@dataclass(frozen=True)
class BotSettings:
    core: Settings
    token: str | None
    api_base_url: str  # python-telegram-bot's base_url: the token is appended to it
    webhook_url: str | None
    webhook_secret: str | None
    # Telegram's guideline: about 30 messages a second across all chats. A bot granted more
    # (paid broadcasts allow up to 1,000) raises it; 0 lifts our own limit entirely.
    max_messages_per_second: int = 30
    # Updates handled at once (each chat still in order), and HTTP connections to Telegram.
    concurrency: int = 16
    ussd: UssdSettings = field(default_factory=UssdSettings)
    # Webhook mode: updates stored and not yet handled past which Telegram is asked to retry later.
    webhook_backlog: int = 10_000

    @property
    def file_base_url(self) -> str:
        # https://api.telegram.org/bot -> https://api.telegram.org/file/bot
        head, _, _ = self.api_base_url.rstrip("/").rpartition("/bot")
        return f"{head}/file/bot"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> BotSettings:
        env = os.environ if environ is None else environ
        return cls(
            core=Settings.from_env(dict(env)),
            token=env.get("TELEGRAM_BOT_TOKEN") or None,
            api_base_url=env.get("TELEGRAM_API_BASE_URL") or OFFICIAL_API,
            webhook_url=env.get("TELEGRAM_WEBHOOK_URL") or None,
            webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET") or None,
            max_messages_per_second=int(env.get("TELEGRAM_MAX_MESSAGES_PER_SECOND") or 30),
            concurrency=int(env.get("TELEGRAM_CONCURRENCY") or 16),
            ussd=UssdSettings.from_env(env),
            webhook_backlog=int(env.get("TELEGRAM_WEBHOOK_BACKLOG") or 10_000),
        )
