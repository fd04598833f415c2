"""Query parameters to a SearchRequest (https://hl7.org/fhir/R4/search.html).

Strict handling raises InvalidRequest for unknown parameters; lenient records them in ``SearchRequest.ignored``
(https://hl7.org/fhir/R4/search.html#errors). Invalid values always raise, naming parameter and value.
"""
from __future__ import annotations

from typing import Iterable

from fhirtrial.errors import InvalidRequest
from fhirtrial.resources import RESOURCE_TYPE_SET
from fhirtrial.search import results, synonyms, values as v
from fhirtrial.search.distance import SORT_KEY as NEAR_SORT, near_source
from fhirtrial.search.escape import split_escaped
from fhirtrial.search.registry import Registry, SearchParam, default_registry
from fhirtrial.search.request import (ChainLink, CompositeValue, Filter, Ignored, MissingValue, SearchRequest,
                                      TextValue, Value)

# Owned by the REST layer; handed back untouched.
PASSTHROUGH = frozenset({"_format", "_pretty", "_cursor"})
# Result parameters of the spec this server does not support, and why (reported, or 400 under strict handling).
UNSUPPORTED_RESULT = {
    "_offset": "pages are keyset pages: follow the Bundle's next link (_cursor) instead",
    "_page": "pages are keyset pages: follow the Bundle's next link (_cursor) instead",
    "_contained": "contained resources are not searched",
    "_containedType": "contained resources are not searched",
}
FULLTEXT = frozenset({"_text", "_content"})
# Why a modifier the spec defines is refused here (the README lists what is supported per parameter type).
UNSUPPORTED_MODIFIERS = {
    ("token", "above"): "subsumption needs a terminology server, which this server does not have",
    ("token", "below"): "subsumption needs a terminology server, which this server does not have",
}
MAX_CHAIN = 4  # hops; deeper chains are refused rather than turned into unbounded joins


class UnknownParameter(Exception):
    """A name that is not a supported search parameter (lenient handling ignores it)."""


class Parser:
    def __init__(self, registry: Registry | None = None, *, base_url: str | None = None) -> None:
        self.registry = registry or default_registry()
        self.base_url = base_url

    def parse(self, resource_type: str | None, pairs: Iterable[tuple[str, str]], *, strict: bool = False,
              max_count: int = 1000) -> SearchRequest:
        pairs = list(pairs)
        types: tuple[str, ...] = ()
        for name, value in pairs:
            if name == "_type":
                types = self._result(name, value, lambda: results.parse_types(value))
        scope = (resource_type,) if resource_type else types
        fields: dict[str, object] = {}
        filters: list[Filter] = []
        includes, ignored, passthrough = [], [], []
        for name, value in pairs:
            base, _, modifier = name.partition(":")
            if name == "_type":
                continue
            if base in PASSTHROUGH:
                passthrough.append((name, value))
            elif base in UNSUPPORTED_RESULT:
                if strict:
                    raise InvalidRequest(f"{base} is not supported: {UNSUPPORTED_RESULT[base]}", expression=name)
                ignored.append(Ignored(name, value, UNSUPPORTED_RESULT[base]))
            elif base in ("_include", "_revinclude"):
                includes.append(self._result(name, value, lambda: results.parse_include(
                    value, modifier or None, base == "_revinclude", scope, self.registry)))
            elif name == "_sort":
                fields["sort"] = self._result(name, value, lambda: results.parse_sort(
                    value, scope or ("Resource",), self.registry))
            elif name == "_count":
                fields["count"] = self._result(name, value, lambda: results.parse_count(value, max_count))
            elif name == "_total":
                fields["total"] = self._result(name, value, lambda: results.parse_choice(value, results.TOTALS))
            elif name == "_summary":
                fields["summary"] = self._result(name, value, lambda: results.parse_choice(value, results.SUMMARIES))
            elif name == "_elements":
                fields["elements"] = self._result(name, value, lambda: results.parse_elements(value))
            elif value == "":
                # Empty parameters are ignored (https://hl7.org/fhir/R4/search.html#errors).
                ignored.append(Ignored(name, value, "empty value"))
            else:
                try:
                    filters.append(self.parse_filter(scope or ("Resource",), name, value))
                except UnknownParameter as exc:
                    if strict:
                        raise InvalidRequest(f"Unknown or unsupported search parameter {name!r}: {exc}",
                                             expression=name) from None
                    ignored.append(Ignored(name, value, str(exc)))
        if any(k.param == NEAR_SORT for k in fields.get("sort", ())) and near_source(filters) is None:  # type: ignore[attr-defined]
            raise InvalidRequest("_sort=near needs a near search with one position: near (Location), a chain "
                                 "ending in it (site.near) or site-status-near", expression="_sort")
        return SearchRequest(resource_type, tuple(filters), includes=tuple(includes), types=types,
                             ignored=tuple(ignored), passthrough=tuple(passthrough), **fields)  # type: ignore[arg-type]

    @staticmethod
    def _result(name: str, value: str, parse):  # type: ignore[no-untyped-def]
        try:
            return parse()
        except ValueError as exc:
            raise InvalidRequest(f"Invalid value {value!r} for {name}: {exc}", expression=name) from None

    def parse_filter(self, resource_types: tuple[str, ...], name: str, value: str) -> Filter:
        """One ``name=value`` pair; raises UnknownParameter or InvalidRequest."""
        if len(resource_types) != 1:
            # A system search with several _type values only accepts parameters they all share.
            found = [self.parse_filter((t,), name, value) for t in resource_types]
            if len({(f.param, f.type) for f in found}) != 1:
                raise UnknownParameter("not common to every _type")
            return found[0]
        chain, rtype, rest = self._chain(resource_types[0], name)
        code, _, modifier = rest.partition(":")
        param = self.registry.get(rtype, code)
        if param is None or (param.expression is None and code not in FULLTEXT):
            raise UnknownParameter(f"{rtype} has no search parameter {code!r}")
        # "site": a token and the near position of the referenced resource (registry.is_site_composite)
        ftype = "fulltext" if code in FULLTEXT else "site" if self.registry.is_site_composite(param) else param.type
        mod = modifier or None
        self._check_modifier(param, mod, name)
        raw = split_escaped(value, ",") if param.multiple_or or mod == "missing" else [value]
        try:
            parsed = tuple(self._value(param, mod, item) for item in raw)
        except ValueError as exc:
            raise InvalidRequest(f"Invalid value {value!r} for search parameter {name!r}: {exc}",
                                 expression=name) from None
        if mod == "text" and all(isinstance(x, TextValue) for x in parsed):
            parsed = synonyms.expand(rtype, code, parsed)  # type: ignore[arg-type]
        return Filter(name, rtype, code, ftype, mod, parsed, tuple(raw), tuple(chain), param.range_contains)

    def _chain(self, rtype: str, name: str) -> tuple[list[ChainLink], str, str]:
        """Follow ``_has:`` prefixes and ``a.b.c`` chains; returns the links, final type and final name."""
        links: list[ChainLink] = []
        while True:
            if len(links) > MAX_CHAIN:
                raise UnknownParameter("chain too deep")
            if name.startswith("_has:"):
                parts = name.split(":", 3)
                if len(parts) != 4 or parts[1] not in RESOURCE_TYPE_SET:
                    raise UnknownParameter("expected _has:Type:reference-param:param")
                source, code = parts[1], parts[2]
                ref = self.registry.get(source, code)
                if ref is None or ref.type != "reference" or (ref.targets and rtype not in ref.targets):
                    raise UnknownParameter(f"{source}.{code} does not reference {rtype}")
                links.append(ChainLink(source, code, (rtype,), reverse=True))
                rtype, name = source, parts[3]
                continue
            head, dot, rest = name.partition(".")
            if not dot:
                return links, rtype, name
            code, _, type_mod = head.partition(":")
            ref = self.registry.get(rtype, code)
            if ref is None or ref.type != "reference":
                raise UnknownParameter(f"{rtype} has no reference parameter {code!r} to chain from")
            next_code = rest.split(".", 1)[0].split(":", 1)[0]
            candidates = (type_mod,) if type_mod else (ref.targets or tuple(sorted(RESOURCE_TYPE_SET)))
            targets = tuple(t for t in candidates if t in RESOURCE_TYPE_SET and (
                next_code.startswith("_has") or self.registry.get(t, next_code) is not None))
            if not targets:
                raise UnknownParameter(f"no target of {rtype}.{code} has parameter {next_code!r}")
            if len(targets) > 1:
                # Ambiguous chains are refused by the spec's advice; the client can add :Type.
                raise InvalidRequest(f"Chain {name!r} is ambiguous between {', '.join(targets)}: use {code}:Type",
                                     expression=name)
            links.append(ChainLink(rtype, code, targets))
            rtype, name = targets[0], rest

    def _check_modifier(self, param: SearchParam, modifier: str | None, name: str) -> None:
        if modifier is None:
            return
        if param.type == "reference" and modifier in RESOURCE_TYPE_SET:
            if param.targets and modifier not in param.targets:
                raise InvalidRequest(f"Parameter {name!r}: {param.code} cannot reference {modifier}", expression=name)
            return
        if modifier not in param.modifiers or (modifier == "of-type" and "identifier" not in param.code):
            why = UNSUPPORTED_MODIFIERS.get((param.type, modifier), "")
            if param.type == "reference" and modifier == "type":
                why = f"write the target type itself as the modifier, e.g. {param.code}:{(param.targets or ('Type',))[0]}"
            raise InvalidRequest(f"Modifier :{modifier} is not supported by {param.type} parameter {param.code!r}"
                                 + (f": {why}" if why else ""), expression=name)

    def _value(self, param: SearchParam, modifier: str | None, text: str) -> Value:
        if modifier == "missing":
            if text not in ("true", "false"):
                raise ValueError("expected true or false")
            return MissingValue(text == "true")
        ptype = param.type
        if param.code in FULLTEXT:
            return v.parse_text_query(text)
        if modifier in ("text", "exact", "contains") or ptype == "string":
            return v.parse_text(text)
        if modifier in ("in", "not-in", "below", "above") and ptype in ("token", "uri", "reference"):
            return v.parse_uri(text)
        if modifier == "of-type":
            return v.parse_of_type(text)
        if modifier == "identifier" or ptype == "token":
            return v.parse_token(text)
        if ptype == "date":
            return v.parse_date(text, param.comparators)
        if ptype == "number":
            return v.parse_number(text, param.comparators)
        if ptype == "quantity":
            return v.parse_quantity(text, param.comparators)
        if ptype == "reference":
            type_mod = modifier if modifier in RESOURCE_TYPE_SET else None
            return v.parse_reference_value(text, param.targets, type_mod, self.base_url)
        if ptype == "uri":
            return v.parse_uri(text)
        if ptype == "special" and param.code == "near":
            return v.parse_near(text)
        if ptype == "composite":
            return self._composite(param, text)
        raise ValueError(f"{ptype} parameters are not supported")

    def _composite(self, param: SearchParam, text: str) -> CompositeValue:
        parts = split_escaped(text, "$")
        components = self.registry.component_params(param)
        if len(parts) != len(components):
            raise ValueError(f"expected {len(components)} $-separated components")
        return CompositeValue(tuple(self._value(c, None, p) for c, p in zip(components, parts)))


def parse_search(resource_type: str | None, pairs: Iterable[tuple[str, str]], *, strict: bool = False,
                 max_count: int = 1000, base_url: str | None = None) -> SearchRequest:
    """Convenience wrapper around a Parser over the default registry."""
    return Parser(base_url=base_url).parse(resource_type, pairs, strict=strict, max_count=max_count)
