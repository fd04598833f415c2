"""Bearer-token protection of writes and of patient data, https://hl7.org/fhir/R4/security.html#http.

One token, ``FHIRTRIAL_API_TOKEN``, guards writes and every resource of the Patient compartment (which resources
those are: search/compartment.py). This module is the one place that decides; the routes, the read fast path,
batch/transaction entries, ``$everything`` and ``$export`` call it with the request's credentials:

- ``access(authorization, settings)`` (``access_of(request)``): what the credentials allow;
- ``require_writer``: a write;
- ``guard_type`` / ``guard_resource``: an interaction that targets patient data (a patient type, an actual Group)
  answers 401 (403 when no token is configured at all);
- ``guard_search``: a search that targets patient data (its type, a ``_type``, a chain or ``_has`` through
  patient data, a criterion on ``Group.member``) answers 401; a system search without ``_type`` is narrowed to
  the public types, a Group search to the public (descriptive) Groups, with a warning to report;
- ``Screen``: drops what a public answer would merely include (``_include``/``_revinclude``, ``$everything``) and
  remembers that it did, so the answer can say so.

No token configured: nobody reads patient data, except in the local-testing open mode
(``FHIRTRIAL_ALLOW_ANONYMOUS_WRITES``), where everyone may write and so everyone may read everything.
"""
from __future__ import annotations

import dataclasses
import hmac
from dataclasses import dataclass
from typing import Any, Mapping

from starlette.requests import Request

from ..config import Settings
from ..errors import FhirError, Forbidden, Issue, Unauthorized
from ..resources import RESOURCE_TYPES
from ..search.compartment import PatientCompartment, patient_compartment
from ..search.parser import parse_search
from ..search.request import Filter, SearchRequest
from ..store.repository import StoredResource

NEEDS_TOKEN = "'Authorization: Bearer <token>'"
LEFT_OUT = (f"Resources of the Patient compartment (patient data) were left out of this answer: they need "
            f"{NEEDS_TOKEN}")


@dataclass(frozen=True)
class Access:
    """What one request's credentials allow."""

    patient_data: bool
    # Why not: "missing" (no bearer token sent), "invalid" (a wrong one), "unconfigured" (the server has none).
    reason: str = ""

    def deny(self, what: str) -> FhirError:
        """The error for an interaction on ``what`` (e.g. "Patient/p1", "A search of Condition")."""
        if self.reason == "unconfigured":
            return Forbidden(f"{what}: patient data is not served, no API token is configured (FHIRTRIAL_API_TOKEN)")
        if self.reason == "invalid":
            return Unauthorized(f"{what}: the bearer token is not valid")
        return Unauthorized(f"{what}: patient data needs {NEEDS_TOKEN}")

    def require(self, what: str) -> None:
        if not self.patient_data:
            raise self.deny(what)


def _bearer(authorization: str | None) -> str | None:
    scheme, _, given = (authorization or "").partition(" ")
    given = given.strip()
    return given if scheme.lower() == "bearer" and given else None


def access(authorization: str | None, settings: Settings) -> Access:
    """The access of a request carrying this ``Authorization`` header (token compared in constant time)."""
    token = settings.api_token
    if not token:
        return Access(True) if settings.open_mode else Access(False, "unconfigured")
    given = _bearer(authorization)
    if given is None:
        return Access(False, "missing")
    if not hmac.compare_digest(given.encode(), token.encode()):
        return Access(False, "invalid")
    return Access(True)


def access_of(request: Request) -> Access:
    return access(request.headers.get("authorization"), request.app.state.settings)


def require_bearer(request: Request, settings: Settings, what: str) -> None:
    """When a token is configured, ``what`` needs it (Bulk Data: every ``$export`` request)."""
    if settings.api_token:
        granted = access(request.headers.get("authorization"), settings)
        if not granted.patient_data:
            raise Unauthorized("The bearer token is not valid" if granted.reason == "invalid"
                               else f"{what} needs {NEEDS_TOKEN}")


def require_writer(request: Request, settings: Settings) -> None:
    """Writes need ``Authorization: Bearer <FHIRTRIAL_API_TOKEN>``; no token configured means read-only."""
    if not settings.api_token:
        if settings.open_mode:
            return
        raise Forbidden("This server is read-only: no API token is configured (FHIRTRIAL_API_TOKEN)")
    require_bearer(request, settings, "Writes")


# -- interactions on one type or resource ---------------------------------------------------------------------
def guard_type(granted: Access, resource_type: str, what: str | None = None) -> None:
    """Every resource of a patient type is patient data: reading any of them needs the token."""
    if resource_type in patient_compartment().patient_types:
        granted.require(what or f"Resources of type {resource_type}")


def guard_resource(granted: Access, resource_type: str, resource_id: str,
                   body: bytes | Mapping[str, Any] | None) -> None:
    """This resource (a patient type, or a Group holding members) may only be answered with the token."""
    if granted.patient_data:
        return
    compartment = patient_compartment()
    held = (compartment.holds_json(resource_type, body) if isinstance(body, bytes) or body is None
            else compartment.holds(resource_type, body))
    if held:
        raise granted.deny(f"{resource_type}/{resource_id}")


def guard_history(granted: Access, resource_type: str | None, resource_id: str | None) -> None:
    """A history Bundle has no place to say that versions were left out (R4 has no outcome entry there), so
    history that may hold patient data needs the token: system level, patient types, and a member type (Group) at
    type level. One instance's versions are checked by ``guard_resource`` as they are read."""
    if resource_type is None:
        granted.require("History at system level (it may hold patient data)")
        return
    guard_type(granted, resource_type, f"History of {resource_type}")
    if resource_id is None and resource_type in patient_compartment().member_params:
        granted.require(f"History of every {resource_type} (actual ones hold patient data; read the history of "
                        f"one {resource_type} instead)")


def guard_export(granted: Access, scope: str | None, types: list[str] | None) -> tuple[list[str] | None,
                                                                                         list[Issue]]:
    """The ``_type`` list of a Bulk Data export for these credentials, and its warnings: a public export refuses
    a patient type named (scope or ``_type``) and leaves the others out; actual Groups are left out as it runs
    (export/jobs.py), so naming Group, or no type at all, gets the warning."""
    if granted.patient_data:
        return types, []
    compartment = patient_compartment()
    for named in ([scope] if scope else []) + (types or []):
        guard_type(granted, named, f"$export of {named}")
    issues = [Issue("warning", "suppressed", LEFT_OUT)] if types is None or set(types) & compartment.types else []
    return [t for t in (types or RESOURCE_TYPES) if t not in compartment.patient_types], issues


class Screen:
    """A ``Visible`` predicate for answers that may merely include patient data: keeps what the credentials may
    see, and counts what it withheld (then the answer adds the ``LEFT_OUT`` warning)."""

    def __init__(self, granted: Access) -> None:
        self.granted = granted
        self.compartment: PatientCompartment = patient_compartment()
        self.withheld = 0

    def __call__(self, stored: StoredResource) -> bool:
        return self.allows(stored.resource_type, stored.body)

    def allows(self, resource_type: str, body: bytes | None) -> bool:
        if self.granted.patient_data or not self.compartment.holds_json(resource_type, body):
            return True
        self.withheld += 1
        return False

    def issues(self) -> list[Issue]:
        return [Issue("warning", "suppressed", LEFT_OUT)] if self.withheld else []


def screen(granted: Access) -> Screen | None:
    """The screen for a public answer; None when the credentials see everything."""
    return None if granted.patient_data else Screen(granted)


# -- search ---------------------------------------------------------------------------------------------------
def _hops(f: Filter) -> list[tuple[str, str | None]]:
    """The (type, parameter) pairs a filter's criteria run over: each chain hop, ``_has`` source and its end."""
    hops: list[tuple[str, str | None]] = []
    for link in f.chain:
        hops.append((link.source_type, link.param))
        hops += [(t, None) for t in link.target_types] if not link.reverse else []
    hops.append((f.resource_type, f.param))
    return hops


def _check_filter(granted: Access, compartment: PatientCompartment, f: Filter) -> None:
    for rtype, param in _hops(f):
        if rtype in compartment.patient_types or param in compartment.member_params.get(rtype, ()):
            raise granted.deny(f"Search parameter {f.name!r} runs over patient data ({rtype}"
                               f"{'.' + param if param else ''})")


def guard_search(granted: Access, parsed: SearchRequest) -> tuple[SearchRequest, list[Issue]]:
    """The search to run for these credentials, and the warnings the Bundle must carry; raises when the search
    targets patient data. ``parsed`` itself stays what the client asked for (the Bundle's links)."""
    if granted.patient_data:
        return parsed, []
    compartment = patient_compartment()
    if parsed.resource_type in compartment.patient_types:
        raise granted.deny(f"A search of {parsed.resource_type}")
    named = [t for t in parsed.types if t in compartment.types]
    if named:
        members = [t for t in named if t in compartment.member_params]
        hint = f" (search {' and '.join(members)} by type for the public ones)" if members else ""
        raise granted.deny(f"A system search with _type {', '.join(named)}{hint}")
    for f in parsed.filters:
        _check_filter(granted, compartment, f)
    if parsed.resource_type in compartment.member_params:  # e.g. Group: the descriptive ones only
        criteria = compartment.public_criteria(parsed.resource_type)
        extra = parse_search(parsed.resource_type, criteria, strict=True).filters
        return dataclasses.replace(parsed, filters=parsed.filters + extra), []
    if parsed.resource_type is None and not parsed.types:
        return (dataclasses.replace(parsed, types=compartment.public_types),
                [Issue("warning", "suppressed", LEFT_OUT)])
    return parsed, []


__all__ = ["Access", "LEFT_OUT", "Screen", "access", "access_of", "guard_export", "guard_history", "guard_resource",
           "guard_search", "guard_type", "require_bearer", "require_writer", "screen"]
