"""The documentation agrees with the code and with the README.

- The API reference (docs/api.rst) lists public names only, and every exported name.
- Every command the README gives is given by the documentation too, in the same words, and
  every ``make`` target either names exists.
- The changelog's newest version is the package's version.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import neev_provider

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
#: The packages users import from; their ``__all__`` is the public API.
PACKAGES = (
    "neev_provider",
    "neev_provider.client",
    "neev_provider.operators",
    "neev_provider.sensors",
    "neev_provider.triggers",
    "neev_provider.emulator",
)
#: How a command given to a user starts (after any VARIABLE=value prefixes).
COMMANDS = ("make", "pip", "python", "airflow", "pytest", ".venv/bin/")


def guides() -> str:
    """Every page of the documentation but the API reference, and the README."""
    pages = [p.read_text() for p in sorted(DOCS.glob("*.rst")) if p.name != "api.rst"]
    return "\n".join([*pages, README.read_text()])


def resolve(dotted: str) -> Any:
    """The object ``module.name`` (or ``module.Class.attribute``) names; ``None`` if none."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            target: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            target = getattr(target, name, None)
        return target
    return None


def documented(*, type_aliases: bool = False) -> dict[str, Any]:
    """The objects the API reference documents, by the dotted name it gives.

    :param type_aliases: also the ``py:type`` entries, written by hand so that annotations
        such as ``if_exists: IfExists`` link somewhere.
    """
    text = (DOCS / "api.rst").read_text()
    names = re.findall(r"^\.\. auto(?:class|exception|function|data)::\s+(\S+)", text, re.MULTILINE)
    if type_aliases:
        aliases = re.findall(r"^\.\. py:type:: (\w+)\n\s+:module: (\S+)", text, re.MULTILINE)
        names += [f"{module}.{name}" for name, module in aliases]
    return {name: resolve(name) for name in names}


def exported() -> dict[str, Any]:
    """Every name in a public package's ``__all__`` (dunders aside)."""
    names = {}
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in module.__all__:
            if not name.startswith("__"):
                names[f"{package}.{name}"] = getattr(module, name)
    return names


def referenced_in_guides() -> list[Any]:
    """The objects the guides name: by cross-reference, or in an import."""
    text = guides()
    names = re.findall(r":(?:class|func|exc|meth|data|attr):`~?(neev_provider[\w.]*)`", text)
    for module, imported in re.findall(r"from (neev_provider[\w.]*) import (\([^)]*\)|[^\n]+)", text):
        names += [f"{module}.{name}" for name in re.findall(r"\w+", imported)]
    return [obj for obj in map(resolve, names) if obj is not None]


def public_objects() -> list[Any]:
    """Exported and guide-named objects, and the neev_provider base classes of these classes."""
    objects = [*exported().values(), *referenced_in_guides()]
    bases = [
        base
        for obj in objects
        if isinstance(obj, type)
        for base in obj.__mro__[1:]
        if base.__module__.startswith("neev_provider.")
    ]
    return objects + bases


def test_the_api_reference_documents_public_names_only() -> None:
    public = public_objects()
    internal = [name for name, obj in documented().items() if not any(obj is p for p in public)]
    assert internal == [], "internal names in docs/api.rst: export them, or leave them out"


def test_the_api_reference_documents_every_exported_name() -> None:
    objects = list(documented(type_aliases=True).values())
    missing = [name for name, obj in exported().items() if not any(obj is o for o in objects)]
    assert missing == [], "exported but missing from docs/api.rst"


def test_every_object_in_the_api_reference_exists() -> None:
    assert [name for name, obj in documented(type_aliases=True).items() if obj is None] == []


def commands(text: str) -> list[str]:
    """The commands in code blocks and inline code, comments dropped and spaces collapsed."""
    blocks = re.findall(r"^```(?:bash|console|sh)\n(.*?)^```$", text, re.DOTALL | re.MULTILINE)
    candidates = [line for block in blocks for line in block.splitlines()]
    candidates += re.findall(r"(?<!`)`([^`\n]+)`(?!`)", text)
    found = []
    for line in candidates:
        command = " ".join(line.split("  #")[0].split())
        words = [w for w in command.split() if not re.fullmatch(r"[A-Z_]+=\S*", w)]
        if words and words[0].startswith(COMMANDS):
            found.append(command)
    return found


def test_every_command_in_the_readme_is_in_the_docs_too() -> None:
    docs = " ".join(" ".join(p.read_text().replace("$ ", " ").split()) for p in DOCS.glob("*.rst"))
    missing = [command for command in commands(README.read_text()) if command not in docs]
    assert missing == [], "commands the README gives and the docs do not"


def make_lines(text: str) -> dict[str, str]:
    """``make <target>  # what it does`` lines: the description of each target."""
    return dict(re.findall(r"^\s*(?:\$ )?make ([\w-]+)\s+# (.+)$", text, re.MULTILINE))


def test_the_readme_and_the_docs_describe_make_targets_alike() -> None:
    readme = make_lines(README.read_text())
    docs = make_lines((DOCS / "index.rst").read_text() + (DOCS / "development.rst").read_text())
    assert {"demo", "test"} <= readme.keys()
    assert {target: docs.get(target) for target in readme} == readme


def test_the_guides_name_every_make_target_and_only_those() -> None:
    makefile = (ROOT / "Makefile").read_text()
    phony = set(re.search(r"^\.PHONY: (.*)$", makefile, re.MULTILINE)[1].split())  # type: ignore[index]
    named = set(re.findall(r"(?:^\s*(?:\$ )?|`)make ([a-z][\w-]*)", guides(), re.MULTILINE))
    # The parts of `make test` are named through it; every target a user runs is in the guides.
    assert phony - named == {"lint", "typecheck", "unit"}
    assert named - phony == set()


def test_the_changelog_names_the_package_version() -> None:
    versions = re.findall(r"^## \[([^\]]+)\]", (ROOT / "CHANGELOG.md").read_text(), re.MULTILINE)
    assert versions[0] == neev_provider.__version__
