"""Chains and reverse chains (_has) against an in-memory evaluation of the same hops over the oracle indexes."""
from __future__ import annotations

import random

from fhirtrial.errors import InvalidRequest
from fhirtrial.search.index import ResourceIndex
from fhirtrial.search.matching import matches
from fhirtrial.search.parser import parse_search
from fhirtrial.search.request import Filter
from fhirtrial.store.sql import SQLRepository

from .conftest import ids, oracle_indexes


def _accepts(indexes: dict[str, dict[str, ResourceIndex]], f: Filter, rtype: str, rid: str) -> bool:
    if not f.chain:
        ix = indexes.get(rtype, {}).get(rid)
        return ix is not None and matches(f, ix)
    link, rest = f.chain[0], Filter(f.name, f.resource_type, f.param, f.type, f.modifier, f.values, f.raw,
                                    f.chain[1:], f.range_contains)
    if not link.reverse:
        ix = indexes[rtype][rid]
        return any(e.param == link.param and e.target_type in link.target_types and e.target_id is not None
                   and _accepts(indexes, rest, e.target_type, e.target_id) for e in ix.references)
    return any(any(e.param == link.param and e.target_type == rtype and e.target_id == rid for e in ix.references)
               and _accepts(indexes, rest, link.source_type, sid) for sid, ix in indexes.get(link.source_type, {}).items())


def test_chains_match_the_in_memory_hops(corpus: SQLRepository) -> None:
    indexes = oracle_indexes(corpus)
    rng = random.Random(3)
    countries = sorted({s.exact for ix in indexes["Location"].values() for s in ix.strings if s.param == "address-country"})
    names = sorted({s.normalized[:4] for ix in indexes["Organization"].values() for s in ix.strings if s.param == "name"})
    queries = [("ResearchStudy", f"site.address-country={c}") for c in countries[:8]]
    queries += [("ResearchStudy", f"sponsor.name={n}") for n in names[:8]]
    queries += [("ResearchStudy", "site.near=40|-75|500"), ("ResearchStudy", "site.near=-23.6|-46.6|20"),
                ("ResearchStudy", "site:Location.address-country:missing=true"),
                ("ResearchStudy", "site.address-country:missing=true"),
                ("ResearchStudy", "site.organization.name=a"), ("ResearchStudy", "eligibility.characteristic-value:missing=false"),
                ("Location", "_has:ResearchStudy:site:recruitment=COMPLETED"),
                ("Location", "_has:ResearchStudy:site:phase=phase-2,phase-3"),
                ("Location", "_has:ResearchStudy:site:_has:ResearchStudy:partof:status=x"),
                ("Organization", "_has:ResearchStudy:sponsor:status=completed"),
                ("Organization", "_has:Location:organization:_has:ResearchStudy:site:status=completed"),
                ("Group", "_has:ResearchStudy:eligibility:eligible-age=30"),
                ("ResearchStudy", "site._has:ResearchStudy:site:status=completed"),
                ("ResearchStudy", "protocol.title:contains=a")]
    queries += [("ResearchStudy", f"site.address-country={rng.choice(countries)}&sponsor.name={rng.choice(names)}")
                for _ in range(5)]
    checked = hits = 0
    for rtype, query in queries:
        from urllib.parse import parse_qsl
        try:
            req = parse_search(rtype, parse_qsl(query), strict=True)
        except InvalidRequest:
            continue
        expected = {i for i in indexes.get(rtype, {}) if all(_accepts(indexes, f, rtype, i) for f in req.filters)}
        assert set(ids(corpus, rtype, query + "&_count=1000")) == expected, query
        checked += 1
        hits += bool(expected)
    assert checked >= 30 and hits >= 15
