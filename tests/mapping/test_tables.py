"""Mapping tables are validated when loaded: a table naming a field, enum value or code that does not exist fails."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fhirtrial.config import get_settings
from fhirtrial.mapping import MappingTableError, load_tables

SOURCE = get_settings().mappings_dir


@pytest.fixture()
def tables_dir(tmp_path: Path) -> Path:
    target = tmp_path / "mappings"
    shutil.copytree(SOURCE, target)
    return target


def edit(directory: Path, name: str, old: str, new: str) -> None:
    path = directory / name
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_shipped_tables_load() -> None:
    tables = load_tables(SOURCE)
    assert tables.codes["overallStatus"].map["COMPLETED"] == "completed"


@pytest.mark.parametrize(("name", "old", "new", "message"), [
    ("codes.yaml", "field: protocolSection.statusModule.overallStatus", "field: protocolSection.statusModule.status",
     "does not exist"),
    ("codes.yaml", "RECRUITING: active", "RECRUITNG: active", "not a value of CT.gov enum"),
    ("codes.yaml", "COMPLETED: completed", "COMPLETED: finished", "not a code of"),
    ("codes.yaml", "    WITHHELD: in-review\n", "", "required binding"),
    ("codes.yaml", "PHASE1+PHASE2: phase-1-phase-2", "PHASE1+PHASE5: phase-1-phase-2", "not a value"),
    ("codes.yaml", "default: active", "default: unknown", "default"),
    ("extensions.yaml", "field: protocolSection.identificationModule.acronym",
     "field: protocolSection.identificationModule.acronyms", "does not exist"),
    ("fields.yaml", "field: protocolSection.conditionsModule.keywords", "field: protocolSection.keywords",
     "does not exist"),
    ("ctgov-model.yaml", "enum:Sex", "enum:Gender", "unknown enum"),
    ("fhir-codes.yaml", "  codes: [n-a,", "  codes: [", "not a code of"),
])
def test_bad_table_raises_at_load(tables_dir: Path, name: str, old: str, new: str, message: str) -> None:
    edit(tables_dir, name, old, new)
    with pytest.raises(MappingTableError, match=message):
        load_tables(tables_dir)


def test_missing_or_broken_file(tables_dir: Path) -> None:
    (tables_dir / "codes.yaml").write_text("a: [", encoding="utf-8")
    with pytest.raises(MappingTableError, match="not valid YAML"):
        load_tables(tables_dir)
    (tables_dir / "codes.yaml").unlink()
    with pytest.raises(MappingTableError, match="missing"):
        load_tables(tables_dir)


def test_readme_documents_every_row_and_extension() -> None:
    readme = (SOURCE / "README.md").read_text(encoding="utf-8")
    tables = load_tables(SOURCE)
    for row in tables.rows:
        assert f"`{row['field']}`" in readme, row["field"]
    for name in tables.ext_urls:
        assert f"`{name}`" in readme, name


def test_code_paths_used_in_python_exist_in_the_model() -> None:
    """Field paths written in the mapping code must be fields of the data model too."""
    import re

    fields = load_tables(SOURCE).known_paths
    package = Path(__file__).resolve().parents[2] / "fhirtrial" / "mapping"
    for source in package.glob("*.py"):
        for path in re.findall(r'"((?:protocolSection|derivedSection|documentSection)\.[A-Za-z.\[\]]+)"',
                               source.read_text(encoding="utf-8")):
            assert path.replace("[]", "").rstrip(".") in fields, (source.name, path)
