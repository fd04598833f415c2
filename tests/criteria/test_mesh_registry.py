"""The shipped MeSH UIs, names and tree numbers agree with the registry's own MeSH coding of real records.

ClinicalTrials.gov codes each record's conditions and interventions in MeSH (derivedSection.*BrowseModule: meshes
and their ancestors). Read from ../shared/data at test time; any disagreement fails.
"""
from __future__ import annotations

import pytest

from fhirtrial.criteria.hierarchy import get_hierarchy
from fhirtrial.criteria.vocabulary import MESH, get_vocabulary, mesh_ui

from .vocab_data import need_shared, shared_records


def _browse(module: str, *, descriptors_only: bool = False) -> list[tuple[str, list[tuple[str, str]],
                                                                         list[tuple[str, str]]]]:
    """(NCT id, meshes, ancestors) of every record, descriptors only, UIs in their published form; with
    ``descriptors_only`` the records whose terms include a supplementary concept (C...) are left out, since their
    ancestors come from that concept, which is not shipped."""
    need_shared()
    out = []
    for _, record in shared_records():
        browse = record.get("derivedSection", {}).get(module, {})
        nct = record["protocolSection"]["identificationModule"]["nctId"]
        pick = lambda key: [(mesh_ui(m["id"]), m["term"]) for m in browse.get(key, []) if m["id"].startswith("D")]
        if descriptors_only and any(not m["id"].startswith("D") for m in browse.get("meshes", [])):
            continue
        if browse:
            out.append((nct, pick("meshes"), pick("ancestors")))
    return out


MODULES = ("conditionBrowseModule", "interventionBrowseModule")


@pytest.mark.parametrize("module", MODULES)
def test_every_registry_descriptor_is_shipped_under_its_name(module: str) -> None:
    by_code = get_vocabulary().by_code
    seen: dict[str, str] = {}
    for _, meshes, ancestors in _browse(module):
        seen.update(meshes + ancestors)
    missing = sorted(ui for ui in seen if (MESH, ui) not in by_code)
    renamed = sorted((ui, term, by_code[(MESH, ui)].display) for ui, term in seen.items()
                     if (MESH, ui) in by_code and by_code[(MESH, ui)].display != term)
    assert missing == [] and renamed == []
    assert len(seen) > 150


def test_registry_condition_ancestors_are_tree_ancestors() -> None:
    """Each ancestor the registry lists for a record's conditions lies above one of its MeSH terms in our trees."""
    hierarchy = get_hierarchy()
    by_code = hierarchy.vocabulary.by_code
    checked, wrong = 0, []
    for nct, meshes, ancestors in _browse("conditionBrowseModule"):
        below = [by_code[(MESH, ui)] for ui, _ in meshes]
        for ui, term in ancestors:
            checked += 1
            trees = by_code[(MESH, ui)].trees
            if not any(t.startswith(a + ".") for c in below for t in c.trees for a in trees):
                wrong.append((nct, ui, term))
    assert wrong == [] and checked > 500


def test_registry_intervention_ancestors_are_trees_or_pharmacological_actions() -> None:
    """Intervention ancestors are tree ancestors or MeSH pharmacological actions (and theirs) of a listed drug."""
    hierarchy = get_hierarchy()
    checked, wrong = 0, []
    for nct, meshes, ancestors in _browse("interventionBrowseModule", descriptors_only=True):
        above = set()
        for ui, _ in meshes:
            above |= {code for _, code in hierarchy.ancestors(hierarchy.vocabulary.by_code[(MESH, ui)])}
        for ui, term in ancestors:
            checked += 1
            if ui not in above:
                wrong.append((nct, ui, term))
    assert wrong == [] and checked > 100


def test_a_wrong_tree_number_would_be_caught() -> None:
    """The check above is not vacuous: a condition moved to another branch disagrees with the registry."""
    hierarchy = get_hierarchy()
    breast = hierarchy.vocabulary.by_code[(MESH, "D001943")]
    neoplasms = hierarchy.vocabulary.by_code[(MESH, "D009369")]
    assert any(t.startswith(a + ".") for t in breast.trees for a in neoplasms.trees)
    assert not any(t.startswith(a + ".") for t in ("C14.280.647",) for a in neoplasms.trees)
