"""Sandbox HTTP server emulating the platform's public source APIs with deterministic generated data.

``create_app(config)`` builds the ASGI application, ``serve_in_thread(config)`` serves it from a background
thread, ``python -m python_scripts.sandbox`` from the command line; ``FakeStore(config)`` is the same data
as Python iterators.
"""

from python_scripts.sandbox.app import create_app
from python_scripts.sandbox.fakestore import CITIES, FakeStore, FakeStoreConfig
from python_scripts.sandbox.server import serve_in_thread

__all__ = ["CITIES", "FakeStore", "FakeStoreConfig", "create_app", "serve_in_thread"]
