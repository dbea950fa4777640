"""The shared fixtures live in tests/support: the test warehouse and settings (``fixtures``) and the end-to-end
stack of sandbox, Airflow metadata database and dbt (``pipeline``), started lazily by the tests that use them."""

pytest_plugins = ["tests.support.fixtures", "tests.support.pipeline"]
