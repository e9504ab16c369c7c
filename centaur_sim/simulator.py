"""`Simulator`: the simulated API state plus a background HTTP server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType

from centaur_sim.api import PublicApi
from centaur_sim.config import SimConfig
from centaur_sim.control import ControlApi
from centaur_sim.messages import Reply, Request
from centaur_sim.server import SimServer
from centaur_sim.state import SimCore


class Simulator(SimCore):
    """A local Centaur Labs API; `start()` serves it on 127.0.0.1 in a daemon thread.

    For local testing only: the /_sim/ control endpoints need no authentication.
    """

    def __init__(
        self,
        config: SimConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
        verbose: bool = False,
    ) -> None:
        """Generate the data of `config`; `verbose` logs each request to stderr."""
        super().__init__(config, clock=clock)
        self.verbose = verbose
        self._server: SimServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:8765` (https with TLS; RuntimeError before `start`)."""
        if self._server is None:
            raise RuntimeError("simulator not started")
        host, port = self._server.server_address[:2]
        return f"{self._server.scheme}://{host!s}:{port}"

    @property
    def port(self) -> int:
        """The bound TCP port."""
        return int(self.url.rsplit(":", 1)[1])

    def start(self) -> str:
        """Bind the configured host and port (0: any free port), serve, return the base URL."""
        if self._server is not None:
            return self.url
        api, control = PublicApi(self), ControlApi(self)

        def app(request: Request) -> Reply:
            if request.path.startswith("/_sim/"):
                return control.handle(request)
            self.record(request)
            return api.handle(request)

        self._server = SimServer(
            (self.config.host, self.config.port), app, lambda: self.config, self.verbose
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="centaur-sim",
            daemon=True,
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and close the listening socket and all client connections."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_all()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Simulator:
        """Start and return the simulator."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the simulator."""
        self.stop()
