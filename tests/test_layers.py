"""The package's layers point one way, read from every module's imports (ast), lazy and TYPE_CHECKING ones too.

GUIDE.md: cli -> rest/ingest/export -> store -> search/validation/mapping (criteria/ beside mapping at the bottom);
a lower layer never imports a higher one, and modules share through a lower module, not through private names.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "fhirtrial"

# Top-level parts of the package, highest first. A module may import from its own part or from a lower tier; a
# part of the same tier or of a higher one is refused.
TIERS: list[tuple[str, ...]] = [
    ("cli",),
    ("rest",),  # the HTTP API; its app mounts the pages and runs export jobs
    ("web", "loading"),  # the pages (on the search and the store); --load-examples (through the import)
    ("ingest", "export"),
    ("store",),
    ("conformance",),  # the definitions the server serves, derived from search, validation and mapping
    ("search", "validation", "mapping"),
    ("criteria",),  # beside mapping at the bottom: used by mapping and by $match
    ("__init__", "config", "resources", "canonical", "places", "jsonutil"),
    ("errors",),
]
TIER = {part: rank for rank, parts in enumerate(TIERS) for part in parts}

# Generators run by hand (python -m ...) to derive shipped files: nothing in the package imports them.
SCRIPTS = frozenset({"fhirtrial.search.generate", "fhirtrial.validation.generate", "fhirtrial.ingest.synth_build"})

# (importer, imported) pairs allowed against the rules, each with its reason. None is needed today.
ALLOWED: dict[tuple[str, str], str] = {}


def module_name(path: Path) -> str:
    parts = ("fhirtrial", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part_of(module: str) -> str:
    """The top-level part of a module: ``fhirtrial.store.search.query`` -> ``store``; the package itself ->
    ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def is_module(name: str) -> bool:
    path = PACKAGE.joinpath(*name.split(".")[1:])
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports(module: str, source: str, is_package: bool = False) -> list[tuple[int, str, str | None, str]]:
    """(line, imported module, imported name or None, local name) of every fhirtrial import in ``source``."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str, str | None, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name, None, a.asname or a.name) for a in node.names
                      if a.name.split(".")[0] == "fhirtrial"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "fhirtrial":
                continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                local = a.asname or a.name
                found.append((node.lineno, sub, None, local) if is_module(sub) else (node.lineno, target, a.name, local))
    return found


def private_attributes(module: str, source: str, is_package: bool = False) -> list[tuple[int, str, str]]:
    """(line, module, name) of every ``alias._name`` read where ``alias`` is an imported fhirtrial module."""
    aliases = {local: target for _line, target, name, local in imports(module, source, is_package)
               if name is None and "." not in local}
    return [(node.lineno, aliases[node.value.id], node.attr) for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
            and node.attr.startswith("_") and not node.attr.startswith("__")]


def violations(module: str, source: str, is_package: bool = False) -> list[str]:
    own = part_of(module)
    out: list[str] = []
    for line, target, name, _local in imports(module, source, is_package):
        what = f"{module}:{line} imports {target}" + (f".{name}" if name else "")
        if (module, target) in ALLOWED:
            continue
        if target in SCRIPTS and module != target:
            out.append(f"{what}: a generator script, not runtime code")
        theirs = part_of(target)
        if theirs != own and TIER[theirs] <= TIER[own]:
            out.append(f"{what}: {theirs} is not below {own}")
        if name is not None and name.startswith("_") and not name.startswith("__") and target != module:
            out.append(f"{what}: a private name of another module")
    out += [f"{module}:{line} reads {target}.{name}: a private name of another module"
            for line, target, name in private_attributes(module, source, is_package)]
    return out


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_part_of_the_package_has_a_tier() -> None:
    parts = {part_of(module_name(p)) for p in MODULES}
    assert parts - set(TIER) == set(), "place each new part of the package in TIERS"
    assert set(TIER) - parts == set(), "TIERS names a part that no longer exists"


def test_layers_point_one_way_and_share_no_private_names() -> None:
    found = [v for p in MODULES for v in violations(module_name(p), p.read_text(encoding="utf-8"),
                                                     p.name == "__init__.py")]
    assert found == [], "\n".join(found)


# The checker itself: each of these is a import the rules refuse (the first three stood in the tree once).
@pytest.mark.parametrize("module, source, words", [
    ("fhirtrial.store.bulk", "if TYPE_CHECKING:\n    from ..ingest.prepare import PreparedStudy\n",
     "ingest is not below store"),
    ("fhirtrial.store.related", "def f():\n    from ..search.extract import _RESOLVED_PREFIX\n",
     "a private name of another module"),
    ("fhirtrial.search.extract", "from fhirtrial.search.generate import split_union\n", "a generator script"),
    ("fhirtrial.loading", "from .rest.transaction import run\n", "rest is not below loading"),
    ("fhirtrial.ingest.pipeline", "from ..export import jobs\n", "export is not below ingest"),
    ("fhirtrial.export.ndjson", "from ..store import scan\nscan._r\n", "reads fhirtrial.store.scan._r"),
    ("fhirtrial.mapping.study", "import fhirtrial.store.sql as sql\n", "store is not below mapping"),
])
def test_the_checker_refuses(module: str, source: str, words: str) -> None:
    assert any(words in v for v in violations(module, source)), violations(module, source)


def test_the_checker_accepts_downward_imports() -> None:
    source = ("from ..search.index import ResourceIndex\nfrom . import cursor as cursors\nfrom ..errors import Issue\n"
              "from .. import __version__\ncursors.encode([])\n")
    assert violations("fhirtrial.store.history", source) == []
