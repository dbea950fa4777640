"""The docs name only what exists: make targets, python -m modules and relative links; the README stays short."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_BYTES = 10_240

FENCED = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
INLINE = re.compile(r"`([^`\n]+)`")
MAKE = re.compile(r"(?<![\w./-])make\s+([A-Za-z][\w-]*)")
PYTHON_M = re.compile(r"\bpython(?:3(?:\.\d+)?)?\s+-m\s+([A-Za-z_][\w.]*)")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
TARGET = re.compile(r"^([A-Za-z0-9][\w.-]*)\s*:(?!=)", re.MULTILINE)


def code_of(text: str) -> str:
    """The fenced blocks and inline code spans of a Markdown text: where commands are written."""
    blocks = FENCED.findall(text)
    prose = FENCED.sub("", text)
    return "\n".join([*blocks, *INLINE.findall(prose)])


def mentions(pattern: re.Pattern[str]) -> list[tuple[str, str]]:
    return sorted(
        {(doc.relative_to(ROOT).as_posix(), name) for doc in DOCS for name in pattern.findall(code_of(doc.read_text()))}
    )


def makefile_targets() -> set[str]:
    return set(TARGET.findall((ROOT / "Makefile").read_text()))


def module_exists(module: str) -> bool:
    """A module of the repository is a file (or a package with __main__.py); anything else must be importable."""
    top = module.split(".")[0]
    if (ROOT / top).is_dir() or (ROOT / f"{top}.py").is_file():
        path = ROOT.joinpath(*module.split("."))
        return path.with_suffix(".py").is_file() or (path / "__main__.py").is_file()
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def test_docs_mention_commands():
    assert mentions(MAKE), "no make target found in the docs: the extraction is broken"
    assert mentions(PYTHON_M), "no python -m module found in the docs: the extraction is broken"


@pytest.mark.parametrize(("doc", "target"), mentions(MAKE))
def test_make_target_exists(doc: str, target: str):
    assert target in makefile_targets(), f"{doc} mentions `make {target}`, which the Makefile does not define"


@pytest.mark.parametrize(("doc", "module"), mentions(PYTHON_M))
def test_python_module_exists(doc: str, module: str):
    assert module_exists(module), f"{doc} mentions `python -m {module}`, which resolves to no module"


def test_readme_is_short():
    size = (ROOT / "README.md").stat().st_size
    assert size <= README_MAX_BYTES, f"README.md is {size} bytes; move detail into docs/ (limit {README_MAX_BYTES})"


def relative_links() -> list[tuple[str, str]]:
    links = set()
    for doc in DOCS:
        for target in LINK.findall(FENCED.sub("", doc.read_text())):
            path = target.split("#", 1)[0]
            if path and not re.match(r"^[a-z][a-z0-9+.-]*:", path):
                links.add((doc.relative_to(ROOT).as_posix(), path))
    return sorted(links)


@pytest.mark.parametrize(("doc", "target"), relative_links())
def test_relative_link_exists(doc: str, target: str):
    assert (ROOT / doc).parent.joinpath(target).exists(), f"{doc} links to {target}, which does not exist"
