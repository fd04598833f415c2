"""Sponsors, officials and contacts as Organization, Practitioner and ContactDetail, https://hl7.org/fhir/R4/organization.html."""
from __future__ import annotations

from typing import Any

from .bundle import ResourceSet
from .codes import field_concept
from .ids import content_id
from .record import Record

SPONSOR = "protocolSection.sponsorCollaboratorsModule"
CONTACTS = "protocolSection.contactsLocationsModule"


def organization(rec: Record, obj: dict[str, Any] | None, path: str, name_key: str,
                 out: ResourceSet) -> dict[str, str] | None:
    """An Organization (name + agency class) with an id from that content; returns the reference."""
    if obj is None:
        return None
    name = rec.text(obj.get(name_key), f"{path}.{name_key}")
    if name is None:
        return None
    body: dict[str, Any] = {"active": True, "name": " ".join(name.split())}
    kind = field_concept(rec, obj, "class", f"{path}.class")
    if kind is not None:
        body["type"] = [kind]
    res = {"resourceType": "Organization", "id": content_id("org", body), **body}
    return {"reference": out.add(res), "display": body["name"]}


def practitioner(rec: Record, official: dict[str, Any], path: str, out: ResourceSet) -> dict[str, str] | None:
    name = rec.text(official.get("name"), f"{path}.name")
    if name is None:
        return None
    name = " ".join(name.split())
    body: dict[str, Any] = {}
    affiliation = rec.text(official.get("affiliation"), f"{path}.affiliation")
    if affiliation is not None:
        # Part of the identity: the same name at two institutions is not assumed to be one person.
        body["extension"] = [{"url": rec.tables.ext("affiliation"), "valueString": affiliation}]
    body["active"] = True
    body["name"] = [{"text": name}]
    res = {"resourceType": "Practitioner", "id": content_id("pract", body), **body}
    return {"reference": out.add(res), "display": name}


def officials(rec: Record, out: ResourceSet) -> tuple[dict[str, str] | None, list[dict[str, Any]]]:
    """(principalInvestigator reference, overall-official extensions) from overallOfficials."""
    path = f"{CONTACTS}.overallOfficials"
    pi: dict[str, str] | None = None
    exts: list[dict[str, Any]] = []
    for person in rec.objs(rec.node(path), path):
        ref = practitioner(rec, person, path + "[]", out)
        if ref is None:
            continue
        parts: list[dict[str, Any]] = [{"url": "practitioner", "valueReference": ref}]
        role = field_concept(rec, person, "role", f"{path}[].role")
        if role is not None:
            parts.append({"url": "role", "valueCodeableConcept": role})
        if pi is None and person.get("role") == "PRINCIPAL_INVESTIGATOR":
            pi = ref
        affiliation = rec.text(person.get("affiliation"), f"{path}[].affiliation")
        if affiliation is not None:
            parts.append({"url": "affiliation", "valueString": affiliation})
        exts.append({"url": rec.tables.ext("overall-official"), "extension": parts})
    return pi, exts


def contact_detail(rec: Record, contact: dict[str, Any], path: str) -> dict[str, Any] | None:
    """A central or site contact as ContactDetail (role and phone extension kept as extensions)."""
    out: dict[str, Any] = {}
    role = field_concept(rec, contact, "role", f"{path}.role")
    if role is not None:
        coding = role.get("coding")
        out["extension"] = [{"url": rec.tables.ext("contact-role"),
                             **({"valueCoding": coding[0]} if coding else {"valueString": role["text"]})}]
    name = rec.text(contact.get("name"), f"{path}.name")
    if name is not None:
        out["name"] = name
    telecom: list[dict[str, Any]] = []
    phone = rec.text(contact.get("phone"), f"{path}.phone")
    if phone is not None:
        point: dict[str, Any] = {"system": "phone", "value": phone, "use": "work"}
        ext = rec.text(contact.get("phoneExt"), f"{path}.phoneExt")
        if ext is not None:
            point = {"extension": [{"url": rec.tables.ext("phone-extension"), "valueString": ext}], **point}
        telecom.append(point)
    email = rec.text(contact.get("email"), f"{path}.email")
    if email is not None:
        telecom.append({"system": "email", "value": email, "use": "work"})
    if telecom:
        out["telecom"] = telecom
    return out if ("name" in out or telecom) else None


def central_contacts(rec: Record) -> list[dict[str, Any]]:
    path = f"{CONTACTS}.centralContacts"
    found = (contact_detail(rec, c, path + "[]") for c in rec.objs(rec.node(path), path))
    return [c for c in found if c is not None]


def sponsors(rec: Record, out: ResourceSet) -> tuple[dict[str, str] | None, list[dict[str, Any]]]:
    """(sponsor reference, collaborator extensions)."""
    lead = organization(rec, rec.obj(rec.node(f"{SPONSOR}.leadSponsor"), f"{SPONSOR}.leadSponsor"),
                        f"{SPONSOR}.leadSponsor", "name", out)
    path = f"{SPONSOR}.collaborators"
    exts = []
    for collab in rec.objs(rec.node(path), path):
        ref = organization(rec, collab, path + "[]", "name", out)
        if ref is not None:
            exts.append({"url": rec.tables.ext("collaborator"), "valueReference": ref})
    return lead, exts
