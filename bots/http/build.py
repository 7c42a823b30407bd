"""One HTTP API server from a desk: the surface, the delivery core on it, keys, limits."""

from __future__ import annotations

from collections.abc import Sequence

from askdesk.bots.claims import SeenKeys
from askdesk.bots.common import ChannelDirectory
from askdesk.bots.delivery import Delivery, FollowUpPolicy
from askdesk.bots.http.app import HttpApi, HttpConfig, Ready
from askdesk.bots.http.keys import ApiKey, KeyRing
from askdesk.bots.http.run import HttpServer
from askdesk.bots.http.surface import HttpSurface
from askdesk.core.desk import SupportDesk


def http_server(
    desk: SupportDesk,
    keys: Sequence[ApiKey],
    *,
    channels: ChannelDirectory | None = None,
    config: HttpConfig | None = None,
    policy: FollowUpPolicy | None = None,
    claims: SeenKeys | None = None,
    ready: Ready | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> HttpServer:
    """A server (not started) answering with `desk` for the holders of `keys`."""
    surface = HttpSurface()
    delivery = Delivery(
        desk,
        channels or ChannelDirectory(),
        surface,
        claims=claims,
        policy=policy or FollowUpPolicy(),
    )
    api = HttpApi(delivery, surface, KeyRing(keys), config, ready=ready)
    return HttpServer(api, host, port)
