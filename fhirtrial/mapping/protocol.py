"""Arms and interventions as a protocol PlanDefinition, https://hl7.org/fhir/R4/plandefinition.html."""
from __future__ import annotations

from typing import Any

from .codes import field_concept
from .record import Record

ARMS = "protocolSection.armsInterventionsModule"
PLAN_TYPE = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/plan-definition-type",
                         "code": "clinical-protocol", "display": "Clinical Protocol"}]}


def _intervention_action(rec: Record, iv: dict[str, Any]) -> tuple[dict[str, Any], str | None, str | None]:
    """(nested action, name, "Type: Name" as armGroups[].interventionNames spells it)."""
    p = f"{ARMS}.interventions[]"
    action: dict[str, Any] = {}
    other = rec.texts(iv.get("otherNames"), f"{p}.otherNames")
    if other:
        action["extension"] = [{"url": rec.tables.ext("intervention-other-name"), "valueString": n} for n in other]
    name = rec.text(iv.get("name"), f"{p}.name")
    if name is not None:
        action["title"] = name
    description = rec.text(iv.get("description"), f"{p}.description")
    if description is not None:
        action["description"] = description
    kind = field_concept(rec, iv, "type", f"{p}.type")
    if kind is not None:
        action["code"] = [kind]
    label = None
    if name is not None:
        type_label = kind["text"] if kind else None
        label = f"{type_label}: {name}" if type_label else name
    return action, name, label


def arms(rec: Record) -> list[dict[str, Any]]:
    """ResearchStudy.arm entries (name, type, description), in record order."""
    path = f"{ARMS}.armGroups"
    out = []
    for arm in rec.objs(rec.node(path), path):
        label = rec.text(arm.get("label"), f"{path}[].label")
        if label is None:
            rec.warn(f"{path}[].label", "arm group without a label skipped")
            continue
        entry: dict[str, Any] = {"name": label}
        kind = field_concept(rec, arm, "type", f"{path}[].type")
        if kind is not None:
            entry["type"] = kind
        description = rec.text(arm.get("description"), f"{path}[].description")
        if description is not None:
            entry["description"] = description
        out.append(entry)
    return out


def plan_definition(rec: Record, pid: str, title: str | None, status: str, group_ref: str | None,
                    meta: dict[str, Any]) -> dict[str, Any] | None:
    """One action per arm with its interventions nested; interventions in no arm are top-level actions."""
    module = rec.obj(rec.node(ARMS), ARMS)
    if module is None:
        return None
    interventions = []
    for iv in rec.objs(module.get("interventions"), f"{ARMS}.interventions"):
        action, name, label = _intervention_action(rec, iv)
        if action:
            arm_labels = rec.texts(iv.get("armGroupLabels"), f"{ARMS}.interventions[].armGroupLabels")
            interventions.append((action, name, label, arm_labels))
    used: set[int] = set()
    actions: list[dict[str, Any]] = []
    for arm in rec.objs(module.get("armGroups"), f"{ARMS}.armGroups"):
        apath = f"{ARMS}.armGroups[]"
        label = rec.text(arm.get("label"), f"{apath}.label")
        if label is None:
            continue
        names = rec.texts(arm.get("interventionNames"), f"{apath}.interventionNames")
        action: dict[str, Any] = {"title": label}
        description = rec.text(arm.get("description"), f"{apath}.description")
        if description is not None:
            action["description"] = description
        kind = field_concept(rec, arm, "type", f"{apath}.type")
        if kind is not None:
            action["code"] = [kind]
        # The link is recorded on both sides in the registry; either side is enough.
        nested = []
        for i, (a, n, type_label, labels) in enumerate(interventions):
            if label in labels or type_label in names or (n is not None and n in names):
                nested.append(dict(a))
                used.add(i)
        if nested:
            action["action"] = nested
        actions.append(action)
    actions.extend(a for i, (a, *_rest) in enumerate(interventions) if i not in used)
    res: dict[str, Any] = {"resourceType": "PlanDefinition", "id": pid, **meta}
    if title is not None:
        res["title"] = title
    res["type"] = PLAN_TYPE
    res["status"] = status
    if group_ref is not None:
        res["subjectReference"] = {"reference": group_ref}
    if actions:
        res["action"] = actions
    return res
