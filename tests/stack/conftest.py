"""The Docker stack tier: a Docker engine (the running one, or Debian's started here), stand-in images for the
upstream ones (no registry here; tests/stack/README.md), and the project's own docker-compose.yaml and Makefile
run unchanged from a copy of the working tree, as a user runs them: `make secrets`, `make up`, `make down`,
`make clean`. The copy has its own compose project name and free host ports, so a developer's own stack and
services are left alone; everything the tier creates (containers, networks, volumes, images, the engine it
started) is removed at the end."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections.abc import Iterator

import pytest

from python_scripts.ops.airflow_rest import free_port
from python_scripts.ops.stack import compose_command as compose_command_of_the_stack
from tests.stack import stand_ins
from tests.stack.harness import (
    AIRFLOW_IMAGE,
    ENGINE_DIR,
    HERE,
    HOST_PORTS,
    TIMINGS,
    Stack,
    copy_working_tree,
    timed,
)
from tests.support.airflow_ui import ARTIFACTS


def pytest_terminal_summary(terminalreporter):
    if not TIMINGS:
        return
    terminalreporter.section("Docker stack timings")
    for name, seconds in TIMINGS.items():
        terminalreporter.write_line(f"{name:55} {seconds:7.1f} s")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "stack_timings.json").write_text(json.dumps(TIMINGS, indent=2) + "\n")


@pytest.fixture(scope="session")
def engine() -> Iterator[None]:
    result = subprocess.run(
        ["bash", str(HERE / "engine.sh"), "ensure", str(ENGINE_DIR)], capture_output=True, text=True, check=False
    )
    if result.returncode == 3:
        pytest.skip(f"no Docker engine can run here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    started = result.stdout.strip() == "started"
    yield
    if started:
        # An engine of the tier's own: its build cache goes too (on a developer's engine Docker keeps it in check).
        subprocess.run(["docker", "builder", "prune", "--all", "--force"], capture_output=True, check=False)
        subprocess.run(["bash", str(HERE / "engine.sh"), "stop", str(ENGINE_DIR)], check=False)


@pytest.fixture(scope="session")
def compose_command(engine) -> str:
    """The compose command `make up` runs (python_scripts.ops.stack): COMPOSE, the plugin, or the locked binary."""
    command = compose_command_of_the_stack()
    version = subprocess.run([*command, "version"], capture_output=True, text=True, check=False)
    assert version.returncode == 0, f"no Compose v2 ({shlex.join(command)}): install the plugin or make install"
    return shlex.join(command)


def dangling_images() -> set[str]:
    out = subprocess.run(
        ["docker", "images", "--quiet", "--filter", "dangling=true"], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


@pytest.fixture(scope="session")
def stand_in_images(engine) -> Iterator[None]:
    """Builds the stand-ins that are missing (none with STACK_IMAGES=upstream: Compose pulls the real ones);
    removes, at the end, the images this session built."""
    if os.environ.get("STACK_IMAGES") == "upstream":
        yield
        subprocess.run(["docker", "rmi", "--force", AIRFLOW_IMAGE], capture_output=True, check=False)
        return
    present = {s.tag for s in stand_ins.STAND_INS if stand_ins.image_exists(s.tag)}
    base_present = stand_ins.image_exists(stand_ins.BASE_IMAGE)
    dangling = dangling_images()

    def remove_what_was_built() -> None:
        built = [s.tag for s in stand_ins.STAND_INS if s.tag not in present]
        if not base_present:
            built.append(stand_ins.BASE_IMAGE)
        subprocess.run(["docker", "rmi", "--force", AIRFLOW_IMAGE, *built], capture_output=True, check=False)
        leftovers = dangling_images() - dangling
        if leftovers:
            subprocess.run(["docker", "rmi", "--force", *leftovers], capture_output=True, check=False)

    try:
        with timed("stand-in images, built from Debian and PyPI"):
            stand_ins.build()
        yield
    finally:
        remove_what_was_built()


@pytest.fixture(scope="session")
def stack(stand_in_images, compose_command, tmp_path_factory) -> Iterator[Stack]:
    """The copy of the project, with free host ports in its .env; `make clean` at the end, whatever happened."""
    root = copy_working_tree(tmp_path_factory.mktemp("stack"))
    ports = {name: free_port() for name in HOST_PORTS}
    settings = {**ports, "TASK_RETRY_DELAY": 5}  # the fault test waits for one retry
    (root / ".env").write_text("".join(f"{name}={value}\n" for name, value in settings.items()))
    stack = Stack(root, compose_command, ports)
    try:
        yield stack
    finally:
        stack.make("clean", timeout=300)
