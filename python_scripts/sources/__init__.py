"""The source registry: every module of this package that declares a ``SOURCE`` (see ``base``)."""

from __future__ import annotations

import importlib
import pkgutil

from python_scripts.sources.base import (
    Call,
    Dag,
    Entity,
    Source,
    SourceSettings,
    bronze_table_name,
    bronze_table_parts,
    partition_slug,
)

__all__ = [
    "SOURCES",
    "Call",
    "Dag",
    "Entity",
    "Source",
    "SourceSettings",
    "bronze_table_name",
    "bronze_table_parts",
    "get_source",
    "partition_slug",
]


def _discover() -> dict[str, Source]:
    sources: dict[str, Source] = {}
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module_info.name == "base" or module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        source = getattr(module, "SOURCE", None)
        if not isinstance(source, Source):
            raise TypeError(f"{module.__name__} declares no SOURCE = Source(...)")
        if source.name in sources:
            raise TypeError(f"two modules declare the source {source.name!r}")
        sources[source.name] = source
    return sources


SOURCES: dict[str, Source] = _discover()


def get_source(name: str) -> Source:
    try:
        return SOURCES[name]
    except KeyError:
        raise KeyError(f"unknown source {name!r}; known: {sorted(SOURCES)}") from None
