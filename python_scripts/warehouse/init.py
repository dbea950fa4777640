"""Apply ``sql/init`` (roles, databases, schemas, audit tables) with psql, then create the bronze table of
every registered source; safe to run again.

``python -m python_scripts.warehouse.init [--warehouse-db NAME] [--airflow-db NAME]``
"""

from __future__ import annotations

import argparse
import os
import subprocess

from python_scripts.ingest.bronze import create_bronze_tables
from python_scripts.settings import PROJECT_ROOT, Settings, load_or_exit

SQL_INIT_DIR = PROJECT_ROOT / "sql" / "init"


def apply_sql_init(settings: Settings, warehouse_db: str | None = None, airflow_db: str | None = None) -> None:
    server = settings.postgres
    env = {**os.environ, "PGPASSWORD": server.password, "PGCONNECT_TIMEOUT": "10"}
    variables = {
        "warehouse_db": warehouse_db or settings.warehouse_db,
        "airflow_db": airflow_db or settings.airflow_db,
    }
    for name in ("loader", "transformer", "bi_reader"):
        password = getattr(settings, f"{name}_password")
        if password:
            variables[f"{name}_password"] = password.get_secret_value()
    for script in sorted(SQL_INIT_DIR.glob("*.sql")):
        command = ["psql", "-X", "-q", "-h", server.host, "-p", str(server.port), "-U", server.user, "-d", "postgres"]
        for name, value in variables.items():
            command += ["-v", f"{name}={value}"]
        result = subprocess.run([*command, "-f", str(script)], env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{script.name} failed against {server.describe('postgres')}:\n{result.stderr}")
    create_bronze_tables(settings.replace(warehouse_db=variables["warehouse_db"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse-db", help="warehouse database name (default: WAREHOUSE_DB)")
    parser.add_argument("--airflow-db", help="Airflow metadata database name (default: AIRFLOW_DB)")
    args = parser.parse_args(argv)
    settings = load_or_exit()
    apply_sql_init(settings, args.warehouse_db, args.airflow_db)
    print(
        f"initialised {args.warehouse_db or settings.warehouse_db} and {args.airflow_db or settings.airflow_db} "
        f"on {settings.postgres.describe('postgres')}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
