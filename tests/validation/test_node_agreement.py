"""Our required-binding verdicts agree with npm `fhir` validate, https://hl7.org/fhir/R4/terminologies.html#required.

For every mapped example, and for copies with one bound code replaced by a wrong one, the set of elements each
validator reports as "not in the value set" must be equal, up to the reasons in disagreements.py.
"""
from __future__ import annotations

import copy
import re
from typing import Any, Iterator

import pytest

from fhirtrial.validation import validate
from fhirtrial.validation.bindings import bound_children
from fhirtrial.validation.fast_structure import walk
from fhirtrial.validation.tables import load_tables
from tests.support.validators import node_available, validate_with_node

from .disagreements import ONLY_FHIR_JS, ONLY_OURS
from .test_bindings import BAD

pytestmark = pytest.mark.skipif(not node_available(), reason="Node validators not installed (npm ci)")

_FHIR_JS = re.compile(r"^(?P<where>[^:]+): Code .* not found in value set")


def _mutants(resource: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """One copy per bound code element present, with that code replaced by one outside the value set."""
    tables = load_tables()
    for index, (data, type_key, _, _) in enumerate(walk(resource).nodes):
        for child, _, _ in bound_children(tables, type_key):
            if isinstance(data.get(child.name), str):
                mutant = copy.deepcopy(resource)
                target = walk(mutant).nodes[index][0]
                target[child.name] = "not-a-code"
                yield mutant


def _ours(resource: dict[str, Any]) -> set[str]:
    return {i.expression[0] for i in validate(resource) if i.code == "code-invalid"}


def _theirs(messages: list[str]) -> set[str]:
    return {m.group("where") for m in map(_FHIR_JS.match, messages) if m}


def test_required_bindings_agree_with_fhir_js(examples: list[dict[str, Any]]) -> None:
    sample = [r for r in examples if r["resourceType"] != "Location"]
    sample += [r for r in examples if r["resourceType"] == "Location"][:20]
    corpus = [r for r, _ in BAD] + sample + [m for r in sample for m in _mutants(r)]
    verdicts = validate_with_node(corpus)
    mismatches = []
    for resource, verdict in zip(corpus, verdicts):
        ours, theirs = _ours(resource), _theirs(verdict.fhir)
        rtype = resource["resourceType"]
        for where in theirs - ours:
            if (rtype, where) not in ONLY_FHIR_JS:
                mismatches.append(("only fhir.js", rtype, where))
        for where in ours - theirs:
            if (rtype, where) not in ONLY_OURS:
                mismatches.append(("only ours", rtype, where))
    assert len(corpus) > 150, len(corpus)
    assert mismatches == []
