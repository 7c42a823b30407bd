"""Start and stop the HTTP API: its own event loop on a thread, bound to a host and port
(port 0: a free one), drained on stop. `askdesk serve` and the tests use the same class."""

from __future__ import annotations

import asyncio
import logging
import threading

from aiohttp import web

from askdesk.bots.http.app import HttpApi

log = logging.getLogger(__name__)

DRAIN_S = 10.0  # requests in flight get this long to finish on stop


class HttpServer:
    def __init__(self, api: HttpApi, host: str = "127.0.0.1", port: int = 0) -> None:
        self.api = api
        self.host = host
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> HttpServer:
        """Bind and serve; raises OSError here when the address is taken."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(self._bind())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, name="askdesk-http", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        log.info("HTTP API listening", extra={"host": self.host, "port": self.port})
        return self

    async def _bind(self) -> None:
        self._runner = web.AppRunner(
            self.api.app(), shutdown_timeout=DRAIN_S, access_log=None, handle_signals=False
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        if server is not None and server.sockets:  # type: ignore[union-attr]
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def stop(self) -> None:
        """Stop taking requests, let those in flight finish (up to DRAIN_S), stop the loop."""
        if self._thread is None:
            return
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(DRAIN_S + 5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(DRAIN_S + 5)
        self._thread = None
        self.api.close()
        self._loop.close()
        log.info("HTTP API stopped")
