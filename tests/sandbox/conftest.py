"""Fixtures of the per-source sandbox tests: one shared server with a fixed clock, and servers of their own."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest

from python_scripts.sandbox import FakeStoreConfig, SandboxConfig, serve_in_thread
from tests.sandbox.support import CONFIG, Sandbox


@pytest.fixture(scope="session")
def sandbox_url() -> Iterator[str]:
    with serve_in_thread(CONFIG) as url:
        yield url


@pytest.fixture
def sandbox(sandbox_url: str) -> Iterator[Sandbox]:
    """The shared sandbox, put back as configured after the test."""
    client = Sandbox(sandbox_url)
    yield client
    client.reset()


@pytest.fixture
def serve() -> Iterator[Callable[[SandboxConfig | FakeStoreConfig | None], Sandbox]]:
    """Start another sandbox for the test: ``serve(config)`` returns a client; all stop after the test."""
    with contextlib.ExitStack() as stack:
        yield lambda config: Sandbox(stack.enter_context(serve_in_thread(config)))
