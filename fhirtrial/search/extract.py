"""FhirPathIndexer: a resource's index entries from its search parameters' expressions (https://hl7.org/fhir/R4/search.html).

Each applicable parameter's expression is compiled once per type (fast walker, else fhirpathpy) and its
results are converted by parameter type. ``resolve()`` sees contained resources and the ``related``
resources the caller passes (e.g. a study's enrollment Group), so cross-resource parameters can be indexed
at write time.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from itertools import product
from typing import Any, Callable, Mapping

from fhirtrial.errors import FhirError, IndexingError
from fhirtrial.search.convert import ADDERS, add_number, add_reference, add_token
from fhirtrial.search.fallback import compile_fallback
from fhirtrial.search.fhirpath_compile import Env, Unsupported, compile_path
from fhirtrial.search.fhirpath_syntax import resolved_paths, split_union
from fhirtrial.search.fulltext import content_text, narrative_text
from fhirtrial.search.index import ROWS_BY_TYPE, CompositeEntry, ResourceIndex, SiteEntry
from fhirtrial.search.references import parse_reference
from fhirtrial.search.registry import Registry, SearchParam, default_registry
from fhirtrial.search.trial import apply_trial_rules

log = logging.getLogger(__name__)
Evaluator = Callable[[list[Any], Env], list[Any]]


class _Env:
    __slots__ = ("root", "related", "base_url", "cache")

    def __init__(self, root: dict[str, Any], related: Mapping[str, dict[str, Any]], base_url: str | None) -> None:
        self.root, self.related, self.base_url = root, related, base_url
        self.cache: dict[Any, list[Any]] = {}

    def resolve(self, reference: Any) -> dict[str, Any] | None:
        text = reference.get("reference") if isinstance(reference, dict) else None
        if not isinstance(text, str):
            return None
        if text.startswith("#"):
            return next((c for c in self.root.get("contained", ()) if c.get("id") == text[1:]), None)
        if not self.related:
            return None
        parsed = parse_reference(text, self.base_url)
        if parsed is None or parsed.target_id is None:
            return None
        return self.related.get(f"{parsed.target_type}/{parsed.target_id}")


@dataclass(frozen=True, slots=True)
class CompiledParam:
    param: SearchParam
    evaluate: Evaluator
    fast: bool
    components: tuple[tuple[SearchParam, Evaluator], ...] = ()
    site: bool = False  # registry.is_site_composite: indexed as SiteEntry rows


def compile_expression(expression: str, context_type: str, *, fast: bool = True) -> tuple[Evaluator, bool]:
    if fast:
        try:
            return compile_path(expression, context_type).fn, True
        except Unsupported as exc:
            log.debug("fhirpathpy fallback for %r: %s", expression, exc)
    return compile_fallback(expression, context_type), False


class FhirPathIndexer:
    """The Indexer protocol over the registry's FHIRPath expressions."""

    def __init__(self, registry: Registry | None = None, *, base_url: str | None = None, fast: bool = True) -> None:
        self.registry = registry or default_registry()
        self.base_url = base_url
        self.fast = fast
        self._plans: dict[str, list[CompiledParam]] = {}
        self._resolving: dict[str, list[Evaluator]] = {}  # per type: the compiled ``X.resolve()`` prefixes

    def plan(self, resource_type: str) -> list[CompiledParam]:
        plan = self._plans.get(resource_type)
        if plan is None:
            plan = self._plans[resource_type] = [self._compile(p, resource_type)
                                                 for p in self.registry.for_type(resource_type) if p.expression]
        return plan

    def _compile(self, param: SearchParam, resource_type: str) -> CompiledParam:
        assert param.expression is not None
        evaluate, fast = compile_expression(param.expression, resource_type, fast=self.fast)
        components: list[tuple[SearchParam, Evaluator]] = []
        if self.registry.is_site_composite(param):
            # only the token part is read here: the position is the referenced resource's own (SiteEntry)
            context = compile_path(param.expression, resource_type).type or "Reference"
            comp, comp_param = param.components[0], self.registry.component_params(param)[0]
            components.append((comp_param, compile_path(comp.expression, context, on_root=False).fn))
        elif param.type == "composite":
            # Components are relative to each selected element, whose type the first union part fixes.
            context = compile_path(split_union(param.expression)[0], resource_type).type
            for comp, comp_param in zip(param.components, self.registry.component_params(param)):
                components.append((comp_param, compile_path(comp.expression, context or resource_type, on_root=False).fn))
        return CompiledParam(param, evaluate, fast, tuple(components), self.registry.is_site_composite(param))

    def index(self, resource: dict[str, Any], related: Mapping[str, dict[str, Any]] | None = None) -> ResourceIndex:
        """Index entries of ``resource``; ``related`` maps "Type/id" to resources ``resolve()`` may reach."""
        out = ResourceIndex()
        env = _Env(resource, related or {}, self.base_url)
        focus = [resource]
        for compiled in self.plan(resource.get("resourceType", "")):
            try:
                self._add(out, compiled, focus, env)
            except FhirError:
                raise
            except Exception as exc:  # noqa: BLE001 - never store a resource silently missing index rows
                raise _failure(compiled.param, resource, exc) from exc
        apply_trial_rules(out, resource, env.resolve)
        # Repeated values (e.g. two interventions of one type) need one row, not two.
        for name in ("tokens", "references", "strings", "sites"):
            rows = getattr(out, name)
            if len(rows) > 1:
                setattr(out, name, list(dict.fromkeys(rows)))
        out.text = narrative_text(resource)
        out.content = content_text(resource)
        return out

    def _add(self, out: ResourceIndex, compiled: CompiledParam, focus: list[Any], env: _Env) -> None:
        """The index entries of one parameter."""
        param = compiled.param
        values = compiled.evaluate(focus, env)
        if not values:
            return
        code, ptype = param.code, param.type
        if ptype == "composite" and compiled.site:
            self._add_sites(out, compiled, values, env)
        elif ptype == "composite":
            self._add_composites(out, compiled, values, env)
        elif ptype == "reference":
            for v in values:
                add_reference(out, code, v, self.base_url)
        elif ptype == "number" and param.range_contains:
            for v in values:
                add_number(out, code, v, in_years=True)
        else:
            adder = ADDERS.get(ptype)
            if adder is not None:
                for v in values:
                    adder(out, code, v)

    def _add_sites(self, out: ResourceIndex, compiled: CompiledParam, items: list[Any], env: Env) -> None:
        """One SiteEntry per coding of the token part on each referencing element (a site without status, or
        with text only, cannot match the composite and gets none)."""
        evaluate = compiled.components[0][1]
        for item in items:
            ref = item.get("reference") if type(item) is dict else None
            parsed = parse_reference(ref, self.base_url) if isinstance(ref, str) else None
            if parsed is None or parsed.target_id is None:
                continue
            scratch = ResourceIndex()
            for v in evaluate([item], env):
                add_token(scratch, compiled.param.code, v)
            for t in scratch.tokens:
                if t.code is not None and t.param == compiled.param.code:
                    out.sites.append(SiteEntry(compiled.param.code, parsed.target_type, parsed.target_id,
                                               t.system, t.code))

    def _add_composites(self, out: ResourceIndex, compiled: CompiledParam, items: list[Any], env: Env) -> None:
        for item in items:
            per_component = []
            for comp_param, evaluate in compiled.components:
                values = evaluate([item], env)
                if not values:
                    break  # a combination needs every component
                scratch = ResourceIndex()
                adder = ADDERS[comp_param.type]
                for v in values:
                    adder(scratch, comp_param.code, v)
                rows = [e for e in getattr(scratch, ROWS_BY_TYPE[comp_param.type]) if e.param == comp_param.code
                        # Text-only concepts cannot match a composite's system|code component.
                        and (comp_param.type != "token" or e.code is not None)]
                if not rows:
                    break
                per_component.append(rows)
            else:
                for combo in product(*per_component):
                    out.composites.append(CompositeEntry(compiled.param.code, tuple(combo)))

    def references_to_resolve(self, resource: dict[str, Any]) -> list[str]:
        """Local "Type/id" references whose targets the caller should pass as ``related``."""
        wanted: list[str] = []
        rtype = resource.get("resourceType", "")
        finders = self._resolving.get(rtype)
        if finders is None:
            prefixes = {p for c in self.plan(rtype) for p in resolved_paths(c.param.expression or "")}
            finders = self._resolving[rtype] = [compile_path(prefix, rtype).fn for prefix in sorted(prefixes)]
        if not finders:
            return wanted
        env = _Env(resource, {}, self.base_url)
        for find in finders:
            for ref in find([resource], env):
                parsed = parse_reference(ref.get("reference", "") if isinstance(ref, dict) else "", self.base_url)
                if parsed and parsed.target_id and (key := f"{parsed.target_type}/{parsed.target_id}") not in wanted:
                    wanted.append(key)
        return wanted


def _failure(param: SearchParam, resource: dict[str, Any], exc: Exception) -> IndexingError:
    """The write fails, logged, with an OperationOutcome naming the parameter that cannot be indexed."""
    rtype, rid = resource.get("resourceType"), resource.get("id")
    where = f"{rtype}/{rid}" if rid else str(rtype)
    log.error("search parameter %s (%s) failed on %s", param.code, param.expression, where, exc_info=exc)
    return IndexingError(f"The search parameter '{param.code}' cannot be indexed on {where}: its expression "
                         f"{param.expression!r} failed ({type(exc).__name__}: {exc}); the resource is not stored "
                         "without its search index", expression=param.code)


__all__ = ["CompiledParam", "FhirPathIndexer", "compile_expression"]
