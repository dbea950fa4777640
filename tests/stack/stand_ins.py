"""Stand-in images for the upstream images of the Docker stack, built locally from a Debian rootfs and PyPI.

The stack tier runs where no registry can be pulled from: each upstream image that the compose file and the
project's Dockerfile name is replaced by a local image tagged with the upstream name, honouring the parts of
the upstream contract that the stack relies on (tests/stack/README.md says which, and where it is documented).

    python -m tests.stack.stand_ins build     # build every stand-in (skips those already present)
    python -m tests.stack.stand_ins remove    # remove them and the base rootfs image
"""

from __future__ import annotations

import argparse
import glob
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parent.parent
DOCKERFILES = HERE / "stand-ins"
BASE_IMAGE = "elt-stand-in/debian:bookworm"
# Certificates that a TLS-intercepting proxy on the build machine needs trusted (update-ca-certificates' input).
LOCAL_CA_CERTIFICATES = "/usr/local/share/ca-certificates/*.crt"


def compose_default(variable: str) -> str:
    """The default image of ``${VARIABLE:-image}`` in docker-compose.yaml: the tag a stand-in must carry."""
    match = re.search(r"\$\{" + variable + r":-([^}]+)\}", (PROJECT_ROOT / "docker-compose.yaml").read_text())
    if not match:
        raise LookupError(f"docker-compose.yaml reads no {variable}")
    return match.group(1)


def airflow_base_image() -> str:
    """The FROM of airflow/Dockerfile's final stage, from its ARG defaults."""
    dockerfile = (PROJECT_ROOT / "airflow" / "Dockerfile").read_text()
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", dockerfile, flags=re.MULTILINE))
    return f"apache/airflow:{args['AIRFLOW_VERSION']}-python{args['PYTHON_VERSION']}"


def airflow_version() -> str:
    return airflow_base_image().split(":")[1].split("-")[0]


@dataclass(frozen=True)
class StandIn:
    folder: str  # under tests/stack/stand-ins
    tag: str  # the upstream image name it stands in for
    base: str = BASE_IMAGE
    build_args: tuple[str, ...] = ()


# In build order: each image may start FROM one before it. The tags are the ones the stack names.
STAND_INS = (
    StandIn("python", compose_default("PYTHON_IMAGE")),
    StandIn(
        "airflow",
        airflow_base_image(),
        base=compose_default("PYTHON_IMAGE"),
        build_args=(f"AIRFLOW_VERSION={airflow_version()}",),
    ),
    StandIn("postgres", compose_default("POSTGRES_IMAGE")),
    StandIn("redis", compose_default("REDIS_IMAGE")),
    StandIn("seaweedfs", compose_default("S3_IMAGE")),
    StandIn("prometheus", compose_default("PROMETHEUS_IMAGE")),
    StandIn("postgres-exporter", compose_default("POSTGRES_EXPORTER_IMAGE")),
)


def docker(*args: str, capture: bool = False, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], check=check, text=True, capture_output=capture)


def image_exists(tag: str) -> bool:
    return docker("image", "inspect", tag, capture=True, check=False).returncode == 0


def build_base(workdir: Path) -> None:
    """A minimal Debian bookworm rootfs from the machine's apt sources, imported as BASE_IMAGE."""
    if image_exists(BASE_IMAGE):
        return
    if not shutil.which("mmdebstrap"):
        raise RuntimeError("mmdebstrap is missing: apt-get install mmdebstrap (tests/stack/engine.sh installs it)")
    rootfs = workdir / "rootfs.tar"
    subprocess.run(
        ["mmdebstrap", "--quiet", "--variant=minbase", "--include=ca-certificates", "bookworm", str(rootfs)],
        check=True,
    )
    docker("import", str(rootfs), BASE_IMAGE)
    rootfs.unlink()


def constraints() -> str:
    """The versions of the project's lock: the offline equivalent of Airflow's constraint file."""
    uv = PROJECT_ROOT / ".tools" / "bin" / "uv"
    command = [str(uv) if uv.exists() else "uv", "export", "--frozen", "--no-dev", "--no-emit-project"]
    command += ["--no-hashes", "--format", "requirements-txt"]
    return subprocess.run(command, cwd=PROJECT_ROOT, check=True, text=True, capture_output=True).stdout


def build_context(stand_in: StandIn, workdir: Path) -> Path:
    context = workdir / stand_in.folder
    shutil.copytree(DOCKERFILES / stand_in.folder, context)
    certificates = context / "ca-certificates"
    certificates.mkdir(exist_ok=True)
    for certificate in glob.glob(LOCAL_CA_CERTIFICATES):
        shutil.copy(certificate, certificates)
    if stand_in.folder == "airflow":
        (context / "constraints.txt").write_text(constraints())
    return context


def build(force: bool = False) -> dict[str, float]:
    """Build every stand-in that is missing (all of them with force); returns seconds per image built."""
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="stand-ins-") as tmp:
        workdir = Path(tmp)
        started = time.monotonic()
        if force or not image_exists(BASE_IMAGE):
            build_base(workdir)
            timings[BASE_IMAGE] = time.monotonic() - started
        for stand_in in STAND_INS:
            if not force and image_exists(stand_in.tag):
                continue
            started = time.monotonic()
            context = build_context(stand_in, workdir)
            args = [arg for value in (f"BASE={stand_in.base}", *stand_in.build_args) for arg in ("--build-arg", value)]
            result = docker(
                "build", "--quiet", "--force-rm", *args, "-t", stand_in.tag, str(context), capture=True, check=False
            )
            if result.returncode != 0:
                raise RuntimeError(f"building the stand-in {stand_in.tag} failed:\n{result.stderr[-4000:]}")
            timings[stand_in.tag] = time.monotonic() - started
    return timings


def remove() -> None:
    tags = [stand_in.tag for stand_in in reversed(STAND_INS)] + [BASE_IMAGE]
    present = [tag for tag in tags if image_exists(tag)]
    if present:
        docker("rmi", "--force", *present, capture=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("build", "remove"))
    parser.add_argument("--force", action="store_true", help="rebuild images that exist already")
    args = parser.parse_args(argv)
    if args.action == "remove":
        remove()
        return 0
    for tag, seconds in build(force=args.force).items():
        print(f"{tag:45} {seconds:6.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
