"""FHIR XML at the HTTP edge, https://hl7.org/fhir/R4/xml.html.

The store keeps JSON; XML exists only on the wire. Both directions are driven by fhir.resources' R4B models:
their element order (``elements_sequence``, which XML requires), field types, cardinality and which fields
hold primitives, xhtml or a whole resource. The conversion itself is ours, on lxml, because
``model_dump_xml``/``model_validate_xml`` go through validated pydantic models and re-render values
(an instant ``...00.123Z`` comes out as ``...00.123000+00:00``, ids of datatypes are dropped) and cost about
2 ms per resource: here every JSON value is written exactly as stored, and XML read back gives the same JSON.

Incoming XML is parsed without DTDs, entities or network access (https://hl7.org/fhir/R4/security.html#xml);
the resulting JSON then goes through the same validation as any JSON body.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from fhir.resources.R4B import get_fhir_model_class
from fhir_core.utils import determine_version_prefix_from_class, get_fhir_type_name, is_list_type, is_primitive_type
from lxml import etree

from ..errors import InvalidRequest

FHIR_NS = "http://hl7.org/fhir"
XHTML_NS = "http://www.w3.org/1999/xhtml"
_F = "{%s}" % FHIR_NS
_INTEGERS = frozenset({"integer", "positiveInt", "unsignedInt", "integer64"})


@dataclass(frozen=True, slots=True)
class Field:
    name: str  # JSON name, e.g. effectiveDateTime
    type: str  # FHIR type name: string, dateTime, xhtml, Resource, CodeableConcept, ObservationComponent, ...
    many: bool
    primitive: bool


@lru_cache(maxsize=None)
def _model(type_name: str) -> Any:
    return get_fhir_model_class(type_name)


@lru_cache(maxsize=None)
def _fields(type_name: str) -> tuple[tuple[Field, ...], dict[str, Field]]:
    """The elements of a type in XML order, and by JSON name."""
    cls = _model(type_name)
    prefix = determine_version_prefix_from_class(cls)
    aliases = cls.get_alias_mapping()
    ordered = []
    for name in cls.elements_sequence():
        info = cls.model_fields[aliases[name]]
        ordered.append(Field(name, get_fhir_type_name(info, prefix=prefix), is_list_type(info), is_primitive_type(info)))
    return tuple(ordered), {f.name: f for f in ordered}


@lru_cache(maxsize=None)
def is_resource_type(name: str) -> bool:
    """True for a concrete R4 resource type name (not a datatype, not the abstract Resource/DomainResource)."""
    if not name[:1].isupper() or name in ("Resource", "DomainResource"):
        return False
    try:
        cls = _model(name)
    except (KeyError, ValueError, AttributeError, ImportError):
        return False
    return any(base.__name__ == "Resource" for base in cls.__mro__[1:]) and cls.get_resource_type() == name


# ---------------------------------------------------------------------------------------------------- JSON -> XML


def _text(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        text = repr(value)
        return text[:-2] if text.endswith(".0") and "e" not in text else text
    return str(value)


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _set(node: etree._Element, name: str, text: str) -> None:
    """An attribute; characters XML 1.0 cannot carry at all (C0 controls, lone surrogates) become U+FFFD."""
    try:
        node.set(name, text)
    except ValueError:
        node.set(name, _NOT_XML.sub("\ufffd", text))


def _write_resource(parent: etree._Element | None, resource: dict[str, Any]) -> etree._Element:
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str) or not is_resource_type(rtype):
        raise ValueError(f"not a FHIR resource: resourceType {rtype!r}")
    if parent is None:
        node = etree.Element(_F + rtype, nsmap={None: FHIR_NS})
    else:
        node = etree.SubElement(parent, _F + rtype)
    _write_children(node, rtype, resource, is_resource=True)
    return node


def _write_children(node: etree._Element, type_name: str, obj: dict[str, Any], *, is_resource: bool) -> None:
    ordered, _ = _fields(type_name)
    if not is_resource:
        # Element.id and Extension.url are XML attributes (Resource.id is an element).
        if isinstance(obj.get("id"), str):
            _set(node, "id", obj["id"])
        if type_name == "Extension" and isinstance(obj.get("url"), str):
            _set(node, "url", obj["url"])
    for f in ordered:
        if not is_resource and (f.name == "id" or (type_name == "Extension" and f.name == "url")):
            continue
        value = obj.get(f.name)
        ext = obj.get("_" + f.name) if f.primitive else None
        if value is None and ext is None:
            continue
        if f.many:
            values = value if isinstance(value, list) else [] if value is None else [value]
            exts = ext if isinstance(ext, list) else []
            for i in range(max(len(values), len(exts))):
                _write_one(node, f, values[i] if i < len(values) else None, exts[i] if i < len(exts) else None)
        else:
            _write_one(node, f, value, ext)


def _write_one(parent: etree._Element, f: Field, value: Any, ext: Any) -> None:
    if f.primitive:
        if f.type == "xhtml":
            if isinstance(value, str):
                parent.append(_parse_xhtml(value))
            return
        if value is None and not ext:
            return
        child = etree.SubElement(parent, _F + f.name)
        if isinstance(ext, dict):
            if isinstance(ext.get("id"), str):
                _set(child, "id", ext["id"])
        if value is not None:
            _set(child, "value", _text(value))
        if isinstance(ext, dict):
            for e in ext.get("extension") or ():
                if isinstance(e, dict):
                    sub = etree.SubElement(child, _F + "extension")
                    _write_children(sub, "Extension", e, is_resource=False)
        return
    if not isinstance(value, dict):
        return
    child = etree.SubElement(parent, _F + f.name)
    if f.type == "Resource":
        _write_resource(child, value)
    else:
        _write_children(child, f.type, value, is_resource=False)


_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                               huge_tree=False, remove_comments=True, remove_pis=True)


def _parse_xhtml(value: str) -> etree._Element:
    return etree.fromstring(value.encode(), parser=_SAFE_PARSER)


def to_xml(resource: dict[str, Any] | bytes, *, pretty: bool = False) -> bytes:
    """A resource (JSON as dict, possibly holding orjson Fragments, or JSON bytes) as FHIR XML."""
    if isinstance(resource, (bytes, bytearray)):
        data = orjson.loads(resource)
    else:
        data = orjson.loads(orjson.dumps(resource))  # resolves orjson.Fragment (stored bodies inside Bundles)
    root = _write_resource(None, data)
    if pretty:
        _indent(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8") + (b"\n" if pretty else b"")


def _indent(root: etree._Element) -> None:
    """Indent FHIR elements only: whitespace inside a narrative's XHTML is content, kept as it is."""
    divs = [(d, d.__copy__()) for d in root.iter("{%s}div" % XHTML_NS)]
    etree.indent(root, space="  ")
    for indented, original in divs:
        original.tail = indented.tail
        indented.getparent().replace(indented, original)


# ---------------------------------------------------------------------------------------------------- XML -> JSON


class _Bad(Exception):
    def __init__(self, message: str, where: str) -> None:
        super().__init__(message)
        self.where = where


def _local(el: etree._Element, where: str) -> str:
    if not isinstance(el.tag, str):
        raise _Bad("unexpected XML node", where)
    qname = etree.QName(el)
    if qname.namespace != FHIR_NS:
        raise _Bad(f"element <{qname.localname}> is not in the FHIR namespace {FHIR_NS}", where)
    return qname.localname


def _no_text(el: etree._Element, where: str) -> None:
    if el.text and el.text.strip():
        raise _Bad(f"text content is not allowed in FHIR elements ({el.text.strip()[:40]!r})", where)
    for child in el:
        if child.tail and child.tail.strip():
            raise _Bad(f"text content is not allowed in FHIR elements ({child.tail.strip()[:40]!r})", where)


def _primitive_value(raw: str, type_name: str, where: str) -> Any:
    if type_name == "boolean":
        if raw not in ("true", "false"):
            raise _Bad(f"{raw!r} is not a boolean (true or false)", where)
        return raw == "true"
    if type_name in _INTEGERS:
        try:
            return int(raw)
        except ValueError:
            raise _Bad(f"{raw!r} is not an integer", where) from None
    if type_name == "decimal":
        try:
            number = float(raw)
        except ValueError:
            raise _Bad(f"{raw!r} is not a decimal", where) from None
        if number != number or number in (float("inf"), float("-inf")):
            raise _Bad(f"{raw!r} is not a decimal", where)
        return int(raw) if raw.lstrip("-").isdigit() else number
    return raw


def _read_resource(el: etree._Element, where: str) -> dict[str, Any]:
    rtype = _local(el, where)
    if not is_resource_type(rtype):
        raise _Bad(f"<{rtype}> is not a FHIR R4 resource type", where)
    out: dict[str, Any] = {"resourceType": rtype}
    if el.attrib:
        raise _Bad(f"attributes are not allowed on a resource element: {sorted(el.attrib)}", where)
    _read_children(el, rtype, out, where or rtype, is_resource=True)
    return out


def _read_children(el: etree._Element, type_name: str, out: dict[str, Any], where: str, *,
                   is_resource: bool) -> None:
    _, by_name = _fields(type_name)
    _no_text(el, where)
    if not is_resource:
        for attr, value in el.attrib.items():
            if attr == "id" or (attr == "url" and type_name == "Extension"):
                out[attr] = value
            else:
                raise _Bad(f"attribute {attr!r} is not allowed here", where)
    for child in el:
        if isinstance(child, etree._Comment):
            continue
        qname = etree.QName(child)
        name = qname.localname
        path = f"{where}.{name}"
        f = by_name.get(name)
        if f is not None and f.type == "xhtml":
            if qname.namespace != XHTML_NS or name != "div":
                raise _Bad("the narrative must be an XHTML <div>", path)
            out[name] = etree.tostring(child, encoding="unicode", with_tail=False)
            continue
        _local(child, path)
        if f is None or (not is_resource and (name == "id" or (type_name == "Extension" and name == "url"))):
            raise _Bad(f"unknown element <{name}> in {type_name}", path)
        if f.primitive:
            value, ext = _read_primitive(child, f, path)
        elif f.type == "Resource":
            inner = [c for c in child if isinstance(c.tag, str)]
            _no_text(child, path)
            if len(inner) != 1 or child.attrib:
                raise _Bad(f"<{name}> must hold exactly one resource", path)
            value, ext = _read_resource(inner[0], path), None
        else:
            value, ext = {}, None
            _read_children(child, f.type, value, path, is_resource=False)
        if f.many:
            values = out.setdefault(name, [])
            if f.primitive:
                exts = out.get("_" + name)
                if ext is not None and exts is None:
                    exts = out["_" + name] = [None] * len(values)
                if exts is not None:
                    exts.append(ext)
            values.append(value)
        else:
            if name in out:
                raise _Bad(f"<{name}> may appear only once", path)
            if value is not None:
                out[name] = value
            if ext is not None:
                out["_" + name] = ext
    for f in by_name.values():
        if f.many and f.primitive and f.name in out and all(v is None for v in out[f.name]):
            del out[f.name]


def _read_primitive(el: etree._Element, f: Field, where: str) -> tuple[Any, dict[str, Any] | None]:
    _no_text(el, where)
    value = None
    ext: dict[str, Any] = {}
    for attr, raw in el.attrib.items():
        if attr == "value":
            value = _primitive_value(raw, f.type, where)
        elif attr == "id":
            ext["id"] = raw
        else:
            raise _Bad(f"attribute {attr!r} is not allowed on a primitive", where)
    for child in el:
        if _local(child, where) != "extension":
            raise _Bad(f"a primitive may only hold extensions, not <{etree.QName(child).localname}>", where)
        e: dict[str, Any] = {}
        _read_children(child, "Extension", e, f"{where}.extension", is_resource=False)
        ext.setdefault("extension", []).append(e)
    if value is None and not ext:
        raise _Bad("a primitive element needs a value attribute or extensions", where)
    return value, (ext or None)


def from_xml(raw: bytes) -> dict[str, Any]:
    """A FHIR XML resource as its JSON dict; InvalidRequest (400) when it is not well-formed FHIR XML."""
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise InvalidRequest("FHIR XML must not contain a DOCTYPE or entity declarations")
    try:
        root = etree.fromstring(raw, parser=_SAFE_PARSER)
    except etree.XMLSyntaxError as exc:
        raise InvalidRequest(f"The request body is not well-formed XML: {exc}") from None
    if root.getroottree().docinfo.doctype:
        raise InvalidRequest("FHIR XML must not contain a DOCTYPE")
    try:
        return _read_resource(root, "")
    except _Bad as exc:
        where = exc.where.lstrip(".")
        raise InvalidRequest(f"The XML is not a valid FHIR resource: {exc}", expression=where or None) from None
