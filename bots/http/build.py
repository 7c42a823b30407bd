"""One HTTP API server from a desk: the surface, the delivery core on it, keys, limits."""

from __future__ import annotations

from collections.abc import Sequence

from bots.claims import SeenKeys
from bots.common import ChannelDirectory
from bots.delivery import Delivery, FollowUpPolicy
from bots.http.app import HttpApi, HttpConfig, Ready
from bots.http.keys import ApiKey, KeyRing
from bots.http.run import HttpServer
from bots.http.surface import HttpSurface
from core.desk import SupportDesk


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
