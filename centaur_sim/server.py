"""HTTP/1.1 transport: a threading server and a handler that writes `Reply` values."""

from __future__ import annotations

import contextlib
import gzip
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from centaur_sim.config import GZIP_LEVEL, SimConfig
from centaur_sim.messages import CANNED, Reply, Request

App = Callable[[Request], Reply]
MAX_BODY = 1 << 20


class SimServer(ThreadingHTTPServer):
    """Threading server that remembers open connections so `close_all` can end them."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        app: App,
        config: Callable[[], SimConfig],
        verbose: bool = False,
    ) -> None:
        """Bind `address`; `app` answers requests, `config()` is the configuration in force."""
        self.app = app
        self.config = config
        self.verbose = verbose
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        #: Set by `close_all`: ends stalled answers at once.
        self.closing = threading.Event()
        super().__init__(address, SimHandler)
        settings = config()
        self.scheme = "https" if settings.tls_certfile else "http"
        if settings.tls_certfile:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(settings.tls_certfile, settings.tls_keyfile)
            # the handshake happens in the connection's own thread (see SimHandler.setup)
            self.socket = context.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )

    def track(self, connection: socket.socket, open_: bool) -> None:
        """Register (or forget) a live client connection."""
        with self._connections_lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_all(self) -> None:
        """Shut down every live client connection (idle keep-alive ones included)."""
        self.closing.set()
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: object
    ) -> None:
        """Ignore clients that went away; report anything else."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, ssl.SSLError)):
            super().handle_error(request, client_address)


class SimHandler(BaseHTTPRequestHandler):
    """Parses requests into `Request`, writes `Reply` (gzip, resets, truncation, delays)."""

    server: SimServer
    protocol_version = "HTTP/1.1"
    server_version = "centaur-sim/1.0"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 300
    #: When the current request had been read (monotonic clock).
    _read_at = 0.0

    def setup(self) -> None:
        """Complete a TLS handshake, if any, and register the connection with the server."""
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        """Forget the connection."""
        self.server.track(self.connection, False)
        with contextlib.suppress(OSError):
            super().finish()

    def version_string(self) -> str:
        """Return the Server header value."""
        return self.server_version

    def log_message(self, format: str, *args: object) -> None:
        """Log to stderr only when verbose."""
        if self.server.verbose:
            super().log_message(format, *args)

    def _dispatch(self) -> None:
        """Read a request (any method), let the app answer it, send the answer."""
        self._read_at = time.monotonic()
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._send(Reply(411, b'{"message":"Length Required"}'))
            return
        declared = self.headers.get("Content-Length") or "0"
        length = int(declared) if declared.isascii() and declared.isdigit() else -1
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
            self._send(Reply(400 if length < 0 else 413, b'{"message":"Bad Content-Length"}'))
            return
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=url.path,
            query=parse_qs(url.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            query_string=url.query,
        )
        try:
            reply = self.server.app(request)
        except Exception:  # noqa: BLE001 - a simulator bug: answer like the real API's 500
            traceback.print_exc()
            reply = CANNED["500"]()
        self._send(reply)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch

    def _send(self, reply: Reply) -> None:
        """Answer `reply.delay` seconds after the request was read, this work included.

        So the latency a client sees is the configured one whenever the simulator's own work
        (query, JSON, gzip) is faster, as with a real API whose latency includes its work.
        """
        body = reply.body
        config = self.server.config()
        headers = list(reply.headers)
        if self._gzips(reply, config):
            body = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
            headers += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
        wait = self._read_at + reply.delay - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        if reply.action == "reset":
            self._reset()
            return
        self._head(reply, len(body), headers, config)
        if reply.action == "truncate":
            self.close_connection = True
            body = body[: len(body) // 2]
        if reply.action == "stall":
            self._stream((body[i : i + 1] for i in range(len(body))), config.stall_byte_seconds)
        else:
            self._stream([body] if reply.chunks is None else reply.chunks)

    def _head(
        self, reply: Reply, length: int, headers: list[tuple[str, str]], config: SimConfig
    ) -> None:
        """Send the status line and the headers (`Content-Length`: `length`, unless streamed)."""
        self.log_request(reply.status)
        self.send_response_only(reply.status, reply.reason)
        self.send_header("Server", self.version_string())
        if reply.date_text is not None:
            self.send_header("Date", reply.date_text)
        elif reply.date_shift is not None:
            moment = time.time() + config.date_offset_seconds + reply.date_shift
            self.send_header("Date", self.date_time_string(moment))
        self.send_header("Content-Type", reply.content_type)
        if reply.chunks is None:
            self.send_header("Content-Length", str(length))
        else:
            self.close_connection = True  # the end of the body is the end of the connection
        for name, value in headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def _stream(self, chunks: Iterable[bytes], pause: float = 0.0) -> None:
        """Send `chunks`, `pause` seconds apart; stop when the client is gone or we stop."""
        for i, chunk in enumerate(chunks):
            if self.server.closing.wait(pause if i else 0):
                self.close_connection = True
                return
            try:
                self.wfile.write(chunk)
            except OSError:
                self.close_connection = True
                return

    def _gzips(self, reply: Reply, config: SimConfig) -> bool:
        """Whether to gzip the body: asked for, allowed, and not already encoded (a bomb)."""
        encoded = any(name == "Content-Encoding" for name, _ in reply.headers)
        accepted = "gzip" in self.headers.get("Accept-Encoding", "")  # as Starlette's GZip
        return bool(reply.body) and config.gzip and accepted and not encoded

    def _reset(self) -> None:
        """Abort the connection with a TCP RST and no response."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()
        self.connection.close()
