"""The shipped vocabularies load, are validated at load, and agree with simple-icd-10-cm and both FHIR validators."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import simple_icd_10_cm as icd

from fhirtrial.config import REPO_ROOT
from fhirtrial.criteria.context import ContextEngine
from fhirtrial.criteria.matcher import Matcher
from fhirtrial.criteria.vocabulary import ICD10CM, MESH, OWN, OWN_CODESYSTEM, VocabularyError, load_vocabulary, \
    mesh_ui
from tests.support.validators import node_available, validate_with_node

VOCAB = REPO_ROOT / "fhirtrial" / "mappings" / "vocabularies"


@pytest.fixture(scope="module")
def vocabulary():
    return load_vocabulary(VOCAB)


def test_size_and_systems(vocabulary) -> None:
    mesh = [c for c in vocabulary.concepts if c.system == MESH]
    own = [c for c in vocabulary.concepts if c.system == OWN]
    assert len(mesh) >= 1000 and sum(c.match for c in mesh) >= 700
    assert sum(c.match for c in own) >= 10
    categories = {c.category for c in vocabulary.concepts if c.match}
    assert categories == {"condition", "therapy", "procedure", "finding"} | (categories & {"substance"})


def test_mesh_ui_published_form() -> None:
    assert mesh_ui("D000001943") == "D001943"  # the registry pads 6-digit UIs
    assert mesh_ui("D001943") == "D001943"
    assert mesh_ui("D000086382") == "D000086382"  # a 9-digit UI (2016 on) stays
    assert mesh_ui("D000066331") == "D066331" and mesh_ui("D000066388") == "D000066388"  # NLM's switch-over
    assert mesh_ui("C582435") == "C582435"  # a supplementary concept is left alone


def test_icd_codes_exist_with_their_descriptions(vocabulary) -> None:
    pairs = [(c.code, code, display) for c in vocabulary.concepts for code, display in c.icd10cm]
    assert len(pairs) > 300
    wrong = [(owner, code, display) for owner, code, display in pairs
             if not icd.is_valid_item(code) or icd.get_description(code) != display]
    assert wrong == []


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "vocabularies"
    shutil.copytree(VOCAB, target)
    return target


MESH_BREAKAGES = {
    "padded UI": ("- ui: D001943\n", "- ui: D000001943\n"),
    "unknown key": ("  name: Breast Neoplasms\n", "  name: Breast Neoplasms\n  colour: pink\n"),
    "bad tree": ("trees: [C04.588.180,", "trees: [C4.588.180,"),
    "bad category": ("- ui: D001943\n  name: Breast Neoplasms\n  trees: [C04.588.180, C17.800.090.500]\n  category: condition",
                     "- ui: D001943\n  name: Breast Neoplasms\n  trees: [C04.588.180, C17.800.090.500]\n  category: disease"),
    "lower-case acronym": ("acronyms: [TNBC]", "acronyms: [tnbc]"),
    "ambiguous not an acronym": ("  ambiguous: [MS]", "  ambiguous: [MS, XYZ]"),
    "ICD code shape": ("icd10cm: {C50: Malignant neoplasm of breast}", "icd10cm: {C 50: Malignant neoplasm of breast}"),
    "tree twice": ("trees: [C04.588.180,", "trees: [C04.588.894.797.520,"),
    "unknown action": ("actions: [D000074322, D000082082]", "actions: [D000074322, D999999]"),
}


@pytest.mark.parametrize("name", sorted(MESH_BREAKAGES))
def test_broken_mesh_file_is_refused(tmp_path: Path, name: str) -> None:
    folder = _copy(tmp_path)
    path = folder / "mesh.yaml"
    old, new = MESH_BREAKAGES[name]
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= 1, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(VocabularyError):
        load_vocabulary(folder)


def test_term_of_two_concepts_is_refused(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    path = folder / "mesh.yaml"
    text = path.read_text(encoding="utf-8").replace("terms: [asthma,", "terms: [asthma, breast cancer,", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(VocabularyError, match="breast cancer"):
        Matcher(load_vocabulary(folder))


def test_blocker_that_is_a_term_is_refused(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    path = folder / "mesh.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("blockers: [", "blockers: [asthma, ", 1), encoding="utf-8")
    with pytest.raises(VocabularyError, match="asthma"):
        Matcher(load_vocabulary(folder))


def test_own_concept_with_unknown_broader_is_refused(tmp_path: Path) -> None:
    path = tmp_path / OWN_CODESYSTEM.name
    doc = json.loads(OWN_CODESYSTEM.read_text(encoding="utf-8"))
    matched = [c for c in doc["concept"] if "designation" in c]
    matched[0]["property"].append({"code": "broader-mesh", "valueCoding": {"system": MESH, "code": "D999999"}})
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(VocabularyError, match="D999999"):
        load_vocabulary(VOCAB, path)


def test_context_rule_with_unknown_category_is_refused(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    path = folder / "context-rules.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("category: FAMILY", "category: KINSHIP", 1),
                    encoding="utf-8")
    with pytest.raises(VocabularyError, match="category"):
        ContextEngine(path)


def test_own_codesystem_is_valid_fhir() -> None:
    from fhir.resources.R4B.codesystem import CodeSystem

    doc = json.loads(OWN_CODESYSTEM.read_text(encoding="utf-8"))
    CodeSystem.model_validate(doc)
    assert doc["count"] == len(doc["concept"])
    icd_codings = [p["valueCoding"] for c in doc["concept"] for p in c.get("property", []) if p["code"] == "icd10cm"]
    assert all(c["system"] == ICD10CM and icd.get_description(c["code"]) == c["display"] for c in icd_codings)
    if node_available():
        verdict = validate_with_node([doc])[0]
        assert verdict.ok, (verdict.medplum, verdict.fhir)


def test_context_rule_with_a_yaml_boolean_literal_is_refused(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    path = folder / "context-rules.yaml"
    text = path.read_text(encoding="utf-8")
    assert '["no", not,' in text
    path.write_text(text.replace('["no", not,', "[no, not,", 1), encoding="utf-8")  # YAML reads no as false
    with pytest.raises(VocabularyError, match="literals"):
        ContextEngine(path)


def test_the_conformance_registry_serves_the_codesystem() -> None:
    from fhirtrial.conformance import load_definitions

    served = load_definitions().by_url(OWN)
    assert served == json.loads(OWN_CODESYSTEM.read_text(encoding="utf-8"))
    assert {c["code"] for c in served["concept"]} >= {"anti-pd-1-therapy", "brain-metastases", "pregnancy"}
