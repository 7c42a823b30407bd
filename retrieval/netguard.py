"""Where the crawler may connect, and for how long: the address policy and the page deadline.

A crawled site must not steer askdesk's requests to internal services (cloud metadata at
169.254.169.254, a database on 10.x, the host's own loopback). The host rule (same origin,
same prefix) is checked on URLs; this module checks what is underneath: every connection
resolves the host once, checks each address against the source's `AddressPolicy`, connects
to exactly the address it checked and verifies the peer of the socket it got, so a DNS
answer that changes between check and connect (rebinding) changes nothing. Private,
loopback and link-local addresses are allowed only when the configured source itself is on
one of that kind (a wiki on the office network, a test site on 127.0.0.1); metadata and
unspecified/reserved addresses only when they are the source's own address.

The read timeout of an HTTP client covers each read, so a server sending one byte every
few seconds never trips it. A `Deadline` is wall-clock: when it passes, the sockets of the
request it guards are shut down, which ends any blocked read at once.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError
from urllib3.util import connection

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
"""Cloud instance metadata endpoints (AWS/GCP/Azure, ECS, Alibaba, AWS IPv6)."""


def category(ip: IPAddress) -> str:
    """ "public", "private", "loopback", "link-local", "metadata" or "reserved"."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA:
        return "metadata"
    if ip.is_unspecified or ip.is_multicast:
        return "reserved"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private or not ip.is_global:
        return "private"
    return "public"


class AddressRefused(NewConnectionError):
    """A connection the policy does not allow; raised before any connect."""

    def __init__(self, conn: object, reason: str) -> None:
        super().__init__(conn, reason)
        self.reason = reason


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (an IP literal is itself), in resolver order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    out: list[IPAddress] = []
    for *_, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in out:
            out.append(ip)
    return out


@dataclass(frozen=True)
class AddressPolicy:
    """The address kinds one source may connect to: public ones always; private, loopback
    and link-local ones only when the source's own address is of that kind; metadata and
    reserved ones only when they are exactly the source's address."""

    allowed: frozenset[str] = frozenset({"public"})
    own: frozenset[IPAddress] = frozenset()

    @classmethod
    def for_addresses(cls, addresses: list[IPAddress]) -> AddressPolicy:
        kinds = {category(ip) for ip in addresses} - {"metadata", "reserved"}
        return cls(frozenset({"public", *kinds}), frozenset(addresses))

    @classmethod
    def for_host(cls, host: str, port: int) -> AddressPolicy:
        """The policy of a source configured on `host` (resolved once, now)."""
        return cls.for_addresses(resolve(host, port))

    def refusal(self, ip: IPAddress) -> str | None:
        """Why a connection to `ip` is refused, or None when it is allowed."""
        if ip in self.own:
            return None
        kind = category(ip)
        if kind in self.allowed:
            return None
        return f"address {ip} is {kind} and the source is not"


class _Watch:
    """Sockets of the request running on this thread, shut down when its deadline passes."""

    local = threading.local()


class Deadline:
    """A wall-clock limit on one request: when it passes, its sockets are shut down."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            if sock not in self._socks:
                self._socks.append(sock)
            expired = self.expired
        if expired:
            _shutdown(sock)

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            socks = list(self._socks)
        for sock in socks:
            _shutdown(sock)

    def start(self) -> None:
        self._timer.start()

    def cancel(self) -> None:
        self._timer.cancel()


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed: nothing left to stop
        sock.shutdown(socket.SHUT_RDWR)


@contextmanager
def deadline(seconds: float) -> Iterator[Deadline]:
    """Guard the requests made on this thread inside the block by one wall-clock limit."""
    limit = Deadline(seconds)
    previous = getattr(_Watch.local, "deadline", None)
    _Watch.local.deadline = limit
    limit.start()
    try:
        yield limit
    finally:
        limit.cancel()
        _Watch.local.deadline = previous


def _watch(sock: socket.socket | None) -> None:
    limit = getattr(_Watch.local, "deadline", None)
    if limit is not None:
        limit.watch(sock)


class _Guarded:
    """Mixin for urllib3 connections: check, then connect to exactly the checked address."""

    policy: AddressPolicy
    _dns_host: str
    port: int
    timeout: float | None
    source_address: tuple[str, int] | None
    socket_options: list[tuple[int, int, int | bytes]] | None
    sock: socket.socket | None

    def _new_conn(self) -> socket.socket:
        try:
            addresses = resolve(self._dns_host, self.port)
        except socket.gaierror as exc:
            raise NewConnectionError(self, f"cannot resolve {self._dns_host}: {exc}") from exc
        for ip in addresses:  # every answer must pass: a mixed answer is a rebinding trick
            why = self.policy.refusal(ip)
            if why is not None:
                raise AddressRefused(self, f"refused: {why}")
        last: OSError | None = None
        for ip in addresses:
            try:
                sock = connection.create_connection(
                    (str(ip), self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except OSError as exc:
                last = exc
                continue
            peer = ipaddress.ip_address(sock.getpeername()[0].split("%", 1)[0])
            why = self.policy.refusal(peer)
            if why is not None:
                sock.close()
                raise AddressRefused(self, f"refused: {why}")
            _watch(sock)
            return sock
        raise NewConnectionError(self, f"Failed to establish a new connection: {last}")

    def request(self, *args: object, **kwargs: object) -> None:
        _watch(self.sock)  # a kept-alive connection: its socket is this request's too
        super().request(*args, **kwargs)  # type: ignore[misc]


def guarded_session(policy: AddressPolicy, user_agent: str) -> requests.Session:
    """A requests session whose every connection obeys `policy` and the thread's deadline;
    no proxies or .netrc from the environment (exactly this site, no ambient credentials)."""

    class Conn(_Guarded, HTTPConnection):
        pass

    class TLSConn(_Guarded, HTTPSConnection):
        pass

    Conn.policy = TLSConn.policy = policy

    class Pool(HTTPConnectionPool):
        ConnectionCls = Conn

    class TLSPool(HTTPSConnectionPool):
        ConnectionCls = TLSConn

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *args: object, **kwargs: object) -> None:
            super().init_poolmanager(*args, **kwargs)  # type: ignore[arg-type]
            self.poolmanager.pool_classes_by_scheme = {"http": Pool, "https": TLSPool}

    session = requests.Session()
    session.trust_env = False
    session.headers["User-Agent"] = user_agent
    adapter = Adapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def refusal_of(exc: BaseException) -> str | None:
    """The policy's reason when `exc` (a requests error) came from a refused address."""
    seen: set[int] = set()
    stack: list[object] = [exc]
    while stack:
        err = stack.pop()
        if id(err) in seen or not isinstance(err, BaseException):
            continue
        seen.add(id(err))
        if isinstance(err, AddressRefused):
            return err.reason
        stack.extend([*err.args, getattr(err, "reason", None), err.__cause__, err.__context__])
    return None
