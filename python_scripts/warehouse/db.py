"""Connections to the warehouse, with clear errors and the least-privileged role for each job."""

from __future__ import annotations

import psycopg
from psycopg import sql

from python_scripts.settings import Settings


class WarehouseUnavailable(RuntimeError):
    """The warehouse could not be reached; the message names server and database, never the password."""


def connect(settings: Settings, role: str | None = None, application_name: str = "elt-platform"):
    """An autocommit connection to the warehouse, switched to ``role`` when given.

    Autocommit keeps audit writes durable on their own; multi-statement work uses ``conn.transaction()``.
    """
    target = settings.postgres.describe(settings.warehouse_db)
    try:
        conn = psycopg.connect(
            settings.warehouse_url, autocommit=True, connect_timeout=10, application_name=application_name
        )
    except psycopg.OperationalError as exc:
        detail = " ".join(str(exc).split())
        raise WarehouseUnavailable(f"cannot connect to the warehouse {target}: {detail}") from None
    if role:
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
    return conn
