"""Differential test: for a broad generated set of queries the SQL selects exactly the resources the in-memory
oracle (fhirtrial.search.matching.matches over each resource's ResourceIndex) accepts, on this database."""
from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from fhirtrial.errors import InvalidRequest
from fhirtrial.search.dates import MAX_DATETIME, MIN_DATETIME
from fhirtrial.search.escape import escape
from fhirtrial.search.index import ResourceIndex
from fhirtrial.search.matching import matches
from fhirtrial.search.parser import parse_search
from fhirtrial.search.registry import default_registry
from fhirtrial.store.sql import SQLRepository

from .conftest import oracle_indexes

PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
PER_PARAM = 6  # generated values per parameter and kind


def _date_texts(d: datetime, rng: random.Random) -> list[str]:
    if d in (MIN_DATETIME, MAX_DATETIME):
        return []
    forms = [d.strftime("%Y"), d.strftime("%Y-%m"), d.strftime("%Y-%m-%d"), d.strftime("%Y-%m-%dT%H:%M:%SZ"),
             d.strftime("%Y-%m-%dT%H:%M") + "+02:00"]
    return [rng.choice(PREFIXES) + f if rng.random() < 0.8 else f for f in rng.sample(forms, 2)]


def _num(x: float) -> str | None:
    if not math.isfinite(x):
        return None
    return repr(int(x)) if x == int(x) and abs(x) < 1e15 else repr(x)


def _values(ptype: str, rows: list[Any], rng: random.Random, param: str) -> Iterator[tuple[str, str]]:
    """(modifier suffix, value) pairs derived from real rows, so most queries hit something."""
    for e in rng.sample(rows, min(len(rows), PER_PARAM)):
        if ptype == "token":
            if e.code is not None:
                yield "", escape(e.code)
                yield "", f"{escape(e.system or '')}|{escape(e.code)}"
                yield ":not", escape(e.code)
                if e.system:
                    yield "", f"{escape(e.system)}|"
            if e.text:
                words = e.text.split()
                yield ":text", escape(rng.choice(words)[:rng.randint(1, 6)])
        elif ptype == "string":
            n = e.normalized
            yield "", escape(n[:rng.randint(1, max(1, len(n)))])
            yield "", escape(e.exact[:3].upper())
            yield ":exact", escape(e.exact)
            yield ":exact", escape(e.exact.lower())
            if len(n) > 3:
                i = rng.randint(1, len(n) - 2)
                yield ":contains", escape(n[i:i + 3])
        elif ptype == "date":
            for d in (e.low, e.high):
                for text in _date_texts(d, rng):
                    yield "", text
        elif ptype in ("number", "quantity"):
            for x in (e.value, e.low, e.high, e.value * 1.05):
                text = _num(x)
                if text is None:
                    continue
                prefix = rng.choice(PREFIXES + ("",))
                if ptype == "quantity":
                    unit = rng.choice([f"|{escape(e.system or '')}|{escape(e.code or '')}", f"||{escape(e.unit or '')}",
                                       "", "|http://unitsofmeasure.org|kg"])
                    yield "", prefix + text + unit
                else:
                    yield "", prefix + text
        elif ptype == "reference":
            if e.target_id:
                yield "", f"{e.target_type}/{e.target_id}"
                yield "", e.target_id
                yield f":{e.target_type}", e.target_id
            elif e.url:
                yield "", escape(e.url)
                yield ":below", escape(e.url[:max(1, len(e.url) // 2)])
        elif ptype == "uri":
            yield "", escape(e.uri)
            yield ":below", escape(e.uri[:max(1, len(e.uri) - 3)])
            yield ":above", escape(e.uri + "/more")
        elif ptype == "special":
            for km in (1, 50, 2000):
                yield "", f"{e.latitude + rng.uniform(-0.2, 0.2)}|{e.longitude + rng.uniform(-0.2, 0.2)}|{km}|km"
        elif ptype == "composite":
            first, second = e.components
            head = f"{escape(first.system or '')}|{escape(first.code)}" if first.system else escape(first.code)
            if hasattr(second, "latitude"):
                continue
            if hasattr(second, "unit"):
                tail = f"{rng.choice(PREFIXES)}{_num(second.value)}"
            elif hasattr(second, "code"):
                tail = escape(second.code or "x")
            elif hasattr(second, "normalized"):
                tail = escape(second.normalized[:3])
            else:
                tail = _date_texts(second.low, rng)[0] if _date_texts(second.low, rng) else "2020"
            yield "", f"{head}${tail}"
    if ptype in ("token", "string", "reference", "date"):
        yield "", "zz-no-such-value" if ptype != "date" else "1901"


_ROWS = {"token": "tokens", "string": "strings", "date": "dates", "number": "numbers", "quantity": "quantities",
         "reference": "references", "uri": "uris", "special": "positions", "composite": "composites"}


def generate(indexes: dict[str, dict[str, ResourceIndex]], seed: int = 1) -> list[tuple[str, list[tuple[str, str]]]]:
    rng = random.Random(seed)
    registry = default_registry()
    queries: list[tuple[str, list[tuple[str, str]]]] = []
    for rtype in sorted(indexes):
        singles: list[tuple[str, str]] = []
        for param in registry.for_type(rtype):
            if param.expression is None:
                continue
            attr = _ROWS.get(param.type)
            if attr is None:
                continue
            rows = [e for ix in indexes[rtype].values() for e in getattr(ix, attr) if e.param == param.code]
            singles.append((f"{param.code}:missing", rng.choice(["true", "false"])))
            for suffix, value in _values(param.type, rows, rng, param.code):
                singles.append((param.code + suffix, value))
        # ap on _lastUpdated is relative to "now", which the oracle and SQL read microseconds apart
        singles = [(n, v) for n, v in singles if not (n == "_lastUpdated" and v.startswith("ap"))]
        queries += [(rtype, [pair]) for pair in singles]
        # comma = OR within a parameter, repeated parameter = AND
        by_name: dict[str, list[str]] = {}
        for name, value in singles:
            by_name.setdefault(name, []).append(value)
        for name, values in by_name.items():
            if len(values) > 1 and not name.endswith(":missing"):
                queries.append((rtype, [(name, ",".join(rng.sample(values, 2)))]))
        for _ in range(min(40, len(singles))):
            queries.append((rtype, rng.sample(singles, min(2, len(singles)))))
    return queries


@pytest.mark.parametrize("broad_rows", [None, 1], ids=["planned", "all-probes"])
def test_sql_selects_what_the_oracle_accepts(corpus: SQLRepository, broad_rows: int | None,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Both SQL shapes: filters driving the query (IN) and filters probed per candidate (EXISTS, SQLite)."""
    if broad_rows is not None:
        from fhirtrial.store.search import plan

        monkeypatch.setattr(plan, "BROAD_ROWS", broad_rows)
    indexes = oracle_indexes(corpus)
    queries = generate(indexes)
    assert len(queries) > 800
    checked, nonempty, failures = 0, 0, []
    for rtype, pairs in queries:
        try:
            req = parse_search(rtype, pairs, strict=True, max_count=5000)
        except InvalidRequest:
            continue
        req = type(req)(req.resource_type, req.filters, count=5000, total="none")
        expected = {i for i, ix in indexes[rtype].items() if all(matches(f, ix) for f in req.filters)}
        got = [m.id for m in corpus.search(req).matches]
        assert len(got) == len(set(got)), pairs
        if set(got) != expected:
            failures.append((rtype, pairs, sorted(set(got) - expected)[:3], sorted(expected - set(got))[:3]))
        checked += 1
        nonempty += bool(expected)
    assert not failures, f"{len(failures)} of {checked} differ, e.g. {failures[:5]}"
    print(f"checked {checked} queries, {nonempty} with matches")
    assert checked > 700
