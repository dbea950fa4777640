"""Metabase's first-run setup through its API: the admin user, then the warehouse as ``bi_reader``.

Run once by the compose service ``metabase-init`` (profile ``bi``) in a plain Python image, so it uses the
standard library only. Safe to run again: with Metabase already set up it logs in as the admin and only
adds the warehouse connection if it is missing, so a run that failed halfway is completed by the next one.

Environment: ``METABASE_URL``, ``METABASE_ADMIN_EMAIL``, ``METABASE_ADMIN_PASSWORD``, ``WAREHOUSE_HOST``,
``WAREHOUSE_PORT``, ``WAREHOUSE_DB``, ``BI_READER_PASSWORD``.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from collections.abc import Mapping
from typing import Any

WAREHOUSE_NAME = "Warehouse (marts)"
BI_ROLE = "bi_reader"
TIMEOUT = 60


def _call(base_url: str, method: str, path: str, body: dict | None = None, session: str | None = None) -> Any:
    """One JSON request to the Metabase API; an HTTP error status raises ``urllib.error.HTTPError``."""
    headers = {"Content-Type": "application/json"}
    if session:
        headers["X-Metabase-Session"] = session
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base_url + path, data=data, headers=headers, method=method)  # noqa: S310
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 - URL from the environment
        payload = response.read()
    return json.loads(payload) if payload else {}


def setup_body(token: str, email: str, password: str) -> dict:
    """The body of ``POST /api/setup``: the first admin user and the site's name."""
    return {
        "token": token,
        "user": {"email": email, "password": password, "first_name": "ELT", "last_name": "Admin"},
        "prefs": {"site_name": "ELT platform", "allow_tracking": False},
    }


def warehouse_body(env: Mapping[str, str]) -> dict:
    """The body of ``POST /api/database``: the warehouse, read as bi_reader (it sees the marts schema only)."""
    return {
        "engine": "postgres",
        "name": WAREHOUSE_NAME,
        "details": {
            "host": env["WAREHOUSE_HOST"],
            "port": int(env.get("WAREHOUSE_PORT") or 5432),
            "dbname": env["WAREHOUSE_DB"],
            "user": BI_ROLE,
            "password": env["BI_READER_PASSWORD"],
            "ssl": False,
        },
        "is_full_sync": True,
    }


def configure(env: Mapping[str, str]) -> str:
    """Set Metabase up from ``env``; return what was done."""
    base_url = env["METABASE_URL"].rstrip("/")
    email, password = env["METABASE_ADMIN_EMAIL"], env["METABASE_ADMIN_PASSWORD"]
    properties = _call(base_url, "GET", "/api/session/properties")
    token = properties.get("setup-token")
    if token and not properties.get("has-user-setup"):
        session = _call(base_url, "POST", "/api/setup", setup_body(token, email, password))["id"]
        done = f"created the admin {email}"
    else:
        session = _call(base_url, "POST", "/api/session", {"username": email, "password": password})["id"]
        done = "already set up"
    databases = _call(base_url, "GET", "/api/database", session=session)
    listed = databases.get("data", []) if isinstance(databases, dict) else databases
    if any(database.get("name") == WAREHOUSE_NAME for database in listed):
        return f"{done}; {WAREHOUSE_NAME} is connected"
    _call(base_url, "POST", "/api/database", warehouse_body(env), session=session)
    return f"{done}; connected {WAREHOUSE_NAME} as {BI_ROLE}"


def main() -> int:
    print(f"metabase-init: {configure(os.environ)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
