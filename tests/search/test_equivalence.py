"""The fast FHIRPath walkers agree with fhirpathpy on every served parameter, over real and hand-made resources.

fhirpathpy 2.2 needs three adjustments to mean what the R4 definitions mean (fallback.for_fhirpathpy): `as` on
collections read as ofType, extension(url) returning every match, and the abstract `Resource.` root. With them,
there is no expression on which the two may differ.
"""
from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from fhirtrial.resources import RESOURCE_TYPES
from fhirtrial.search.extract import FhirPathIndexer, _Env
from fhirtrial.search.fallback import compile_fallback
from fhirtrial.search.fhirpath_compile import Unsupported, compile_path

from .samples import HAND_MADE, ctgov_all, related_for

FAST, SLOW = FhirPathIndexer(), FhirPathIndexer(fast=False)


@pytest.fixture(scope="module")
def corpus() -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    resources = ctgov_all() + HAND_MADE  # the real records are required: skips, saying why, when absent
    return resources, related_for(resources)


def _canon(values: list[Any]) -> set[str]:
    return {json.dumps(v, sort_keys=True, default=str) for v in values}


def test_every_parameter_evaluates_alike(corpus: tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]) -> None:
    resources, related = corpus
    compared, differences = 0, []
    for resource in resources:
        rtype = resource["resourceType"]
        for fast, slow in zip(FAST.plan(rtype), SLOW.plan(rtype)):
            assert fast.fast and not slow.fast
            a = fast.evaluate([resource], _Env(resource, related, None))
            b = slow.evaluate([resource], _Env(resource, related, None))
            compared += 1
            if _canon(a) != _canon(b):
                differences.append((rtype, resource["id"], fast.param.code, a[:3], b[:3]))
    assert differences == []
    assert compared > 1000


def test_whole_indexes_agree(corpus: tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]) -> None:
    resources, related = corpus
    for resource in resources:
        a, b = FAST.index(resource, related), SLOW.index(resource, related)
        for kind in ("tokens", "strings", "dates", "numbers", "quantities", "references", "uris", "positions",
                     "composites"):
            assert set(getattr(a, kind)) == set(getattr(b, kind)), (resource["id"], kind)
        assert (a.text, a.content) == (b.text, b.content)


SYNTHETIC = {
    "resourceType": "Observation", "id": "x", "status": "final",
    "code": {"coding": [{"system": "s", "code": "a"}, {"system": "t", "code": "b"}], "text": "T"},
    "valueCodeableConcept": {"coding": [{"code": "v"}]},
    "component": [{"code": {"text": "c1"}, "valueQuantity": {"value": 1}},
                  {"code": {"text": "c2"}, "valueString": "s2"}, {"code": {"text": "c3"}}],
    "extension": [{"url": "u", "valueCode": "A"}, {"url": "u", "valueCoding": {"code": "B"}},
                  {"url": "w", "valueBoolean": False}],
    "subject": {"reference": "Patient/1"}, "focus": [{"reference": "Group/2"}, {"reference": "#c"}],
}
EXPRESSIONS = [
    "Observation.code.coding.code", "Observation.code.coding.where(system = 's').code",
    "Observation.code.coding.where(system != 's').code", "Observation.value", "Observation.value.ofType(Quantity)",
    "(Observation.value as CodeableConcept).coding.code", "Observation.component.value.ofType(Quantity).value",
    "Observation.component.value", "Observation.component.where(value.exists()).code.text",
    "Observation.component.where(value.empty()).code.text", "Observation.extension('u').value",
    "Observation.extension('w').value.not()", "Observation.extension.where(url = 'u' or url = 'w').url",
    "Observation.code.coding.first().code", "Observation.code.coding.code | Observation.code.text",
    "Observation.code.coding.exists(code = 'b' and system = 't')", "Observation.status = 'final'",
    "Observation.status = 'final' and Observation.code.exists()", "Observation.component.code.text.exists()",
    "Observation.subject.where(resolve() is Patient)", "Observation.focus.where(resolve() is Patient)",
    "Observation.focus.resolve().ofType(Group).id", "Observation.nothing.here", "Observation.id | Observation.id",
]


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_synthetic_expressions(expression: str) -> None:
    env = _Env(SYNTHETIC, {"Group/2": {"resourceType": "Group", "id": "2"}}, None)
    fast = compile_path(expression, "Observation").fn([SYNTHETIC], env)
    env.cache.clear()
    slow = compile_fallback(expression, "Observation")([SYNTHETIC], env)
    assert _canon(fast) == _canon(slow), (fast, slow)


@pytest.mark.parametrize("expression", ["Observation.code.coding.select(code)", "Observation.value.count() > 1",
                                        "%resource.id", "Observation.code.coding[0]", "Observation.x.as(Unknown"])
def test_outside_the_subset_falls_back(expression: str) -> None:
    with pytest.raises(Unsupported):
        compile_path(expression, "Observation")


def test_fallback_is_used_for_unsupported_expressions(caplog: pytest.LogCaptureFixture) -> None:
    from fhirtrial.search.extract import compile_expression

    with caplog.at_level(logging.DEBUG):
        fn, fast = compile_expression("Observation.code.coding.select(code)", "Observation")
    assert not fast and fn([SYNTHETIC], _Env(SYNTHETIC, {}, None)) == ["a", "b"]


def test_served_types_all_have_plans() -> None:
    assert all(FAST.plan(t) for t in RESOURCE_TYPES)
