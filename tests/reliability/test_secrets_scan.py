"""No secret in the repository: ``detect-secrets-hook`` over the tracked files finds nothing new against
``.secrets.baseline`` (the same scan as ``make lint``), and it does catch a leaked key."""

from __future__ import annotations

import json
import random
import shutil
import string
import subprocess
import sys
from pathlib import Path

import pytest

from python_scripts.settings import PROJECT_ROOT

BASELINE = PROJECT_ROOT / ".secrets.baseline"
HOOK = Path(sys.executable).with_name("detect-secrets-hook")


def scan(baseline: Path, files: list[str]) -> subprocess.CompletedProcess:
    """The hook as ``make lint`` runs it, but against a copy of the baseline: the hook rewrites the baseline it
    is given when line numbers moved, and a test must not change the checkout."""
    return subprocess.run(
        [str(HOOK), "--baseline", str(baseline), *files],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def baseline_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "secrets.baseline"
    shutil.copyfile(BASELINE, copy)
    return copy


def tracked_files() -> list[str]:
    if shutil.which("git") is None or not (PROJECT_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout
    return [name for name in listed.split("\0") if name and (PROJECT_ROOT / name).is_file()]


def test_baseline_holds_no_secret():
    """False positives are allowlisted inline (``pragma: allowlist secret``), never kept in the baseline: a
    baselined finding whose line moves makes the hook rewrite the baseline and fail ``make lint``."""
    baseline = json.loads(BASELINE.read_text())
    assert baseline["results"] == {}
    assert {"name": "AWSKeyDetector"} in baseline["plugins_used"]


def test_tracked_files_have_no_new_secret(baseline_copy: Path):
    files = tracked_files()
    assert "pyproject.toml" in files  # the scan covers the checkout
    result = scan(baseline_copy, files)
    assert result.returncode == 0, result.stdout + result.stderr


def fake_aws_key() -> str:
    """An access key id of the AWS shape, never written in this file (it would be flagged itself)."""
    return "AKIA" + "".join(random.Random(20250115).choices(string.ascii_uppercase, k=16))


def test_the_scan_catches_a_leaked_key(tmp_path: Path, baseline_copy: Path):
    leak = tmp_path / "settings_local.py"
    leak.write_text(f'AWS_ACCESS_KEY_ID = "{fake_aws_key()}"\n')
    result = scan(baseline_copy, [str(leak)])
    assert result.returncode == 1, result.stdout + result.stderr
    assert "AWS Access Key" in result.stdout
    assert f"Location:    {leak}:1" in result.stdout


def test_an_allowlisted_dummy_value_passes(tmp_path: Path, baseline_copy: Path):
    dummy = tmp_path / "settings_example.py"
    dummy.write_text(f'AWS_ACCESS_KEY_ID = "{fake_aws_key()}"  # pragma: allowlist secret\n')
    result = scan(baseline_copy, [str(dummy)])
    assert result.returncode == 0, result.stdout + result.stderr
