"""Running a chat surface by name: `askdesk chat NAME` for the built-ins and installed ones alike.

A chat surface is registered in the `askdesk.surfaces` entry-point group (`askdesk.registry`)
as `serve(host: SurfaceHost) -> None`. askdesk builds the host (the desk, the channel settings,
the follow-up policy, the fleet's delivery claims and work journal), stops it on SIGTERM or
Ctrl-C, and the surface does only its two translations (platform event → `Incoming` /
`Click`, `Answer` → platform message), handing everything else to `host.delivery(surface)`:
the one delivery core (`askdesk.bots.delivery.Delivery`) that Slack, Discord and the HTTP API use.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from functools import cached_property
from typing import TYPE_CHECKING, Any

from askdesk.bots.common import ChannelDirectory
from askdesk.bots.delivery import Delivery, FollowUpPolicy
from askdesk.bots.surface import ChatSurface
from askdesk.core.desk import SupportDesk
from askdesk.fleet import delivery_keys, work_journal
from askdesk.registry import SURFACES, PluginError, load

if TYPE_CHECKING:
    from askdesk.wiring import App


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class SurfaceHost:
    """What askdesk hands a chat surface it runs.

    options   the surface's own settings (`--option key=value` on `askdesk chat`), as text
    delivery  the delivery core for the surface's `ChatSurface`: every rule, the answer, votes,
              the 👎 dialogue and escalation, the same for every platform
    warm_up   load the index and models now (call it once listening, before announcing ready)
    ready     say the surface is up (a line on stderr, e.g. where it listens)
    stopping  set when askdesk is asked to stop: `serve` returns soon after
    """

    def __init__(
        self,
        app: App,
        name: str,
        options: Mapping[str, str] | None = None,
        *,
        announce: Callable[[str], None] = _stderr,
        stop: threading.Event | None = None,
    ) -> None:
        self.app = app  # askdesk's own wiring: the built-in surfaces start from it
        self.name = name
        self.options: Mapping[str, str] = dict(options or {})
        self.announce = announce
        self.stopping = stop if stop is not None else threading.Event()

    @cached_property
    def desk(self) -> SupportDesk:
        return self.app.desk()

    @cached_property
    def channels(self) -> ChannelDirectory:
        return self.app.channels()

    @cached_property
    def policy(self) -> FollowUpPolicy:
        return self.app.follow_up_policy()

    def option(self, key: str, default: str | None = None) -> str | None:
        return self.options.get(key, default)

    def int_option(self, key: str, default: int | None = None) -> int | None:
        """An integer option (`--option port=0`); a non-number is one line naming it."""
        raw = self.options.get(key)
        if raw is None or raw.strip() == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise PluginError(f"chat surface {self.name!r}: {key} must be a number") from None

    def flag_option(self, key: str, default: bool = False) -> bool:
        raw = self.options.get(key)
        if raw is None:
            return default
        return raw.strip().lower() in {"1", "true", "yes", "on", ""}

    def delivery(self, surface: ChatSurface[Any], *, executor: Executor | None = None) -> Delivery:
        """The one delivery core, driving `surface`; duplicates are claimed fleet-wide and
        questions held in the work journal on a shared database, as for Slack."""
        return Delivery(
            self.desk,
            self.channels,
            surface,
            claims=delivery_keys(self.app),
            journal=work_journal(self.app),
            executor=executor,
            policy=self.policy,
        )

    def warm_up(self) -> None:
        self.desk.engine.warm_up()

    def ready(self, line: str) -> None:
        self.announce(line)


def runner(name: str) -> Callable[[SurfaceHost], None]:
    """The registered `serve(host)` of the surface `name`; PluginError (one line) if none."""
    found = load(SURFACES, name)
    if not callable(found):
        raise PluginError(f"chat surface {name!r} is not a serve(host) function")
    return found
