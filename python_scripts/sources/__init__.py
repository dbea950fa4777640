"""The source registry."""

from python_scripts.sources.base import *  # noqa: F403  (temporary while the sources split into modules)
from python_scripts.sources.base import SOURCES, get_source, partition_slug  # noqa: F401
