"""The source registry."""

from python_scripts.sources.base import *  # noqa: F403  (temporary while the sources split into modules)
from python_scripts.sources.base import SOURCES, bronze_table_name, bronze_table_parts, get_source, partition_slug  # noqa: F401
