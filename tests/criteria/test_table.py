"""The curated measurement table is data validated at load; units go through the UCUM library."""
from __future__ import annotations

from pathlib import Path

import pytest

from fhirtrial.config import get_settings
from fhirtrial.criteria.table import CriteriaTableError, get_measures, load_measures, valid_loinc
from fhirtrial.criteria.units import convert, to_ucum

GOOD = """
measurements:
  - {id: anc, name: absolute neutrophil count, loinc: ["751-8"], units: ["10*3/uL"], synonyms: [neutrophils]}
performance:
  - {id: ecog, name: ECOG, loinc: ["89247-1"], min: 0, max: 5, synonyms: [ECOG]}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "measurements.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_table_loads_and_every_code_is_checked() -> None:
    table = get_measures()
    assert {"anc", "platelets", "hemoglobin", "creatinine", "egfr", "ast", "alt", "hba1c", "lvef", "qtc", "bmi",
            "ecog", "karnofsky", "lansky", "nyha"} <= set(table.measures)
    for measure in table.measures.values():
        assert all(valid_loinc(code) for code in measure.loinc)


def test_loinc_check_digit() -> None:
    assert valid_loinc("751-8") and valid_loinc("26499-4") and valid_loinc("2160-0")
    assert not valid_loinc("751-7") and not valid_loinc("7518") and not valid_loinc("abc-1")


@pytest.mark.parametrize("change, message", [
    (('"751-8"', '"751-9"'), "not a LOINC code"),
    (('"10*3/uL"', '"cells per fortnight"'), "not a UCUM unit"),
    (("synonyms: [ECOG]", "synonyms: [neutrophils]"), "also names"),
    (("min: 0, max: 5", "min: 5, max: 0"), "min < max"),
    (("id: ecog", "id: anc"), "duplicate id"),
])
def test_bad_tables_are_refused_at_load(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(CriteriaTableError, match=message):
        load_measures(path)
    assert load_measures(write(tmp_path, GOOD)).measures["anc"].units == ("10*3/uL",)


def test_table_lives_in_the_mappings_folder() -> None:
    assert (get_settings().mappings_dir / "criteria" / "measurements.yaml").is_file()


@pytest.mark.parametrize("written, ucum", [
    ("/µL", "/uL"), ("x10^9/L", "10*9/L"), ("×10⁹/l", "10*9/L"), ("G/L", "10*9/L"), ("g/L", "g/L"),
    ("K/uL", "10*3/uL"), ("cells/mm³", "/mm3"), ("gm/dl", "g/dL"), ("µmol/L", "umol/L"),
    ("ml / min / 1.73 m2", "mL/min/{1.73_m2}"), ("mmHg", "mm[Hg]"), ("IU/L", "[IU]/L"), ("copies/mL", "{copies}/mL"),
    ("msec", "ms"), ("lbs", "[lb_av]"), ("screening", None), ("", None),
])
def test_units_written_in_criteria(written: str, ucum: str | None) -> None:
    assert to_ucum(written) == ucum


def test_conversion_uses_the_ucum_library() -> None:
    assert convert(1500, "/uL", "10*9/L") == pytest.approx(1.5)
    assert convert(100000, "/mm3", "10*3/uL") == pytest.approx(100)
    assert convert(2, "mg/dL", "g/L") == pytest.approx(0.02)
    assert convert(1, "mg/dL", "umol/L") is None  # mass to moles needs the analyte's molar mass: not guessed
