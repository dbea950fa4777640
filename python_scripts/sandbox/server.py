"""Run the sandbox with uvicorn in a background thread of the current process."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn

from python_scripts.sandbox.app import create_app
from python_scripts.sandbox.config import SandboxConfig
from python_scripts.sandbox.fakestore import FakeStoreConfig


def base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextlib.contextmanager
def serve_in_thread(
    config: SandboxConfig | FakeStoreConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    access_log: bool = False,
    log_level: str = "warning",
    startup_timeout: float = 10.0,
) -> Iterator[str]:
    """Serve the sandbox until the block exits, yielding its base URL once it accepts connections.

    ``config`` as for :func:`~python_scripts.sandbox.app.create_app`. ``port=0`` picks a free port. The socket
    is bound here, so the port is known before the server starts.
    """
    app = create_app(config)
    server = uvicorn.Server(
        uvicorn.Config(app, log_level=log_level, access_log=access_log, timeout_graceful_shutdown=5)
    )
    sock = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="sandbox", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.01)
        yield base_url(host, sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join()
        sock.close()
