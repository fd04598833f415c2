"""One CT.gov API v2 study -> ResearchStudy plus its protocol, eligibility, sponsors and sites, https://hl7.org/fhir/R4/researchstudy.html."""
from __future__ import annotations

from typing import Any

from ..canonical import CTGOV_SYSTEM
from .artifacts import related_artifacts
from .bundle import MappedStudy, ResourceSet
from .codes import field_concept
from .dates import fhir_date, instant
from .design import STATUS, categories, phase, primary_purpose, protocol_status, status
from .eligibility import eligibility_group
from .extensions import table_extensions
from .parties import central_contacts, officials, organization, sponsors
from .protocol import arms, plan_definition
from .record import Record
from .sites import sites
from .tables import Tables, get_tables

IDENT = "protocolSection.identificationModule"
OUTCOMES = "protocolSection.outcomesModule"
MESH = "http://terminology.hl7.org/CodeSystem/MSH"


def _identifiers(rec: Record, out: ResourceSet) -> list[dict[str, Any]]:
    ids: list[dict[str, Any]] = [{"use": "official", "system": CTGOV_SYSTEM, "value": rec.nct_id}]
    for alias in rec.texts(rec.node(f"{IDENT}.nctIdAliases"), f"{IDENT}.nctIdAliases"):
        ids.append({"use": "old", "system": CTGOV_SYSTEM, "value": alias})
    org_path = f"{IDENT}.organization"
    assigner = organization(rec, rec.obj(rec.node(org_path), org_path), org_path, "fullName", out)
    org_id = rec.obj(rec.node(f"{IDENT}.orgStudyIdInfo"), f"{IDENT}.orgStudyIdInfo")
    entries = [(org_id, f"{IDENT}.orgStudyIdInfo", "Organization study ID", assigner)] if org_id else []
    spath = f"{IDENT}.secondaryIdInfos"
    entries += [(s, spath + "[]", "Secondary ID", None) for s in rec.objs(rec.node(spath), spath)]
    for obj, path, label, issuer in entries:
        value = rec.text(obj.get("id"), f"{path}.id")
        if value is None:
            continue
        ident: dict[str, Any] = {}
        link = rec.text(obj.get("link"), f"{path}.link")
        if link is not None:
            ident["extension"] = [{"url": rec.tables.ext("identifier-link"), "valueString": link}]
        ident["use"] = "secondary"
        kind = field_concept(rec, obj, "type", f"{path}.type")
        ident["type"] = {"coding": kind["coding"], "text": f"{label}: {kind['text']}"} if kind and "coding" in kind \
            else {"text": f"{label}: {kind['text']}" if kind else label}
        ident["value"] = value
        domain = rec.text(obj.get("domain"), f"{path}.domain")
        if issuer is not None or domain is not None:
            ident["assigner"] = issuer if issuer is not None else {"display": domain}
        ids.append(ident)
    return ids


def _mesh_concepts(rec: Record, texts: list[str], browse: str) -> list[dict[str, Any]]:
    """Each text as a concept; a MeSH term equal to a text (ignoring case) codes it, the rest are added after."""
    path = f"derivedSection.{browse}.meshes"
    concepts = [{"text": t} for t in texts]
    index = {t.casefold(): c for t, c in zip(texts, concepts)}
    for mesh in rec.objs(rec.node(path), path):
        code = rec.text(mesh.get("id"), f"{path}[].id")
        term = rec.text(mesh.get("term"), f"{path}[].term")
        if code is None:
            continue
        coding = {"system": MESH, "code": code, **({"display": term} if term else {})}
        target = index.get(term.casefold()) if term else None
        if target is not None:
            target.setdefault("coding", []).append(coding)
        else:
            concepts.append({"coding": [coding], "text": term or code})
    return [{"coding": c["coding"], "text": c["text"]} if "coding" in c else c for c in concepts]


def _objectives(rec: Record) -> list[dict[str, Any]]:
    system = "http://terminology.hl7.org/CodeSystem/research-study-objective-type"
    out = []
    for key, code in (("primaryOutcomes", "primary"), ("secondaryOutcomes", "secondary"), ("otherOutcomes", "exploratory")):
        path = f"{OUTCOMES}.{key}"
        for outcome in rec.objs(rec.node(path), path):
            entry: dict[str, Any] = {}
            exts = []
            frame = rec.text(outcome.get("timeFrame"), f"{path}[].timeFrame")
            if frame is not None:
                exts.append({"url": rec.tables.ext("outcome-time-frame"), "valueString": frame})
            description = rec.text(outcome.get("description"), f"{path}[].description")
            if description is not None:
                exts.append({"url": rec.tables.ext("outcome-description"), "valueMarkdown": description})
            if exts:
                entry["extension"] = exts
            measure = rec.text(outcome.get("measure"), f"{path}[].measure")
            if measure is not None:
                entry["name"] = measure
            entry["type"] = {"coding": [{"system": system, "code": code}]}
            out.append(entry)
    return out


def _period(rec: Record) -> dict[str, Any] | None:
    period: dict[str, Any] = {}
    types = []
    for key, element in (("startDateStruct", "start"), ("completionDateStruct", "end")):
        path = f"{STATUS}.{key}"
        struct = rec.obj(rec.node(path), path)
        if struct is None:
            continue
        day = fhir_date(rec, rec.text(struct.get("date"), f"{path}.date"), f"{path}.date")
        if day is None:
            continue
        period[element] = day
        kind = field_concept(rec, struct, "type", f"{path}.type")
        if kind is not None and "coding" in kind:
            types.append({"url": element, "valueCoding": kind["coding"][0]})
    if types:
        period = {"extension": [{"url": rec.tables.ext("date-type"), "extension": types}], **period}
    return period or None


def _study(rec: Record, out: ResourceSet) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    nct = rec.nct_id
    assert nct is not None
    title = rec.text(rec.node(f"{IDENT}.briefTitle"), f"{IDENT}.briefTitle")
    if title is None:
        title = rec.text(rec.node(f"{IDENT}.officialTitle"), f"{IDENT}.officialTitle")
    last = rec.text(rec.node(f"{STATUS}.lastUpdatePostDateStruct.date"), f"{STATUS}.lastUpdatePostDateStruct.date")
    meta: dict[str, Any] = {"source": f"https://clinicaltrials.gov/study/{nct}"}
    if (stamp := instant(fhir_date(rec, last, f"{STATUS}.lastUpdatePostDateStruct.date"))) is not None:
        meta = {"lastUpdated": stamp, **meta}
    group = eligibility_group(rec, f"{nct}-eligibility", title, {"meta": meta})
    group_ref = f"Group/{group['id']}" if group else None
    plan = plan_definition(rec, f"{nct}-protocol", title, protocol_status(rec), group_ref, {"meta": meta})

    rs: dict[str, Any] = {"resourceType": "ResearchStudy", "id": nct, "meta": meta}
    exts = table_extensions(rec, "ResearchStudy")
    lead, collaborators = sponsors(rec, out)
    pi, official_exts = officials(rec, out)
    site_refs, countries = sites(rec, out)
    exts += collaborators + official_exts
    if exts:
        rs["extension"] = exts
    rs["identifier"] = _identifiers(rec, out)
    if title is not None:
        rs["title"] = title
    if plan is not None:
        rs["protocol"] = [{"reference": f"PlanDefinition/{plan['id']}"}]
    rs["status"] = status(rec)
    if (purpose := primary_purpose(rec)) is not None:
        rs["primaryPurposeType"] = purpose
    if (ph := phase(rec)) is not None:
        rs["phase"] = ph
    if cats := categories(rec):
        rs["category"] = cats
    focus_texts = []
    for iv in rec.objs(rec.node("protocolSection.armsInterventionsModule.interventions"),
                       "protocolSection.armsInterventionsModule.interventions"):
        name = rec.text(iv.get("name"), "protocolSection.armsInterventionsModule.interventions[].name")
        if name is not None and name not in focus_texts:
            focus_texts.append(name)
    if focus := _mesh_concepts(rec, focus_texts, "interventionBrowseModule"):
        rs["focus"] = focus
    conditions = rec.texts(rec.node("protocolSection.conditionsModule.conditions"),
                           "protocolSection.conditionsModule.conditions")
    if cond := _mesh_concepts(rec, conditions, "conditionBrowseModule"):
        rs["condition"] = cond
    if contacts := central_contacts(rec):
        rs["contact"] = contacts
    if artifacts := related_artifacts(rec):
        rs["relatedArtifact"] = artifacts
    if keywords := rec.texts(rec.node("protocolSection.conditionsModule.keywords"),
                             "protocolSection.conditionsModule.keywords"):
        rs["keyword"] = [{"text": k} for k in keywords]
    if countries:
        rs["location"] = countries
    summary = rec.text(rec.node("protocolSection.descriptionModule.briefSummary"),
                       "protocolSection.descriptionModule.briefSummary")
    if summary is not None:
        rs["description"] = summary
    if group_ref is not None:
        rs["enrollment"] = [{"reference": group_ref}]
    if (period := _period(rec)) is not None:
        rs["period"] = period
    if lead is not None:
        rs["sponsor"] = lead
    if pi is not None:
        rs["principalInvestigator"] = pi
    if site_refs:
        rs["site"] = site_refs
    why = rec.text(rec.node(f"{STATUS}.whyStopped"), f"{STATUS}.whyStopped")
    if why is not None:
        rs["reasonStopped"] = {"text": why}
    if study_arms := arms(rec):
        rs["arm"] = study_arms
    if objectives := _objectives(rec):
        rs["objective"] = objectives
    return rs, [r for r in (plan, group) if r is not None]


def map_study(record: Any, tables: Tables | None = None) -> MappedStudy:
    """Map one API v2 study record to FHIR R4 resources; pure and deterministic.

    Raises MappingError (naming the study and the field) for records that are not studies or carry wrong types.
    """
    rec = Record(record, tables or get_tables())
    rec.check_unknown()
    out = ResourceSet()
    study, own = _study(rec, out)
    assert rec.nct_id is not None
    return MappedStudy(rec.nct_id, out.ordered([study, *own]), rec.warnings)
