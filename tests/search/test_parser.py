"""Query parsing: every modifier, prefix, escape and error; chains, result parameters, self links."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from fhirtrial.errors import InvalidRequest
from fhirtrial.search.normalize import normalize
from fhirtrial.search.parser import parse_search
from fhirtrial.search.textquery import And, Words
from fhirtrial.search.request import (ChainLink, CompositeValue, DateValue, Filter, Include, MissingValue, NearValue,
                                      TextQueryValue,
                                      NumberValue, OfTypeValue, QuantityValue, ReferenceValue, SearchRequest,
                                      SortKey, TextValue, TokenValue, UriValue)

UTC = timezone.utc


def one(rtype: str | None, name: str, value: str, **kw: object) -> Filter:
    req = parse_search(rtype, [(name, value)], strict=True, **kw)  # type: ignore[arg-type]
    assert len(req.filters) == 1
    return req.filters[0]


def invalid(rtype: str | None, name: str, value: str) -> str:
    with pytest.raises(InvalidRequest) as err:
        parse_search(rtype, [(name, value)], strict=True)
    return err.value.diagnostics


# --- tokens -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ("active", TokenValue(None, "active", False)),
    ("http://loinc.org|1234-5", TokenValue("http://loinc.org", "1234-5", True)),
    ("|1234-5", TokenValue(None, "1234-5", True)),
    ("http://loinc.org|", TokenValue("http://loinc.org", None, True)),
    (r"a\|b|c\,d", TokenValue("a|b", "c,d", True)),
    (r"x\\", TokenValue(None, "x\\", False)),
])
def test_token_values(value: str, expected: TokenValue) -> None:
    assert one("ResearchStudy", "identifier", value).values == (expected,)


def test_token_or_and_and() -> None:
    req = parse_search("ResearchStudy", [("status", "active,completed"), ("status", "completed")])
    assert [len(f.values) for f in req.filters] == [2, 1]
    assert req.filters[0].raw == ("active", "completed")
    escaped = one("ResearchStudy", "keyword", r"a\,b,c")
    assert [v.code for v in escaped.values] == ["a,b", "c"]  # type: ignore[union-attr]


def test_token_modifiers() -> None:
    assert one("ResearchStudy", "condition:text", "Épilepsie").values == (TextValue("Épilepsie", "epilepsie"),)
    assert one("ResearchStudy", "status:not", "completed").modifier == "not"
    assert one("ResearchStudy", "status:not", "completed").values == (TokenValue(None, "completed", False),)
    assert one("ResearchStudy", "phase:in", "http://hl7.org/fhir/ValueSet/research-study-phase").values == (
        UriValue("http://hl7.org/fhir/ValueSet/research-study-phase"),)
    assert one("ResearchStudy", "phase:not-in", "http://x/vs").modifier == "not-in"
    assert one("ResearchStudy", "identifier:of-type", "http://terminology.hl7.org/CodeSystem/v2-0203|RI|NCT1").values \
        == (OfTypeValue("http://terminology.hl7.org/CodeSystem/v2-0203", "RI", "NCT1"),)
    assert "of-type" in invalid("ResearchStudy", "status:of-type", "a|b|c")
    assert "type-system|type-code|value" in invalid("ResearchStudy", "identifier:of-type", "RI|NCT1")
    assert one("ResearchStudy", "status:missing", "true").values == (MissingValue(True),)
    assert one("ResearchStudy", "status:missing", "false").values == (MissingValue(False),)
    assert "true or false" in invalid("ResearchStudy", "status:missing", "maybe")


# --- strings ------------------------------------------------------------------------------------------------

def test_string_modifiers() -> None:
    plain = one("Location", "address-city", "São")
    assert plain.type == "string" and plain.modifier is None and plain.values == (TextValue("São", "sao"),)
    assert one("Location", "name:exact", "Hôpital").values == (TextValue("Hôpital", "hopital"),)
    assert one("Location", "name:contains", "pital").modifier == "contains"
    assert "not supported" in invalid("Location", "name:text", "x")
    assert "not supported" in invalid("Location", "name:below", "x")
    assert normalize("ÉCOLE") == one("Patient", "name", "école").values[0].normalized  # type: ignore[union-attr]


# --- dates --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("prefix", ["eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"])
def test_date_prefixes(prefix: str) -> None:
    value = one("ResearchStudy", "date", f"{prefix}2020-03").values[0]
    assert value == DateValue(prefix, datetime(2020, 3, 1, tzinfo=UTC),  # type: ignore[arg-type]
                              datetime(2020, 3, 31, 23, 59, 59, 999999, tzinfo=UTC))


def test_dates_with_time_zones_and_errors() -> None:
    v = one("Patient", "_lastUpdated", "gt2024-01-01T10:00:00+02:00").values[0]
    assert isinstance(v, DateValue) and v.low == datetime(2024, 1, 1, 8, tzinfo=UTC)
    assert "not a valid date" in invalid("ResearchStudy", "date", "2020-13-01")
    assert "unknown prefix 'xx'" in invalid("ResearchStudy", "date", "xx2020")
    diag = invalid("ResearchStudy", "date", "yesterday")
    assert "'date'" in diag and "yesterday" in diag


# --- numbers and quantities ---------------------------------------------------------------------------------

def test_numbers() -> None:
    f = one("ResearchStudy", "eligible-age", "30")
    assert f.values == (NumberValue("eq", 30.0, 29.5, 30.5),) and f.range_contains
    assert "not supported" in invalid("ResearchStudy", "eligible-age", "gt30")
    for bad in ("abc", "3o", "1,5x", "--1", "1e"):
        assert "eligible-age" in invalid("ResearchStudy", "eligible-age", bad)


@pytest.mark.parametrize(("value", "expected"), [
    ("5.4", QuantityValue("eq", 5.4, 5.35, 5.45, None, None)),
    ("ap5.4|http://unitsofmeasure.org|mg", QuantityValue("ap", 5.4, 5.35, 5.45, "http://unitsofmeasure.org", "mg")),
    ("lt100||mm[Hg]", QuantityValue("lt", 100.0, 99.5, 100.5, None, "mm[Hg]")),
    ("ge1e2|http://unitsofmeasure.org|g", QuantityValue("ge", 100.0, 50.0, 150.0, "http://unitsofmeasure.org", "g")),
])
def test_quantities(value: str, expected: QuantityValue) -> None:
    assert one("Observation", "value-quantity", value).values == (expected,)


def test_bad_quantity() -> None:
    assert "value-quantity" in invalid("Observation", "value-quantity", "heavy|x|y")
    assert "unknown prefix" in invalid("Observation", "value-quantity", "zz5")


# --- references, chains, reverse chains ---------------------------------------------------------------------

def test_references() -> None:
    assert one("ResearchStudy", "site", "Location/l1").values == (ReferenceValue("Location", "l1", None),)
    assert one("ResearchStudy", "site", "l1").values == (ReferenceValue("Location", "l1", None),)
    assert one("Observation", "subject", "p1").values == (ReferenceValue(None, "p1", None),)
    typed = one("Observation", "subject:Patient", "p1")
    assert typed.modifier == "Patient" and typed.values == (ReferenceValue("Patient", "p1", None),)
    assert "cannot reference" in invalid("ResearchStudy", "site:Patient", "p1")
    assert one("ResearchStudy", "site", "https://fhir.example.org/fhir/Location/l9",
               base_url="https://fhir.example.org/fhir").values == (ReferenceValue("Location", "l9", None),)
    external = one("ResearchStudy", "site", "https://other.org/fhir/Location/l9").values[0]
    assert external == ReferenceValue("Location", None, "https://other.org/fhir/Location/l9")
    assert one("Patient", "organization:identifier", "urn:org|O-1").values == (TokenValue("urn:org", "O-1", True),)
    assert one("ResearchStudy", "site:missing", "true").values == (MissingValue(True),)
    assert one("PlanDefinition", "depends-on:below", "http://example.org/Library").values == (
        UriValue("http://example.org/Library"),)
    assert "contained" in invalid("ResearchStudy", "site", "#x")


def test_chains() -> None:
    f = one("ResearchStudy", "site.address-country", "Brazil")
    assert f.chain == (ChainLink("ResearchStudy", "site", ("Location",)),)
    assert (f.resource_type, f.param, f.type) == ("Location", "address-country", "string")
    near = one("ResearchStudy", "site.near", "-23.5|-46.6|50|km")
    assert near.type == "special" and isinstance(near.values[0], NearValue)
    deep = one("ResearchStudy", "site.organization.name:exact", "Acme")
    assert [link.param for link in deep.chain] == ["site", "organization"]
    assert (deep.resource_type, deep.param, deep.modifier) == ("Organization", "name", "exact")
    typed = one("Observation", "subject:Patient.name", "peter")
    assert typed.chain == (ChainLink("Observation", "subject", ("Patient",)),)
    with pytest.raises(InvalidRequest, match="ambiguous"):
        # Observation.subject can be Patient, Group, Device or Location: several have `name`.
        parse_search("Observation", [("subject.name", "x")], strict=True)


def test_reverse_chains() -> None:
    f = one("Patient", "_has:Observation:patient:code", "http://loinc.org|1234-5")
    assert f.chain == (ChainLink("Observation", "patient", ("Patient",), reverse=True),)
    assert (f.resource_type, f.param) == ("Observation", "code")
    nested = one("Patient", "_has:Observation:patient:_has:Observation:has-member:status", "final")
    assert [link.reverse for link in nested.chain] == [True, True]
    study = one("Location", "_has:ResearchStudy:site:recruitment", "RECRUITING")
    assert study.chain[0] == ChainLink("ResearchStudy", "site", ("Location",), reverse=True)
    mixed = one("Group", "_has:ResearchStudy:eligibility:site.address-country", "Brazil")
    assert [link.param for link in mixed.chain] == ["eligibility", "site"]


def test_composites() -> None:
    f = one("Observation", "code-value-quantity", r"http://loinc.org|8480-6$lt60||mm[Hg]")
    assert f.values == (CompositeValue((TokenValue("http://loinc.org", "8480-6", True),
                                        QuantityValue("lt", 60.0, 59.5, 60.5, None, "mm[Hg]"))),)
    # R4 declares multipleOr false for the Observation composites: a comma is not an OR there.
    assert "component-code-value-quantity" in invalid("Observation", "component-code-value-quantity",
                                                      r"8480-6$gt100,8462-4$lt90")
    and_ = parse_search("Group", [("characteristic-value", "a$true"), ("characteristic-value", "b$false")])
    assert len(and_.filters) == 2  # repeated parameters still AND
    assert "2 $-separated" in invalid("Observation", "code-value-quantity", "8480-6")
    escaped = one("Group", "characteristic-value", r"a\$b$true")
    assert escaped.values[0].components[0] == TokenValue(None, "a$b", False)  # type: ignore[union-attr]


def test_near() -> None:
    v = one("Location", "near", "-23.5|-46.6|10|mi").values[0]
    assert isinstance(v, NearValue) and v.distance_km == pytest.approx(16.09344)
    assert v.box.contains(-23.5, -46.6)
    assert one("Location", "near", "1|2").values[0].distance_km == 10.0  # type: ignore[union-attr]
    assert one("Location", "near", "1|2|500|m").values[0].distance_km == 0.5  # type: ignore[union-attr]
    assert one("Location", "near", "1|2|3|[mi_i]").values[0].distance_km == pytest.approx(4.828032)  # type: ignore
    assert "unit" in invalid("Location", "near", "1|2|3|parsec")
    assert "out of range" in invalid("Location", "near", "91|0|1")
    assert "must be numbers" in invalid("Location", "near", "north|south")


def test_uri_modifiers() -> None:
    assert one("PlanDefinition", "url:below", "https://fhirtrial.org/plan").modifier == "below"
    assert one("PlanDefinition", "url:above", "https://fhirtrial.org/plan/1/x").values == (
        UriValue("https://fhirtrial.org/plan/1/x"),)
    assert one("Patient", "_profile", "http://x/p").type == "uri"


def test_full_text() -> None:
    f = one("ResearchStudy", "_text", "breast cancer")
    assert (f.type, f.values) == ("fulltext", (TextQueryValue("breast cancer", And((Words(("breast",)),
                                                                                    Words(("cancer",))))),))
    assert one("ResearchStudy", "_content", "GET73").type == "fulltext"
    # the syntax of https://hl7.org/fhir/R4/search.html#text: a bad query is a 400 naming the parameter
    for bad in ("-cancer", "***", "a OR NOT b"):
        with pytest.raises(InvalidRequest, match="_content"):
            one("ResearchStudy", "_content", bad)


# --- unknown parameters, errors, hostile values ---------------------------------------------------------------

def test_unknown_parameters_strict_and_lenient() -> None:
    with pytest.raises(InvalidRequest, match="'colour'"):
        parse_search("ResearchStudy", [("colour", "red")], strict=True)
    req = parse_search("ResearchStudy", [("colour", "red"), ("status", "active"), ("site.colour", "x"),
                                         ("_has:Patient:general-practitioner:name", "x"), ("_query", "q")])
    assert [i.name for i in req.ignored] == ["colour", "site.colour", "_has:Patient:general-practitioner:name",
                                            "_query"]
    assert req.to_query_string() == "status=active"
    # Bad values are errors even when lenient.
    with pytest.raises(InvalidRequest):
        parse_search("ResearchStudy", [("date", "soon")])


def test_empty_values_are_ignored() -> None:
    req = parse_search("ResearchStudy", [("title", ""), ("status", "active")], strict=True)
    assert [f.name for f in req.filters] == ["status"] and req.ignored[0].reason == "empty value"


@pytest.mark.parametrize("hostile", ["'; DROP TABLE resources;--", "\" OR 1=1 --", "%' OR '%'='", "\x00\n\t",
                                     "<script>alert(1)</script>", "Robert'); DELETE FROM x;--", "ü' UNION SELECT *"])
def test_hostile_values_are_just_values(hostile: str) -> None:
    f = one("ResearchStudy", "title", hostile)
    assert f.values == (TextValue(hostile, normalize(hostile)),)
    t = one("ResearchStudy", "identifier", hostile)
    assert isinstance(t.values[0], TokenValue)
    assert "Invalid value" in invalid("ResearchStudy", "date", hostile)
    assert "Invalid value" in invalid("ResearchStudy", "eligible-age", hostile)
    with pytest.raises(InvalidRequest):
        parse_search("ResearchStudy", [(hostile, "x")], strict=True)


# --- result parameters ----------------------------------------------------------------------------------------

def test_result_parameters() -> None:
    req = parse_search("ResearchStudy", [
        ("_sort", "-date,title,_id"), ("_count", "5000"), ("_total", "accurate"), ("_summary", "count"),
        ("_elements", "id,title,status"), ("_include", "ResearchStudy:site"),
        ("_include:iterate", "Location:organization:Organization"), ("_revinclude", "Group:member"),
        ("_format", "json"), ("_include", "*")], max_count=200)
    assert req.sort == (SortKey("date", "date", True), SortKey("title", "string"), SortKey("_id", "token"))
    assert (req.count, req.total, req.summary, req.elements) == (200, "accurate", "count", ("id", "title", "status"))
    assert req.includes == (Include("ResearchStudy", "site", None), Include("Location", "organization", "Organization",
                                                                            iterate=True),
                            Include("Group", "member", None, reverse=True), Include("*", "*", None))
    assert req.passthrough == (("_format", "json"),)
    assert parse_search("ResearchStudy", [("_sort", "-_score")]).sort == (SortKey("_score", "fulltext", True),)


@pytest.mark.parametrize(("name", "value", "message"), [
    ("_sort", "colour", "unknown sort parameter"), ("_sort", "code-value-quantity", "unknown sort"),
    ("_count", "-1", "non-negative"), ("_count", "ten", "non-negative"), ("_total", "some", "one of"),
    ("_summary", "yes", "one of"), ("_elements", "a b", "element names"),
    ("_include", "ResearchStudy:title", "no reference parameter"), ("_include", "Location:organization",
                                                                    "not the type searched"),
    ("_include", "ResearchStudy:site:Patient", "cannot reference"), ("_include", "Nope:x", "unknown resource type"),
    ("_include:deep", "ResearchStudy:site", "unknown modifier"),
])
def test_bad_result_parameters(name: str, value: str, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        parse_search("ResearchStudy", [(name, value)])


def test_system_search_with_types() -> None:
    req = parse_search(None, [("_type", "ResearchStudy,Group"), ("_id", "x"), ("_lastUpdated", "ge2024")])
    assert req.types == ("ResearchStudy", "Group") and [f.param for f in req.filters] == ["_id", "_lastUpdated"]
    lenient = parse_search(None, [("_type", "ResearchStudy,Group"), ("status", "active")])
    assert "Group has no search parameter 'status'" in lenient.ignored[0].reason
    with pytest.raises(InvalidRequest, match="unknown resource type"):
        parse_search(None, [("_type", "Nope")])
    assert parse_search(None, [("_id", "x")]).filters[0].resource_type == "Resource"


def test_to_query_string_is_canonical() -> None:
    req = parse_search("ResearchStudy", [("colour", "x"), ("condition:text", "lung cancer"), ("site.address-country",
                                         "Brazil"), ("identifier", r"a\,b,c"), ("_count", "10"), ("_sort", "-date"),
                                         ("_include", "ResearchStudy:site"), ("_revinclude:iterate", "Group:*")])
    assert req.to_query_string() == ("condition:text=lung%20cancer&site.address-country=Brazil"
                                     "&identifier=a%5C,b,c&_sort=-date&_count=10"
                                     "&_include=ResearchStudy:site&_revinclude:iterate=Group:*")
    again = parse_search("ResearchStudy", [tuple(p.split("=", 1)) for p in  # type: ignore[misc]
                                           __import__("urllib.parse").parse.unquote(req.to_query_string()).split("&")])
    assert again.filters == req.filters and again.includes == req.includes
    assert isinstance(req, SearchRequest) and SearchRequest("Patient").to_query_string() == ""


def test_requests_are_frozen() -> None:
    req = parse_search("ResearchStudy", [("status", "active")])
    with pytest.raises(AttributeError):
        req.count = 5  # type: ignore[misc]
