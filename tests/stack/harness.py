"""The pieces of the Docker stack tier that tests and fixtures share: the copy of the project driven through
its Makefile and compose file, and the timings the tier reports."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import psycopg

from python_scripts.ops.airflow_rest import AirflowClient
from python_scripts.ops.stack import Compose, read_env_file
from python_scripts.settings import PROJECT_ROOT
from tests.support.pipeline import SandboxClient

HERE = Path(__file__).resolve().parent
ENGINE_DIR = PROJECT_ROOT / ".run" / "docker-engine"
PROJECT_NAME = "elt-stack-test"
AIRFLOW_IMAGE = "elt-stack-test-airflow:latest"
HOST_PORTS = ("AIRFLOW_HOST_PORT", "POSTGRES_HOST_PORT", "S3_API_HOST_PORT", "S3_CONSOLE_HOST_PORT",
              "SANDBOX_HOST_PORT", "FLOWER_HOST_PORT", "PROMETHEUS_HOST_PORT", "GRAFANA_HOST_PORT",
              "METABASE_HOST_PORT")  # fmt: skip
TIMINGS: dict[str, float] = {}


class timed:
    """``with timed("what"):`` records the block's wall time under ``what`` in the tier's timings."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        self.started = time.monotonic()

    def __exit__(self, *exc):
        TIMINGS[self.name] = time.monotonic() - self.started


def copy_working_tree(target: Path) -> Path:
    """The project's files as a fresh clone would have them, with the working tree's uncommitted edits."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = PROJECT_ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@dataclass
class Stack:
    """A copy of the project with its own .env, driven through its Makefile and compose file."""

    root: Path
    compose_command: str
    ports: dict[str, int] = field(default_factory=dict)

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in read_env_file(PROJECT_ROOT / ".env")}
        env.update(COMPOSE=self.compose_command, COMPOSE_PROJECT_NAME=PROJECT_NAME, AIRFLOW_IMAGE_NAME=AIRFLOW_IMAGE)
        env.pop("COMPOSE_PROFILES", None)
        return {**env, **extra}

    def make(self, *targets: str, timeout: float = 1500, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["make", "--no-print-directory", *targets],
            cwd=self.root,
            env=self.env(**extra),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def compose(self, *args: str, check: bool = True, **extra: str) -> subprocess.CompletedProcess:
        result = Compose(shlex.split(self.compose_command), project_dir=self.root, env=self.env(**extra)).run(
            *args, capture=True
        )
        if check:
            result.check_returncode()
        return result

    def services(self) -> list[dict]:
        return Compose(shlex.split(self.compose_command), project_dir=self.root, env=self.env()).services()

    @property
    def settings(self) -> dict[str, str]:
        return read_env_file(self.root / ".env")

    def url(self, port_name: str) -> str:
        return f"http://127.0.0.1:{self.ports[port_name]}"

    def connect(self, user: str = "postgres", password_setting: str = "POSTGRES_PASSWORD") -> psycopg.Connection:  # noqa: S107 - a setting's name
        return psycopg.connect(
            host="127.0.0.1",
            port=self.ports["POSTGRES_HOST_PORT"],
            user=user,
            password=self.settings[password_setting],
            dbname="warehouse",
            autocommit=True,
        )

    def s3(self):
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.url("S3_API_HOST_PORT"),
            aws_access_key_id=self.settings["S3_ACCESS_KEY_ID"],
            aws_secret_access_key=self.settings["S3_SECRET_ACCESS_KEY"],
            region_name="us-east-1",
        )

    def airflow(self) -> AirflowClient:
        return AirflowClient(self.url("AIRFLOW_HOST_PORT"), "admin", self.settings["AIRFLOW_ADMIN_PASSWORD"])

    def sandbox(self) -> SandboxClient:
        return SandboxClient(self.url("SANDBOX_HOST_PORT"))

    def volumes(self) -> list[str]:
        out = subprocess.run(
            ["docker", "volume", "ls", "--quiet", "--filter", f"label=com.docker.compose.project={PROJECT_NAME}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return out.split()
