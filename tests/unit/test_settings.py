"""The settings: validated up front with one line per bad variable, read from ``.env`` by a dotenv parser, and
declared in one place that `.env.example`, the compose environment and the docs' reference follow."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from python_scripts.settings import (
    PROJECT_ROOT,
    SettingsError,
    declared_settings,
    get_settings,
    read_env_file,
    reference_table,
    secret_values,
)
from python_scripts.sources import SOURCES


def problems(environ: dict[str, str]) -> list[str]:
    with pytest.raises(SettingsError) as raised:
        get_settings(environ)
    return str(raised.value).splitlines()[1:]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"HTTP_MAX_RETRIES": "abc"}, "HTTP_MAX_RETRIES='abc': input should be a valid integer"),
        ({"HTTP_READ_TIMEOUT": "-5"}, "HTTP_READ_TIMEOUT='-5': input should be greater than 0"),
        ({"LAKE_COMPRESSION": "zip"}, "LAKE_COMPRESSION='zip': input should be 'gzip' or 'none'"),
        ({"WEATHER_CITIES": ""}, "WEATHER_CITIES='': "),
        ({"WEATHER_CITIES": " ; "}, "WEATHER_CITIES=' ; ': "),
        ({"STOCK_TICKERS": "IBM,MSFT,ibm"}, "STOCK_TICKERS='IBM,MSFT,ibm': lists IBM, ibm more than once"),
        ({"POSTGRES_URL": "mysql://x"}, "POSTGRES_URL='mysql://x': must start with postgresql://, not mysql"),
        ({"DBT_TASK_GRANULARITY": "model"}, "DBT_TASK_GRANULARITY='model': input should be 'node' or 'group'"),
        ({"ORDERS_BATCH_SIZE": "0"}, "ORDERS_BATCH_SIZE='0': input should be greater than 0"),
    ],
)
def test_a_wrong_value_is_one_line_naming_the_variable_the_value_and_what_is_allowed(environ, expected):
    (line,) = problems(environ)
    assert line.strip().startswith(expected)


def test_every_problem_is_reported_at_once():
    lines = problems({"HTTP_MAX_RETRIES": "abc", "LAKE_COMPRESSION": "zip", "STOCK_TICKERS": ""})
    assert sorted(line.split("=")[0].strip() for line in lines) == [
        "HTTP_MAX_RETRIES",
        "LAKE_COMPRESSION",
        "STOCK_TICKERS",
    ]


def test_a_password_is_never_echoed_in_an_error():
    (line,) = problems({"POSTGRES_URL": "mysql://admin:hunter2-secret@db:3306/"})
    assert "hunter2-secret" not in line
    assert line.strip().startswith("POSTGRES_URL='mysql://admin:***@db:3306/'")


def test_empty_values_mean_unset_and_lists_are_trimmed():
    settings = get_settings({"HTTP_MAX_RETRIES": " ", "WEATHER_CITIES": " London,GB ; Paris,FR ;"})
    assert settings.http_max_retries == 5
    assert settings.source("openweather").cities == ("London,GB", "Paris,FR")


def test_every_source_secret_is_a_known_secret():
    """A keyed source's key is redacted from alerts because its settings type it as a secret."""
    keys = {source.api_key_variable: f"key-of-{source.name}" for source in SOURCES.values() if source.api_key_param}
    assert keys, "no keyed source to check"
    assert set(keys.values()) <= set(secret_values(get_settings(keys)))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".env"
    path.write_text(text)
    return path


def test_dotenv_syntax_quotes_comments_and_export(tmp_path: Path):
    path = write(tmp_path, "# a comment\nexport LAKE_COMPRESSION=none\nWAREHOUSE_DB=\"dw\"  # trailing\n\nX='a b'\n")
    assert read_env_file(path) == {"LAKE_COMPRESSION": "none", "WAREHOUSE_DB": "dw", "X": "a b"}


def test_a_malformed_line_is_an_error_naming_the_line(tmp_path: Path):
    path = write(tmp_path, "WAREHOUSE_DB=dw\nFAKESTORE_BASE_URL http://x\n")
    with pytest.raises(SettingsError, match=r"line 2: not NAME=value: 'FAKESTORE_BASE_URL http://x'"):
        read_env_file(path)


def test_the_process_environment_wins_over_env_file_and_the_check_says_so(tmp_path: Path):
    path = write(tmp_path, "WAREHOUSE_DB=from_file\nHTTP_MAX_RETRIES=abc\n")
    env = {"PATH": "/usr/bin:/bin", "ENV_FILE": str(path), "HTTP_MAX_RETRIES": "3"}
    command = [sys.executable, "-m", "python_scripts.settings", "--export"]
    result = subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "export WAREHOUSE_DB=from_file" in result.stdout
    assert "export HTTP_MAX_RETRIES=3" in result.stdout

    env.pop("HTTP_MAX_RETRIES")
    result = subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines()[-1].strip().startswith("HTTP_MAX_RETRIES='abc'")


# --- the declarations, and the files that must follow them ---------------------------------------------


def declared_names() -> set[str]:
    return {item.env for item in declared_settings()}


def test_env_example_lists_every_declared_setting():
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (PROJECT_ROOT / ".env.example").read_text(), re.M))
    assert declared_names() - listed == set()


def test_the_docs_reference_is_the_declarations():
    text = (PROJECT_ROOT / "docs" / "operations.md").read_text()
    table = re.search(r"<!-- settings-reference:start -->\n(.*?)\n<!-- settings-reference:end -->", text, re.S)
    assert table, "docs/operations.md has no settings reference"
    assert table.group(1) == reference_table(), "regenerate it: python -m python_scripts.settings --reference"


def test_the_compose_environment_passes_every_source_setting():
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yaml").read_text())
    environment = set(compose["x-airflow-env"])
    source_settings = {item.env for item in declared_settings() if item.owner != "platform"}
    assert source_settings - environment == set()
    assert {"POSTGRES_URL", "LAKE_URL", "TASK_RETRY_DELAY"} <= environment


def test_a_lake_that_cannot_be_written_stops_the_check(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env = {"PATH": "/usr/bin:/bin", "ENV_FILE": str(tmp_path / "none"), "LAKE_URL": str(blocker / "lake")}
    command = [sys.executable, "-m", "python_scripts.settings", "--check"]
    result = subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert f"LAKE_URL='{blocker / 'lake'}': cannot write to" in result.stderr

    env["LAKE_URL"] = "s3://bucket/lake"
    env["AWS_SHARED_CREDENTIALS_FILE"] = env["AWS_CONFIG_FILE"] = str(tmp_path / "none")
    result = subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "LAKE_URL='s3://bucket/lake': no S3 credentials" in result.stderr

    env["LAKE_URL"] = str(tmp_path / "lake")
    result = subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_the_ingest_cli_refuses_an_interval_that_ends_before_it_starts():
    command = [sys.executable, "-m", "python_scripts.ingest.pipeline", "fakestore", "carts"]
    command += ["--start", "2025-01-15", "--end", "2025-01-14"]
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "--end 2025-01-14T00:00:00 is not after --start 2025-01-15T00:00:00" in result.stderr
