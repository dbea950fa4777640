"""Extract, validate, land and load code of the ELT platform (no Airflow imports)."""
