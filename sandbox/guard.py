"""The sandbox answers this computer's own browser and bot, never another web page.

It listens on a loopback address only. A page from elsewhere can still make the
browser send requests to 127.0.0.1: by DNS rebinding (its own name resolving to
127.0.0.1, so the browser treats our answers as its own) or by plain cross-site
requests (a form posting to us). So every request must name us in `Host`
(rebinding sends the attacker's name), come from our own origin when it says
where from (`Origin`, `Sec-Fetch-Site`), and post JSON to the page's API: a
cross-site form cannot send `application/json` without a CORS preflight, which
nothing here answers. python-telegram-bot and the emulated USSD operator send
`Host: 127.0.0.1:<port>` and no `Origin`, as any HTTP client does.
"""

from __future__ import annotations

import ipaddress
import logging
import re

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler
from yarl import URL

from core.config import ConfigurationError
from core.i18n import N_

log = logging.getLogger(__name__)
_JSON_API = "/sandbox/"  # the chat page's and test phones' own API (`/sandbox/api/…`, `/sandbox/ussd`)
_SAFE_METHODS = ("GET", "HEAD")
_HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::[0-9]{1,5})?")  # a name or address, a port


def loopback_host(host: str) -> str:
    """The `--host` the sandbox may listen on: a loopback address or `localhost`, else refused."""
    if host.lower() == "localhost":
        return "localhost"
    if _is_loopback(host):
        return str(ipaddress.ip_address(host.strip("[]")))
    raise ConfigurationError(N_("The sandbox listens on this computer only: --host must be a loopback "
                                "address (127.0.0.1, ::1 or localhost), not {host}."), host=host)


def url_host(host: str) -> str:
    """The host as it goes into a URL: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host else host


def _is_loopback(name: str | None) -> bool:
    if not name:
        return False
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def _refuse(request: web.Request, status: int, reason: str) -> web.Response:
    log.warning("sandbox refused %s %s: %s", request.method, request.path, reason)
    return web.Response(status=status, text=f"refused: {reason}")


def _own_port(request: web.Request) -> int | None:
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    return sockname[1] if sockname else None


@web.middleware
async def own_origin_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    host = request.headers.get(hdrs.HOST, "")
    try:
        named = URL(f"http://{host}") if _HOST.fullmatch(host) else None
    except ValueError:
        named = None
    # The port this connection came in on: the Host must name it and a loopback host.
    if named is None or not _is_loopback(named.host) or named.port != _own_port(request):
        return _refuse(request, 403, "Host is not this sandbox (a page from elsewhere?)")
    origin = request.headers.get(hdrs.ORIGIN)
    if origin is not None and origin.lower() != f"http://{host.lower()}":
        return _refuse(request, 403, "Origin is another site")
    # Browsers say where a request comes from; only a navigation (a link, a typed address) may
    # come from another site, never a script, an image or a form's background request.
    site = request.headers.get("Sec-Fetch-Site")
    if site in ("cross-site", "same-site") and request.headers.get("Sec-Fetch-Mode") != "navigate":
        return _refuse(request, 403, "a request from another site")
    if (request.method not in _SAFE_METHODS and request.path.startswith(_JSON_API)
            and request.content_type != "application/json"):
        return _refuse(request, 415, "the sandbox API takes application/json only")
    return await handler(request)
