"""The Docker stack's helper without an engine: which secrets the compose file requires, how missing ones are
written into .env, and which services a failed `up` names."""

from __future__ import annotations

import base64
import json
import re

from python_scripts.ops import stack
from python_scripts.ops.stack import (
    COMPOSE_FILE,
    missing_secrets,
    read_env_file,
    required_secrets,
    unhealthy,
    write_secrets,
)


def test_the_required_secrets_are_the_compose_files_own_and_comments_do_not_count():
    text = COMPOSE_FILE.read_text()
    names = required_secrets(text)
    assert {"POSTGRES_PASSWORD", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY", "AIRFLOW__CORE__FERNET_KEY"} <= set(names)
    assert "VAR" not in names  # from the header comment "`${VAR:?...}` makes compose refuse …"
    assert len(names) == len(set(names))
    assert required_secrets("# ${NOT_ME:?x}\nkey: ${ME:?set it} $${SHELL_ONLY:?no}") == ["ME"]


def test_missing_secrets_fills_only_empty_ones_and_keeps_the_rest(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("# mine\nPOSTGRES_PASSWORD=kept\nLOADER_PASSWORD=\nAIRFLOW_HOST_PORT=18080\n")
    missing = missing_secrets(env_file, environ={"BI_READER_PASSWORD": "from-the-environment"})
    assert "POSTGRES_PASSWORD" not in missing
    assert "BI_READER_PASSWORD" not in missing
    assert "LOADER_PASSWORD" in missing
    write_secrets(missing, env_file)
    values = read_env_file(env_file)
    assert values["POSTGRES_PASSWORD"] == "kept"  # pragma: allowlist secret
    assert values["AIRFLOW_HOST_PORT"] == "18080"
    assert env_file.read_text().count("LOADER_PASSWORD=") == 1  # filled where it stood
    assert missing_secrets(env_file, environ={"BI_READER_PASSWORD": "x"}) == []
    assert env_file.stat().st_mode & 0o777 == 0o600


def test_generated_values_are_safe_in_urls_json_and_shells_and_the_fernet_key_is_one():
    for name in ("POSTGRES_PASSWORD", "S3_ACCESS_KEY_ID", "AIRFLOW__API__SECRET_KEY"):
        value = stack.random_value(name)
        assert re.fullmatch(r"[A-Za-z0-9]{20,}", value), (name, value)
        assert json.loads(json.dumps(value)) == value
    assert stack.random_value("POSTGRES_PASSWORD") != stack.random_value("POSTGRES_PASSWORD")
    assert len(base64.urlsafe_b64decode(stack.random_value("AIRFLOW__CORE__FERNET_KEY"))) == 32


def test_a_failed_up_names_the_services_that_started_and_are_not_healthy():
    services = [
        {"Service": "postgres", "State": "running", "Health": "healthy"},
        {"Service": "sandbox", "State": "running", "Health": ""},
        {"Service": "lake-init", "State": "exited", "ExitCode": 0},
        {"Service": "airflow-init", "State": "exited", "ExitCode": 1},
        {"Service": "s3", "State": "restarting", "Health": "unhealthy"},
        {"Service": "airflow-apiserver", "State": "running", "Health": "starting"},
        {"Service": "airflow-scheduler", "State": "created", "Health": ""},
    ]
    assert [s["Service"] for s in unhealthy(services)] == ["airflow-init", "s3", "airflow-apiserver"]
