"""Mapping tables (fhirtrial/mappings/*.yaml) loaded, validated and precompiled once, https://hl7.org/fhir/R4/terminologies.html."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from ..canonical import CODESYSTEM_BASE, EXTENSION_BASE
from .errors import MappingTableError

SCALAR_TYPES = frozenset({"string", "markup", "boolean", "integer", "number", "date", "object", "list", "strings"})


@dataclass(frozen=True)
class Enum:
    name: str
    system: str
    labels: dict[str, str]


@dataclass(frozen=True)
class CodeTable:
    """CT.gov enum value -> code of one FHIR code system."""

    name: str
    field: str
    enum: Enum
    system: str
    map: dict[str, str]
    default: str | None


@dataclass(frozen=True)
class ExtensionSpec:
    """One table-driven extension: a single field, or parts (sub-extension name -> field)."""

    url: str
    name: str
    field: str | None
    parts: tuple[tuple[str, str], ...]
    python: bool


@dataclass
class Tables:
    fields: dict[str, str]  # CT.gov path -> type ("string", "enum:Status", ...)
    enums: dict[str, Enum]
    codes: dict[str, CodeTable]
    extensions: dict[str, list[ExtensionSpec]]  # resource type -> specs (table order)
    ext_urls: dict[str, str] = field(default_factory=dict)  # extension name -> url
    rows: list[dict[str, str]] = field(default_factory=list)  # fields.yaml documentation rows
    known_paths: frozenset[str] = frozenset()
    keys: dict[str, tuple[str, ...]] = field(default_factory=dict)  # known path -> its keys, split once

    def enum_of(self, path: str) -> Enum | None:
        kind = self.fields.get(path, "")
        if ":" not in kind:
            return None
        return self.enums[kind.split(":", 1)[1]]

    def ext(self, name: str) -> str:
        return self.ext_urls[name]


def _read(directory: Path, name: str) -> Any:
    path = directory / name
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except FileNotFoundError as exc:
        raise MappingTableError(f"{path}: mapping table missing") from exc
    except yaml.YAMLError as exc:
        raise MappingTableError(f"{path}: not valid YAML: {exc}") from exc


def _need(cond: bool, where: str, message: str) -> None:
    if not cond:
        raise MappingTableError(f"{where}: {message}")


def _load_model(directory: Path) -> tuple[dict[str, str], dict[str, Enum]]:
    model = _read(directory, "ctgov-model.yaml")
    _need(isinstance(model, dict) and "fields" in model and "enums" in model, "ctgov-model.yaml", "needs fields and enums")
    enums: dict[str, Enum] = {}
    for name, spec in model["enums"].items():
        where = f"ctgov-model.yaml enum {name}"
        _need(isinstance(spec, dict) and isinstance(spec.get("values"), dict) and spec["values"], where, "needs values")
        _need(isinstance(spec.get("system"), str), where, "needs a system slug")
        enums[name] = Enum(name, f"{CODESYSTEM_BASE}/{spec['system']}", {str(k): str(v) for k, v in spec["values"].items()})
    fields: dict[str, str] = {}
    for path, kind in model["fields"].items():
        kind = str(kind)
        base = kind.split(":", 1)
        if len(base) == 2:
            _need(base[0] in ("enum", "enums"), f"ctgov-model.yaml field {path}", f"unknown type {kind}")
            _need(base[1] in enums, f"ctgov-model.yaml field {path}", f"unknown enum {base[1]}")
        else:
            _need(kind in SCALAR_TYPES, f"ctgov-model.yaml field {path}", f"unknown type {kind}")
        fields[str(path)] = kind
    return fields, enums


def _load_codes(directory: Path, fields: dict[str, str], enums: dict[str, Enum]) -> dict[str, CodeTable]:
    targets = _read(directory, "fhir-codes.yaml")
    tables = _read(directory, "codes.yaml")
    out: dict[str, CodeTable] = {}
    for name, spec in tables.items():
        where = f"codes.yaml {name}"
        path = spec.get("field")
        _need(path in fields, where, f"names a CT.gov field that does not exist: {path!r}")
        enum_name = spec.get("enum") or fields[path].partition(":")[2]
        _need(enum_name in enums, where, f"field {path} is not an enum and no known enum is named")
        enum = enums[enum_name]
        target = targets.get(spec.get("target"))
        _need(isinstance(target, dict), where, f"unknown target code system {spec.get('target')!r}")
        valid = set(target["codes"])
        mapping: dict[str, str] = {}
        for key, code in (spec.get("map") or {}).items():
            for part in str(key).split("+"):
                _need(part in enum.labels, where, f"{part!r} is not a value of CT.gov enum {enum_name}")
            _need(code in valid, where, f"{code!r} is not a code of {target['system']}")
            mapping[str(key)] = str(code)
        if spec.get("complete"):
            missing = [v for v in enum.labels if v not in mapping]
            _need(not missing, where, f"required binding: CT.gov values without a code: {missing}")
        default = spec.get("default")
        _need(default is None or default in valid, where, f"default {default!r} is not a code of {target['system']}")
        out[name] = CodeTable(name, path, enum, target["system"], mapping, default)
    return out


def _load_extensions(directory: Path, fields: dict[str, str]) -> tuple[dict[str, list[ExtensionSpec]], dict[str, str]]:
    raw = _read(directory, "extensions.yaml")
    specs: dict[str, list[ExtensionSpec]] = {}
    urls: dict[str, str] = {}
    for rtype, entries in raw.items():
        for entry in entries:
            name = entry.get("name")
            where = f"extensions.yaml {rtype} {name}"
            _need(isinstance(name, str) and name.replace("-", "").isalnum(), where, "needs a kebab-case name")
            _need(name not in urls, where, "duplicate extension name")
            parts = tuple((str(k), str(v)) for k, v in (entry.get("parts") or {}).items())
            for _, path in parts + ((("", entry["field"]),) if entry.get("field") else ()):
                _need(path in fields, where, f"names a CT.gov field that does not exist: {path!r}")
            _need(bool(parts) != bool(entry.get("field")) or entry.get("python"), where, "needs exactly one of field/parts")
            urls[name] = f"{EXTENSION_BASE}/{name}"
            specs.setdefault(rtype, []).append(
                ExtensionSpec(urls[name], name, entry.get("field"), parts, bool(entry.get("python"))))
    return specs, urls


def _load_rows(directory: Path, fields: dict[str, str]) -> list[dict[str, str]]:
    rows = _read(directory, "fields.yaml")
    _need(isinstance(rows, list), "fields.yaml", "must be a list of {field, element, note}")
    for row in rows:
        where = f"fields.yaml {row.get('field')}"
        _need(row.get("field") in fields, where, "names a CT.gov field that does not exist")
        _need(isinstance(row.get("element"), str) and row["element"], where, "needs a FHIR element")
    return rows


def load_tables(directory: Path) -> Tables:
    """Read and validate every table; raises MappingTableError on the first inconsistency."""
    directory = Path(directory)
    fields, enums = _load_model(directory)
    codes = _load_codes(directory, fields, enums)
    extensions, urls = _load_extensions(directory, fields)
    rows = _load_rows(directory, fields)
    known: set[str] = set()
    for path in fields:
        parts = path.replace("[]", "").split(".")
        for i in range(1, len(parts) + 1):
            known.add(".".join(parts[:i]))
    keys = {path: tuple(path.split(".")) for path in known}
    return Tables(fields, enums, codes, extensions, urls, rows, frozenset(known), keys)


@lru_cache(maxsize=4)
def _cached(directory: str) -> Tables:
    return load_tables(Path(directory))


def get_tables() -> Tables:
    """Tables from ``get_settings().mappings_dir``, loaded once per directory."""
    from ..config import get_settings

    return _cached(str(get_settings().mappings_dir))
