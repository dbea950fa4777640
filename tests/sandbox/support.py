"""What the per-source sandbox tests share: the configured instant and config, a client, schema checks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jsonschema
import orjson
import requests

from python_scripts.sandbox import FakeStoreConfig, SandboxConfig

NOW = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)
CONFIG = SandboxConfig(fakestore=FakeStoreConfig(seed=42, carts=200), now=NOW)


class Sandbox:
    """A client for one sandbox: source requests and the ``/__sandbox`` controls."""

    def __init__(self, url: str) -> None:
        self.url = url

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(self.url + path, params=params, timeout=30)

    def control(self, name: str, body: Any) -> requests.Response:
        return requests.post(f"{self.url}/__sandbox/{name}", json=body, timeout=5)

    def clear(self, name: str) -> None:
        requests.delete(f"{self.url}/__sandbox/{name}", timeout=5).raise_for_status()

    def set_clock(self, now: str | None) -> dict[str, Any]:
        response = self.control("clock", {"now": now})
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        for name in ("overrides", "faults", "requests", "clock", "quotas"):
            self.clear(name)


_VALIDATORS: dict[bytes, jsonschema.Draft202012Validator] = {}


def validate(instance: Any, schema: dict[str, Any]) -> None:
    """Raise when ``instance`` does not match ``schema`` (JSON Schema 2020-12; each schema checked once)."""
    key = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
    validator = _VALIDATORS.get(key)
    if validator is None:
        jsonschema.Draft202012Validator.check_schema(schema)
        validator = _VALIDATORS[key] = jsonschema.Draft202012Validator(schema)
    validator.validate(instance)
