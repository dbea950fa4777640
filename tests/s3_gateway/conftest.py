"""A real S3 gateway for the tests of this folder: Ceph's radosgw on a one-node in-memory cluster.

``radosgw.sh`` (beside this file) installs the Debian packages where missing and allowed, bootstraps the
cluster in a temporary directory and starts it on a free port of 127.0.0.1; the session stops it at the end.
Where the gateway cannot be installed or started the tests are skipped, saying why and how to install it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shlex
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from python_scripts.sandbox import FakeStoreConfig, serve_in_thread

SCRIPT = Path(__file__).with_name("radosgw.sh")
PACKAGES = "radosgw ceph-mon ceph-osd"
INSTALL_HINT = (
    f"install the gateway with `sudo apt-get install --no-install-recommends {PACKAGES}` "
    "(or `make test-tools` as root) and run the tests again"
)
# Each stage's own limit (mon, osd, rgw) unless set in the environment, well inside the module's pytest timeout.
STAGE_TIMEOUTS = {"S3GW_MON_TIMEOUT": "20", "S3GW_OSD_TIMEOUT": "30", "S3GW_RGW_TIMEOUT": "60"}
INSTALL_TIMEOUT = 120
START_TIMEOUT = 120
DAEMON_NAMES = {"ceph-mon", "ceph-osd", "radosgw"}
# The sandbox's Fake Store: a few thousand carts, so a day holds about a hundred.
FAKESTORE = FakeStoreConfig(seed=42, carts=3000)


@dataclass(frozen=True)
class Gateway:
    directory: Path
    endpoint: str
    access_key: str
    secret_key: str

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _run(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        env={**STAGE_TIMEOUTS, **os.environ},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )


def _child_subreaper(enabled: bool) -> None:
    """Make this process the reaper of its orphaned descendants (Linux), while the gateway starts.

    ``radosgw.sh start`` leaves the daemons running when it exits; they would be adopted by PID 1, and where
    that init reaps nothing (some containers) every stopped daemon would stay behind as a zombie. Adopted by
    pytest instead, they are reaped in :func:`_reap_daemons` once stopped.
    """
    if sys.platform != "linux":
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(36, int(enabled), 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def _reap_daemons(timeout: float = 5) -> None:
    """Reap our exited (zombie) children that are Ceph daemons; no other child is touched."""
    deadline = time.monotonic() + timeout
    while True:
        pending = False
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                name, rest = stat.read_text().split(" (", 1)[1].rsplit(")", 1)
                state, ppid = rest.split()[:2]
            except (OSError, ValueError, IndexError):
                continue
            if int(ppid) != os.getpid() or name not in DAEMON_NAMES:
                continue
            if state == "Z":
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(int(stat.parent.name), 0)
            else:
                pending = True
        if not pending or time.monotonic() > deadline:
            return
        time.sleep(0.1)


def _read_env(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        if value:
            values[name] = shlex.split(value)[0]
    return values


@pytest.fixture(scope="session")
def radosgw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """The running gateway: installed (apt, as root) where missing, started now, stopped after the session."""
    if sys.platform != "linux":
        pytest.skip("the radosgw S3 gateway tests need Linux (Debian's Ceph packages)")
    try:
        installed = _run("install", timeout=INSTALL_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.skip(f"installing {PACKAGES} took over {INSTALL_TIMEOUT} s; {INSTALL_HINT}")
    if installed.returncode != 0:
        said = [line.removeprefix("radosgw.sh: ") for line in installed.stdout.splitlines() if "radosgw.sh: " in line]
        why = " ".join(line.strip() for line in said[-3:]) or _tail(installed.stdout, 5)
        pytest.skip(f"the radosgw S3 gateway is not available: {why} (as root, `make test-tools` installs it)")

    directory = tmp_path_factory.mktemp("radosgw")
    port = _free_port()
    try:
        _child_subreaper(True)
        try:
            started = _run("start", str(directory), str(port), timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.skip(f"the radosgw S3 gateway did not start within {START_TIMEOUT} s (logs in {directory / 'log'})")
        finally:
            _child_subreaper(False)
        if started.returncode != 0:
            problem = _tail(started.stdout)
            pytest.skip(f"the radosgw S3 gateway did not start (logs in {directory / 'log'}):\n{problem}")
        env = _read_env(directory / "env")
        yield Gateway(directory, env["S3_ENDPOINT_URL"], env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"])
    finally:
        stopped = _run("stop", str(directory), timeout=60)
        _reap_daemons()
        if stopped.returncode != 0:
            print(f"radosgw.sh stop failed:\n{_tail(stopped.stdout)}", file=sys.stderr)


@pytest.fixture(scope="session")
def fakestore_url() -> Iterator[str]:
    """The project's sandbox API serving the Fake Store data set, in a thread of this process."""
    with serve_in_thread(FAKESTORE) as url:
        yield url


@pytest.fixture
def lake_bucket() -> str:
    """A fresh bucket name for each test (the test creates the bucket)."""
    return f"lake-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def test_env(test_env, monkeypatch, radosgw: Gateway, fakestore_url: str, lake_bucket: str) -> dict[str, str]:
    """The shared test environment (tests/conftest.py), with the lake on radosgw and Fake Store on the sandbox.

    Overriding ``test_env`` here makes the ``settings`` and ``warehouse`` fixtures see these variables too.
    """
    values = {
        "LAKE_URL": f"s3://{lake_bucket}/lake",
        "LAKE_COMPRESSION": "gzip",
        "S3_ENDPOINT_URL": radosgw.endpoint,
        "AWS_ACCESS_KEY_ID": radosgw.access_key,
        "AWS_SECRET_ACCESS_KEY": radosgw.secret_key,
        "AWS_DEFAULT_REGION": "us-east-1",
        "FAKESTORE_BASE_URL": fakestore_url,
        "FAKESTORE_FULL_REFRESH": "false",
        # Loopback never goes through a proxy of the machine.
        "NO_PROXY": ",".join(filter(None, ("127.0.0.1,localhost", os.environ.get("NO_PROXY")))),
    }
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return {**test_env, **values}
