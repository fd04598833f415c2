"""The shipped vocabularies (MeSH subset, fhirtrial's criteria-concept CodeSystem), loaded and validated once.

https://hl7.org/fhir/R4/terminologies-systems.html (MeSH: http://terminology.hl7.org/CodeSystem/MSH,
ICD-10-CM: http://hl7.org/fhir/sid/icd-10-cm); the files are described in fhirtrial/mappings/vocabularies/README.md.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
import yaml

from ..canonical import CODESYSTEM_BASE

MESH = "http://terminology.hl7.org/CodeSystem/MSH"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
OWN = f"{CODESYSTEM_BASE}/criteria-concept"
CATEGORIES = frozenset({"condition", "therapy", "procedure", "substance", "finding"})

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 10x faster on the MeSH file
MESH_FILE = "mesh.yaml"
# fhirtrial's CodeSystem is a definition resource the server serves, so it ships in the package beside the others.
OWN_CODESYSTEM = Path(__file__).resolve().parent / "definitions" / "CodeSystem-criteria-concept.json"

_UI = re.compile(r"D(\d{6}|\d{9})")
_TREE = re.compile(r"[A-Z]\d{2}(\.\d{3})*")
_ICD = re.compile(r"[A-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?")
_DESCRIPTOR_KEYS = frozenset({"ui", "name", "trees", "category", "terms", "acronyms", "ambiguous", "icd10cm", "actions",
                              "match"})
# The first MeSH UI NLM issued in the 9-digit form (MeSH 2016); every earlier UI has 6 digits.
FIRST_LONG_UI = 66388


class VocabularyError(ValueError):
    """A vocabulary file in fhirtrial/mappings/vocabularies/ that is malformed or inconsistent; names the file and entry."""


@dataclass(frozen=True, slots=True)
class Concept:
    """One concept of a shipped vocabulary with what matching, hierarchy and display need."""

    system: str
    code: str
    display: str
    category: str
    terms: tuple[str, ...]  # matched after normalisation (normalize.key)
    acronyms: tuple[str, ...]  # matched case-sensitively
    trees: tuple[str, ...] = ()  # MeSH tree numbers
    icd10cm: tuple[tuple[str, str], ...] = ()  # ICD-10-CM codes of the same meaning, with their descriptions
    broader: tuple[tuple[str, str], ...] = ()  # (system, code) this concept is a kind of, besides its tree
    match: bool = True  # False: kept for the hierarchy only, never emitted from text
    ambiguous: tuple[str, ...] = ()  # acronyms emitted only when a term of the concept is in the same text


@dataclass(frozen=True)
class Vocabulary:
    concepts: tuple[Concept, ...]
    by_code: dict[tuple[str, str], Concept]
    by_tree: dict[str, Concept]
    version: str
    blockers: tuple[str, ...] = ()  # phrases that code nothing and so keep a shorter term inside them from matching


def mesh_ui(code: str) -> str:
    """A MeSH descriptor UI in its published form: the registry pads D001943 to D000001943; NLM does not."""
    m = re.fullmatch(r"D0*(\d+)", code.strip())
    if not m:
        return code
    n = int(m.group(1))
    return f"D{n:06d}" if n < FIRST_LONG_UI else f"D{n:09d}"


def _fail(path: Path, where: str, problem: str) -> VocabularyError:
    return VocabularyError(f"{path.name}: {where}: {problem}")


def _strings(path: Path, where: str, value: Any, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _fail(path, where, f"{field} must be a list of non-empty strings")
    return tuple(value)


def _descriptor(path: Path, raw: Any, index: int) -> Concept:
    where = f"descriptors[{index}]"
    if not isinstance(raw, dict):
        raise _fail(path, where, "not a mapping")
    if unknown := set(raw) - _DESCRIPTOR_KEYS:
        raise _fail(path, where, f"unknown keys {sorted(unknown)}")
    ui = raw.get("ui")
    if not isinstance(ui, str) or not _UI.fullmatch(ui) or mesh_ui(ui) != ui:
        raise _fail(path, where, f"ui {ui!r} is not a MeSH descriptor UI in its published form")
    where = f"{where} ({ui})"
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _fail(path, where, "name is missing")
    trees = _strings(path, where, raw.get("trees"), "trees")
    if not trees or not all(_TREE.fullmatch(t) for t in trees):
        raise _fail(path, where, f"trees {list(trees)} are not MeSH tree numbers")
    category = raw.get("category")
    if category not in CATEGORIES:
        raise _fail(path, where, f"category {category!r} is not one of {sorted(CATEGORIES)}")
    match = raw.get("match", True)
    if not isinstance(match, bool):
        raise _fail(path, where, "match must be true or false")
    terms = _strings(path, where, raw.get("terms"), "terms")
    acronyms = _strings(path, where, raw.get("acronyms"), "acronyms")
    if match and not terms:
        raise _fail(path, where, "a matched descriptor needs terms")
    if bad := [a for a in acronyms if not any(ch.isupper() for ch in a)]:
        raise _fail(path, where, f"acronyms {bad} have no capital letter (use terms for case-insensitive ones)")
    ambiguous = _strings(path, where, raw.get("ambiguous"), "ambiguous")
    if not set(ambiguous) <= set(acronyms):
        raise _fail(path, where, "ambiguous acronyms must be listed under acronyms too")
    icd = raw.get("icd10cm") or {}
    if not isinstance(icd, dict) or not all(isinstance(c, str) and _ICD.fullmatch(c) and isinstance(d, str) and d
                                            for c, d in icd.items()):
        raise _fail(path, where, "icd10cm must map ICD-10-CM codes (with their dot) to their descriptions")
    actions = _strings(path, where, raw.get("actions"), "actions")
    return Concept(MESH, ui, name, category, terms if match else (name,), acronyms, trees, tuple(icd.items()),
                   tuple((MESH, a) for a in actions), match, ambiguous)


def load_mesh(path: Path) -> tuple[list[Concept], str, tuple[str, ...]]:
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise VocabularyError(f"{path.name}: cannot be read: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("descriptors"), list):
        raise _fail(path, "top level", "a mapping with a descriptors list is expected")
    if unknown := set(doc) - {"version", "descriptors", "blockers"}:
        raise _fail(path, "top level", f"unknown keys {sorted(unknown)}")
    blockers = _strings(path, "blockers", doc.get("blockers"), "blockers")
    return [_descriptor(path, raw, i) for i, raw in enumerate(doc["descriptors"])], str(doc.get("version", "")), blockers


def _own_concept(path: Path, raw: Any, index: int) -> Concept:
    where = f"concept[{index}]"
    if not isinstance(raw, dict) or not isinstance(raw.get("code"), str) or not isinstance(raw.get("display"), str):
        raise _fail(path, where, "code and display are required")
    where = f"{where} ({raw['code']})"
    if "designation" not in raw and "property" not in raw:
        # read by the criteria coder's own rules (pregnancy, sex...), not matched from text
        return Concept(OWN, raw["code"], raw["display"], "finding", (raw["display"],), (), match=False)
    props: dict[str, list[Any]] = {}
    for prop in raw.get("property", []):
        value = next((v for k, v in prop.items() if k.startswith("value")), None)
        props.setdefault(prop.get("code", ""), []).append(value)
    if unknown := set(props) - {"category", "parent", "broader-mesh", "icd10cm", "acronym"}:
        raise _fail(path, where, f"unknown properties {sorted(unknown)}")
    category = (props.get("category") or [None])[0]
    if category not in CATEGORIES:
        raise _fail(path, where, f"category {category!r} is not one of {sorted(CATEGORIES)}")
    terms = tuple(d.get("value", "") for d in raw.get("designation", []))
    if not terms or not all(terms):
        raise _fail(path, where, "designations (the matched phrases) are required")
    broader = [(OWN, p) for p in props.get("parent", [])]
    for coding in props.get("broader-mesh", []):
        if not isinstance(coding, dict) or coding.get("system") != MESH:
            raise _fail(path, where, "broader-mesh must be a MeSH Coding")
        broader.append((MESH, coding.get("code", "")))
    icd = []
    for coding in props.get("icd10cm", []):
        if not isinstance(coding, dict) or coding.get("system") != ICD10CM or not _ICD.fullmatch(coding.get("code", "")):
            raise _fail(path, where, "icd10cm must be an ICD-10-CM Coding")
        icd.append((coding["code"], coding.get("display", "")))
    return Concept(OWN, raw["code"], raw["display"], category, terms, tuple(props.get("acronym", [])),
                   icd10cm=tuple(icd), broader=tuple(broader))


def load_own(path: Path) -> list[Concept]:
    try:
        doc = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise VocabularyError(f"{path.name}: cannot be read: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("resourceType") != "CodeSystem" or doc.get("url") != OWN:
        raise _fail(path, "top level", f"a CodeSystem with url {OWN} is expected")
    return [_own_concept(path, raw, i) for i, raw in enumerate(doc.get("concept", []))]


def load_vocabulary(directory: Path, codesystem: Path = OWN_CODESYSTEM) -> Vocabulary:
    """The MeSH subset of ``directory`` and fhirtrial's CodeSystem, cross-checked: unique codes and trees,
    references that resolve."""
    mesh, version, blockers = load_mesh(directory / MESH_FILE)
    own = load_own(codesystem)
    concepts = tuple(mesh + own)
    by_code: dict[tuple[str, str], Concept] = {}
    by_tree: dict[str, Concept] = {}
    for c in concepts:
        if (c.system, c.code) in by_code:
            raise VocabularyError(f"{c.code} is defined twice")
        by_code[(c.system, c.code)] = c
        for tree in c.trees:
            if tree in by_tree:
                raise VocabularyError(f"tree number {tree} belongs to {by_tree[tree].code} and {c.code}")
            by_tree[tree] = c
    for c in concepts:
        if missing := [code for system, code in c.broader if (system, code) not in by_code]:
            raise VocabularyError(f"{c.code} names unknown broader concepts {missing}")
    return Vocabulary(concepts, by_code, by_tree, version, blockers)


@lru_cache(maxsize=4)
def vocabulary_at(directory: str) -> Vocabulary:
    """The vocabulary of a folder, loaded once (the hierarchy and the matcher share it)."""
    return load_vocabulary(Path(directory))


_last: tuple[object, str] | None = None


def vocabulary_dir() -> str:
    """The configured vocabulary folder: ``get_settings().mappings_dir``/vocabularies (looked up once per Settings:
    the coder asks for it several times per criterion)."""
    global _last
    from ..config import get_settings

    settings = get_settings()
    if _last is None or _last[0] is not settings:
        _last = (settings, _folder(settings.mappings_dir))
    return _last[1]


@lru_cache(maxsize=16)
def _folder(mappings_dir: Path) -> str:
    return str(Path(mappings_dir) / "vocabularies")


def get_vocabulary() -> Vocabulary:
    """The configured vocabulary, loaded once per directory."""
    return vocabulary_at(vocabulary_dir())
