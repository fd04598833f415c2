"""The study page's content from the study and what it references (``$everything``), in the registry page's order:
summary, conditions, interventions and arms, outcomes, eligibility, design, sponsors, investigators, contacts,
locations, identifiers, dates (https://hl7.org/fhir/R4/researchstudy.html, https://clinicaltrials.gov/data-api/api).
"""
from __future__ import annotations

from typing import Any

from ..search.trial import AGE_CODE, ELIGIBILITY_SYSTEM, SEX_CODE
from .records import (codes, concept_text, ext_name, extensions, first_value, human_date, paragraphs, part, phases,
                      reference_key, status_text, study_type, value)

Resources = dict[str, dict[str, Any]]  # "Type/id" -> resource
_OBJECTIVES = (("primary", "Primary outcome measures"), ("secondary", "Secondary outcome measures"),
               ("exploratory", "Other outcome measures"))
_DATE_LABELS = {"start": "Study start", "end": "Study completion"}


def _resolve(ref: Any, resources: Resources) -> dict[str, Any] | None:
    key = reference_key(ref)
    return resources.get(key) if key else None


def contact(detail: Any) -> dict[str, Any]:
    """A ContactDetail as name, role, phones and e-mails."""
    detail = detail if isinstance(detail, dict) else {}
    role = first_value(detail, "contact-role")
    phones, emails = [], []
    for point in detail.get("telecom") or ():
        text = str(point.get("value", ""))
        if ext := first_value(point, "phone-extension"):
            text += f" ext. {ext}"
        (emails if point.get("system") == "email" else phones).append(text)
    return {"name": detail.get("name", ""), "role": concept_text(role) if isinstance(role, dict) else (role or ""),
            "phones": phones, "emails": emails}


def _arms(study: dict[str, Any], plan: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Arms with their interventions (PlanDefinition actions), else ResearchStudy.arm without them."""
    if plan and plan.get("action"):
        out = []
        for action in plan["action"]:
            interventions = [{"name": sub.get("title", ""), "type": concept_text((sub.get("code") or [{}])[0]),
                              "description": paragraphs(sub.get("description")),
                              "other_names": [value(e) for e in extensions(sub, "intervention-other-name")]}
                             for sub in action.get("action") or ()]
            out.append({"name": action.get("title", ""), "type": concept_text((action.get("code") or [{}])[0]),
                        "description": paragraphs(action.get("description")), "interventions": interventions})
        return out
    return [{"name": arm.get("name", ""), "type": concept_text(arm.get("type")),
             "description": paragraphs(arm.get("description")), "interventions": []}
            for arm in study.get("arm") or ()]


def _outcomes(study: dict[str, Any]) -> list[dict[str, Any]]:
    groups = []
    for code, title in _OBJECTIVES:
        items = [{"measure": o.get("name", ""), "time_frame": first_value(o, "outcome-time-frame") or "",
                  "description": paragraphs(first_value(o, "outcome-description"))}
                 for o in study.get("objective") or ()
                 if any(c.get("code") == code for c in (o.get("type") or {}).get("coding") or ())]
        if items:
            groups.append({"title": title, "entries": items})
    return groups


def _age(rng: dict[str, Any]) -> str:
    low, high = rng.get("low") or {}, rng.get("high") or {}

    def words(q: dict[str, Any]) -> str:
        return f"{q.get('value'):g} {q.get('unit') or q.get('code') or ''}".strip()

    if low and high:
        return f"{words(low)} to {words(high)}"
    return f"{words(low)} and older" if low else (f"up to {words(high)}" if high else "Any age")


def eligibility(group: dict[str, Any] | None) -> dict[str, Any]:
    """Ages, sexes, healthy volunteers and each criterion (inclusion or exclusion), with its codes if coded."""
    out: dict[str, Any] = {"ages": "Any age", "sexes": "All", "healthy": None, "inclusion": [], "exclusion": [],
                           "text": [], "quantity": None}
    if group is None:
        return out
    out["quantity"] = group.get("quantity")
    for ch in group.get("characteristic") or ():
        coding = {(c.get("system"), c.get("code")) for c in (ch.get("code") or {}).get("coding") or ()}
        if ("http://snomed.info/sct", AGE_CODE) in coding and "valueRange" in ch:
            out["ages"] = _age(ch["valueRange"])
        elif ("http://snomed.info/sct", SEX_CODE) in coding:
            out["sexes"] = concept_text(ch.get("valueCodeableConcept")) or "All"
        elif (ELIGIBILITY_SYSTEM, "healthy-volunteer") in coding:
            out["healthy"] = bool(ch.get("valueBoolean")) != bool(ch.get("exclude"))
        else:
            concept = ch.get("valueCodeableConcept") if isinstance(ch.get("valueCodeableConcept"), dict) else None
            item = {"text": concept_text(ch.get("code")) or concept_text(concept),
                    "codes": codes(ch.get("code")) + (codes(concept) if concept else [])}
            out["exclusion" if ch.get("exclude") else "inclusion"].append(item)
    if not out["inclusion"] and not out["exclusion"]:
        out["text"] = paragraphs(first_value(group, "eligibility-criteria"))
    return out


def _party(ref: Any, resources: Resources) -> dict[str, Any]:
    target = _resolve(ref, resources) or {}
    kind = concept_text((target.get("type") or [{}])[0]) if target.get("type") else ""
    return {"name": (ref or {}).get("display") or target.get("name") or reference_key(ref) or "", "kind": kind,
            "key": reference_key(ref)}


def _investigators(study: dict[str, Any], resources: Resources) -> list[dict[str, Any]]:
    out = []
    for ext in extensions(study, "overall-official"):
        ref = part(ext, "practitioner")
        person = _resolve(ref, resources) or {}
        name = (ref or {}).get("display") or concept_text({"text": ((person.get("name") or [{}])[0]).get("text")})
        out.append({"name": name, "role": concept_text(part(ext, "role")),
                    "affiliation": part(ext, "affiliation") or first_value(person, "affiliation") or ""})
    if not out and study.get("principalInvestigator"):
        out.append({"name": _party(study["principalInvestigator"], resources)["name"], "role": "Principal investigator",
                    "affiliation": ""})
    return out


def _site_details(study: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Status and contacts per site: on the site reference (site-status, site-contact) or, as mapped before,
    in one ``site`` extension per site."""
    out: dict[str, dict[str, Any]] = {}
    for ref in study.get("site") or ():
        key = reference_key(ref)
        if key:
            status = first_value(ref, "site-status")
            out[key] = {"status": concept_text(status), "contacts": [contact(value(e))
                                                                    for e in extensions(ref, "site-contact")]}
    for ext in extensions(study, "site"):
        key = reference_key(part(ext, "location"))
        if key and not out.get(key, {}).get("status"):
            out[key] = {"status": concept_text(part(ext, "status")),
                        "contacts": [contact(value(p)) for p in ext.get("extension") or () if p.get("url") == "contact"]}
    return out


def locations(study: dict[str, Any], resources: Resources) -> list[dict[str, Any]]:
    details = _site_details(study)
    out = []
    for ref in study.get("site") or ():
        key = reference_key(ref)
        loc = _resolve(ref, resources) or {}
        address = loc.get("address") or {}
        place = ", ".join(str(address[k]) for k in ("city", "state", "postalCode", "country") if address.get(k))
        info = details.get(key or "", {})
        out.append({"name": loc.get("name") or (ref or {}).get("display", ""), "place": place, "key": key,
                    "status": info.get("status", ""), "contacts": info.get("contacts", [])})
    return out


def _identifiers(study: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for ident in study.get("identifier") or ():
        kind = concept_text(ident.get("type")) or ("ClinicalTrials.gov" if ident.get("use") == "official" else
                                                   ident.get("system", ""))
        out.append({"value": str(ident.get("value", "")), "kind": kind,
                    "by": (ident.get("assigner") or {}).get("display", "")})
    return out


def _dates(study: dict[str, Any]) -> list[tuple[str, str]]:
    period = study.get("period") or {}
    out = [(_DATE_LABELS[k], human_date(period[k])) for k in ("start", "end") if period.get(k)]
    for ext in study.get("extension") or ():
        name = ext_name(str(ext.get("url", "")))
        if not name.endswith("-date"):
            continue
        day = value(ext) if "extension" not in ext else part(ext, "date")
        if day:
            out.append((name[:-5].replace("-", " ").replace("qc", "QC").capitalize(), human_date(day)))
    return out


def _web_link(url: Any) -> str:
    """Only http(s) addresses become links: a record's ``javascript:`` URL stays text-free."""
    return url if isinstance(url, str) and url.lower().startswith(("https://", "http://")) else ""


def study_page(study: dict[str, Any], resources: Resources) -> dict[str, Any]:
    """Everything the page shows, as plain values for the template (which escapes them)."""
    group = next((g for g in (_resolve(r, resources) for r in study.get("enrollment") or ()) if g), None)
    plan = next((p for p in (_resolve(r, resources) for r in study.get("protocol") or ()) if p), None)
    design = [c.get("text", "") for c in study.get("category") or () if c.get("text")]
    if purpose := concept_text(study.get("primaryPurposeType")):
        design.insert(0, f"Primary purpose: {purpose}")
    return {
        "id": study.get("id", ""), "title": study.get("title", ""),
        "official_title": first_value(study, "official-title") or "",
        "status": status_text(study), "phases": phases(study), "study_type": study_type(study),
        "why_stopped": concept_text(study.get("reasonStopped")),
        "summary": paragraphs(study.get("description")),
        "details": paragraphs(first_value(study, "detailed-description")),
        "conditions": [{"text": concept_text(c), "codes": codes(c)} for c in study.get("condition") or ()],
        "keywords": [concept_text(k) for k in study.get("keyword") or ()],
        "arms": _arms(study, plan), "outcomes": _outcomes(study), "eligibility": eligibility(group),
        "design": design,
        "sponsor": _party(study.get("sponsor"), resources) if study.get("sponsor") else None,
        "collaborators": [_party(value(e), resources) for e in extensions(study, "collaborator")],
        "investigators": _investigators(study, resources),
        "contacts": [contact(c) for c in study.get("contact") or ()],
        "locations": locations(study, resources),
        "identifiers": _identifiers(study), "dates": _dates(study),
        "source": _web_link((study.get("meta") or {}).get("source")),
    }


__all__ = ["contact", "eligibility", "locations", "study_page"]
