"""The sandbox API for the sources whose base URL is unset: started on a free port, the sources pointed at it."""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from python_scripts.ops.airflow_cli import VENV_BIN
from python_scripts.settings import PROJECT_ROOT
from python_scripts.sources import SOURCES, Source

# The base-URL variables of the sources the sandbox serves.
SANDBOX_URL_VARIABLES = [source.base_url_variable for source in SOURCES.values() if source.sandboxed]


@contextmanager
def sandbox(env: dict[str, str], args: tuple[str, ...] = ()) -> Iterator[str]:
    """Start the sandbox API on a free port in a child process; yield its base URL; stop it on exit."""
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "url"
        process = subprocess.Popen(
            [
                str(VENV_BIN / "python"),
                "-m",
                "python_scripts.sandbox",
                "--port",
                "0",
                "--port-file",
                str(port_file),
                *args,
            ],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while not port_file.exists():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the sandbox did not start (exit code {process.poll()})")
                time.sleep(0.1)
            yield port_file.read_text().strip()
        finally:
            process.terminate()
            process.wait(timeout=10)


@contextmanager
def sources_or_sandbox(env: dict[str, str]) -> Iterator[dict[str, str]]:
    """Point every source whose base URL is unset at one sandbox; leave configured sources alone."""
    missing = sources_without_url(env)
    if not missing:
        yield env
        return
    with sandbox(env) as url:
        print(f"sandbox API at {url} serving: {', '.join(source.name for source in missing)}")
        yield {**env, **sandbox_variables(env, missing, url)}


def sources_without_url(env: dict[str, str]) -> list[Source]:
    """The sources the sandbox serves whose base URL ``env`` leaves unset."""
    return [source for source in SOURCES.values() if source.sandboxed and not env.get(source.base_url_variable)]


def sandbox_variables(env: dict[str, str], sources: list[Source], url: str) -> dict[str, str]:
    """The variables that point ``sources`` at the sandbox at ``url``: base URLs, and a key where one is needed
    and unset (the sandbox accepts any; the real APIs need real ones)."""
    variables = {source.base_url_variable: url for source in sources}
    for source in sources:
        if source.api_key_variable and not env.get(source.api_key_variable):
            variables[source.api_key_variable] = "sandbox-key"  # pragma: allowlist secret
    return variables


def set_sandbox_clock(env: dict[str, str], now: str | None) -> None:
    """Fix the time the sandbox serves "current" weather and the latest prices for, if a sandbox is used."""
    import requests

    urls = {env[name] for name in SANDBOX_URL_VARIABLES if env.get(name)}
    for url in urls:
        try:
            requests.post(f"{url}/__sandbox/clock", json={"now": now}, timeout=5).raise_for_status()
        except requests.RequestException:
            continue  # a real API, which has no clock to set
