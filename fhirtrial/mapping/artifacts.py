"""References, links, IPD and documents as RelatedArtifact, https://hl7.org/fhir/R4/metadatatypes.html#RelatedArtifact."""
from __future__ import annotations

from typing import Any

from .codes import field_concept
from .record import Record

REFS = "protocolSection.referencesModule"
DOCS = "documentSection.largeDocumentModule.largeDocs"


def _citations(rec: Record) -> list[dict[str, Any]]:
    path = f"{REFS}.references"
    out = []
    for ref in rec.objs(rec.node(path), path):
        art: dict[str, Any] = {}
        exts = []
        kind = field_concept(rec, ref, "type", f"{path}[].type")
        if kind is not None:
            coding = kind.get("coding")
            exts.append({"url": rec.tables.ext("reference-type"),
                         **({"valueCoding": coding[0]} if coding else {"valueString": kind["text"]})})
        rpath = f"{path}[].retractions"
        for retraction in rec.objs(ref.get("retractions"), rpath):
            parts = [{"url": key, "valueString": v} for key in ("pmid", "source")
                     if (v := rec.text(retraction.get(key), f"{rpath}[].{key}")) is not None]
            if parts:
                exts.append({"url": rec.tables.ext("retraction"), "extension": parts})
        if exts:
            art["extension"] = exts
        art["type"] = "citation"
        pmid = rec.text(ref.get("pmid"), f"{path}[].pmid")
        if pmid is not None:
            art["label"] = f"PMID:{pmid}"
        citation = rec.text(ref.get("citation"), f"{path}[].citation")
        if citation is not None:
            art["citation"] = citation
        if pmid is not None and pmid.isdigit():
            art["url"] = f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/"
        if len(art) > 1 + ("extension" in art):
            out.append(art)
    return out


def _links(rec: Record) -> list[dict[str, Any]]:
    out = []
    path = f"{REFS}.seeAlsoLinks"
    for link in rec.objs(rec.node(path), path):
        art: dict[str, Any] = {"type": "documentation"}
        label = rec.text(link.get("label"), f"{path}[].label")
        url = rec.text(link.get("url"), f"{path}[].url")
        if label is not None:
            art["display"] = label
        if url is not None:
            art["url"] = url
        if len(art) > 1:
            out.append(art)
    path = f"{REFS}.availIpds"
    for ipd in rec.objs(rec.node(path), path):
        art = {"type": "documentation"}
        comment = rec.text(ipd.get("comment"), f"{path}[].comment")
        if comment is not None:
            art = {"extension": [{"url": rec.tables.ext("ipd-comment"), "valueString": comment}], **art}
        for key, element in (("id", "label"), ("type", "display"), ("url", "url")):
            value = rec.text(ipd.get(key), f"{path}[].{key}")
            if value is not None:
                art[element] = value
        if len(art) > 1:
            out.append(art)
    return out


def _documents(rec: Record) -> list[dict[str, Any]]:
    out = []
    for doc in rec.objs(rec.node(DOCS), DOCS):
        filename = rec.text(doc.get("filename"), f"{DOCS}[].filename")
        label = rec.text(doc.get("label"), f"{DOCS}[].label")
        if filename is None and label is None:
            continue
        attachment: dict[str, Any] = {}
        if filename is not None:
            # The registry serves large documents at this documented, stable address.
            attachment["url"] = f"https://cdn.clinicaltrials.gov/large-docs/{rec.nct_id[-2:]}/{rec.nct_id}/{filename}"
        size = rec.integer(doc.get("size"), f"{DOCS}[].size")
        if size is not None:
            attachment["size"] = size
        attachment["title"] = label or filename
        out.append({"type": "documentation", "display": label or filename, "document": attachment})
    return out


def related_artifacts(rec: Record) -> list[dict[str, Any]]:
    return _citations(rec) + _links(rec) + _documents(rec)
