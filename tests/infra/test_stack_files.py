"""The Docker stack and the Terraform code, checked without a Docker engine or a Terraform binary: the compose
file's invariants (and ``docker-compose config`` where installed), hadolint on the Dockerfile, the Terraform
resources and settings parsed with python-hcl2, and checkov from its own tools venv."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import hcl2
import pytest
import yaml
from hcl2 import SerializationOptions

from python_scripts.ops.stack import LOCKED_COMPOSE
from python_scripts.settings import PROJECT_ROOT

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yaml"
ENV_EXAMPLES = (PROJECT_ROOT / ".env.example", PROJECT_ROOT / "airflow" / "compose.env.example")
AIRFLOW_SERVICES = ("airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer", "airflow-worker")  # fmt: skip
# The services each optional profile adds to the stack.
PROFILES = {
    "celery": {"redis", "airflow-worker", "flower"},
    "monitoring": {"statsd-exporter", "postgres-exporter", "prometheus", "grafana"},
    "bi": {"metabase-db-init", "metabase", "metabase-init"},
}
ONE_SHOTS = {"airflow-init", "lake-init", "metabase-db-init", "metabase-init"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET_KEY|API_KEY|TOKEN|ACCESS_KEY")
VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")  # $${…} is for the shell, not compose


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def raw_compose() -> dict:
    """The file without YAML merge keys resolved, to see what each service takes from the common block."""
    return yaml.load(COMPOSE_FILE.read_text(), Loader=yaml.BaseLoader)  # noqa: S506 - strings only, no objects


def services(compose: dict) -> dict[str, dict]:
    return compose["services"]


def test_every_airflow_service_shares_the_common_block(compose):
    common = compose["x-airflow-common"]
    for name in AIRFLOW_SERVICES:
        service = services(compose)[name]
        assert service["image"] == common["image"], name
        for key, value in common["environment"].items():
            assert service["environment"][key] == value, (name, key)


def test_every_long_running_service_has_a_healthcheck_and_one_shots_gate_their_dependants(compose):
    one_shots = {name for name, s in services(compose).items() if s.get("restart") == "no"}
    assert one_shots == ONE_SHOTS
    for name, service in services(compose).items():
        if name not in one_shots:
            assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        for dependency, condition in (service.get("depends_on") or {}).items():
            wanted = "service_completed_successfully" if dependency in one_shots else "service_healthy"
            assert condition["condition"] == wanted, (name, dependency)


def test_optional_services_belong_to_their_profile(compose):
    in_profiles = {name: s["profiles"] for name, s in services(compose).items() if s.get("profiles")}
    assert in_profiles == {name: [profile] for profile, names in PROFILES.items() for name in names}


def _environment_items(compose: dict):
    for name, service in services(compose).items():
        environment = service.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(item.split("=", 1) for item in environment)
        for key, value in environment.items():
            yield name, key, "" if value is None else str(value)


def test_no_secret_is_inline(compose):
    checked = 0
    for service, key, value in _environment_items(compose):
        if SECRET_NAME.search(key) and not key.endswith("_FILE") and value:
            assert value.startswith("${"), f"{service}: {key} is set inline"
            assert value.endswith("}"), f"{service}: {key} is set inline"
            checked += 1
        if key.startswith("AIRFLOW_CONN_"):
            assert re.search(r'"password":\s*"\$\{', value), f"{service}: {key} carries an inline password"
    assert checked >= 5
    assert "admin:admin" not in COMPOSE_FILE.read_text()


def test_every_variable_the_stack_reads_is_documented():
    documented = set()
    for path in ENV_EXAMPLES:
        documented |= set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", path.read_text(), flags=re.MULTILINE))
    lines = [line for line in COMPOSE_FILE.read_text().splitlines() if not line.lstrip().startswith("#")]
    read = set(VARIABLE.findall("\n".join(lines)))
    assert read
    assert read - documented == set()


def test_lake_points_at_the_s3_service_through_the_aws_settings(compose):
    env = services(compose)["airflow-scheduler"]["environment"]
    assert env["LAKE_URL"].startswith("s3://")
    assert env["S3_ENDPOINT_URL"] == "http://s3:8333"
    s3 = services(compose)["s3"]
    assert s3["environment"]["AWS_ACCESS_KEY_ID"] == env["AWS_ACCESS_KEY_ID"]
    assert s3["environment"]["AWS_SECRET_ACCESS_KEY"] == env["AWS_SECRET_ACCESS_KEY"]


def test_every_image_is_pinned_to_a_release_and_none_is_gone_from_its_registry(compose):
    """MinIO's images left Docker Hub in September 2026. Every upstream image names a tag other than latest (a
    variable may override it); the project's own image is built by the stack."""
    own = compose["x-airflow-common"]["image"]
    for name, service in services(compose).items():
        image = service["image"]
        assert "minio/" not in image, name
        if image == own:
            continue
        default = re.fullmatch(r"\$\{[A-Z0-9_]+_IMAGE:-([^}]+)\}", image)
        assert default, f"{name}: {image} cannot be switched through a *_IMAGE variable"
        repository, _, tag = default.group(1).rpartition(":")
        assert repository, (name, image)
        assert tag not in {"", "latest"}, (name, image)


# Compose v2 from the project's lock (Linux x86_64): `config` needs no engine.
COMPOSE_V2 = LOCKED_COMPOSE if LOCKED_COMPOSE.exists() else None


@pytest.mark.skipif(COMPOSE_V2 is None, reason="no Compose v2 in .venv (make install)")
@pytest.mark.parametrize("profiles", [(), ("celery",), ("monitoring",), ("bi",), ("monitoring", "bi")], ids=str)
def test_docker_compose_renders_the_file(tmp_path, profiles):
    env_file = tmp_path / ".env"
    env_file.write_text(
        re.sub(r"^([A-Za-z_0-9]+)=$", r"\1=placeholder", ENV_EXAMPLES[1].read_text(), flags=re.MULTILINE)
    )
    command = [str(COMPOSE_V2), "--project-directory", str(PROJECT_ROOT), "--env-file", str(env_file),
               "-f", str(COMPOSE_FILE)]  # fmt: skip
    for profile in profiles:
        command += ["--profile", profile]
    result = subprocess.run([*command, "config"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    rendered = yaml.safe_load(result.stdout)["services"]
    expected = set().union(*(PROFILES[profile] for profile in profiles))
    assert expected <= set(rendered)
    for name in expected - ONE_SHOTS:
        assert rendered[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_hadolint_passes_on_the_dockerfile():
    hadolint = Path(shutil.which("hadolint", path=str(PROJECT_ROOT / ".venv" / "bin")) or "hadolint")
    result = subprocess.run(
        [str(hadolint), str(PROJECT_ROOT / "airflow" / "Dockerfile")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- Terraform ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def terraform() -> dict[str, dict]:
    """Every resource and data source of terraform/, by ``type.name``."""
    blocks: dict[str, dict] = {}
    options = SerializationOptions(strip_string_quotes=True)
    for path in sorted((PROJECT_ROOT / "terraform").glob("*.tf")):
        with path.open() as handle:
            parsed = hcl2.load(handle, serialization_options=options)
        for kind in ("resource", "data", "variable", "output"):
            for block in parsed.get(kind, []):
                for type_name, named in block.items():
                    if kind in ("variable", "output"):
                        blocks[f"{kind}.{type_name}"] = named
                        continue
                    prefix = "data." if kind == "data" else ""
                    for name, body in named.items():
                        blocks[f"{prefix}{type_name}.{name}"] = body
    return blocks


def test_terraform_declares_the_lake_bucket_and_its_protections(terraform):
    for address in (
        "aws_s3_bucket.lake",
        "aws_s3_bucket_versioning.lake",
        "aws_s3_bucket_server_side_encryption_configuration.lake",
        "aws_s3_bucket_public_access_block.lake",
        "aws_s3_bucket_ownership_controls.lake",
        "aws_s3_bucket_policy.lake",
        "aws_s3_bucket_lifecycle_configuration.lake",
        "aws_iam_policy.pipeline",
    ):
        assert address in terraform, address
    versioning = terraform["aws_s3_bucket_versioning.lake"]["versioning_configuration"][0]
    assert versioning["status"] == "Enabled"
    block = terraform["aws_s3_bucket_public_access_block.lake"]
    assert all(block[flag] is True for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls",
                                                "restrict_public_buckets"))  # fmt: skip
    ownership = terraform["aws_s3_bucket_ownership_controls.lake"]["rule"][0]
    assert ownership["object_ownership"] == "BucketOwnerEnforced"
    encryption = terraform["aws_s3_bucket_server_side_encryption_configuration.lake"]["rule"][0]
    assert "AES256" in encryption["apply_server_side_encryption_by_default"][0]["sse_algorithm"]


def test_terraform_lifecycle_tiers_raw_objects_and_expires_old_versions(terraform):
    rules = {rule["id"]: rule for rule in terraform["aws_s3_bucket_lifecycle_configuration.lake"]["rule"]}
    classes = [t["storage_class"] for t in rules["raw-tiering"]["transition"]]
    assert classes == ["STANDARD_IA", "GLACIER"]
    assert "noncurrent_version_expiration" in rules["expire-noncurrent-versions"]


def test_terraform_bucket_policy_denies_plain_http(terraform):
    statements = terraform["data.aws_iam_policy_document.lake_bucket"]["statement"]
    tls = [s for s in statements if s.get("effect") == "Deny"]
    assert any(c["variable"] == "aws:SecureTransport" and c["values"] == ["false"]
               for s in tls for c in s.get("condition", []))  # fmt: skip


def test_terraform_has_the_variables_and_outputs_users_set_and_read(terraform):
    for name in ("bucket_name", "region", "tags", "s3_endpoint", "kms_key_arn"):
        assert f"variable.{name}" in terraform
    for name in ("bucket_name", "bucket_arn", "lake_url"):
        assert f"output.{name}" in terraform


def test_checkov_finds_no_failed_check():
    checkov = PROJECT_ROOT / ".tools" / "iac" / "bin" / "checkov"
    assert checkov.exists(), "checkov is installed by `make test` (or `make iac-lint`) into .tools/iac"
    result = subprocess.run(
        [str(checkov), "--quiet", "--compact", "--skip-download", "-o", "json", "-d", "terraform",
         "--framework", "terraform"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    summary = yaml.safe_load(result.stdout)["summary"]
    assert summary["failed"] == 0
    assert summary["passed"] >= 30
