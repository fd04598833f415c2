// Independent FHIR XML <-> JSON conversion for the test suite: npm `fhir` (Fhir.xmlToObj / objToXml).
// Reads a JSON array of {xml: "<...>"} or {json: {...}} on stdin; writes a JSON array of
// {json: {...}} (from xml) or {xml: "<...>"} (from json), or {error: "..."} per item.
import { readFileSync } from 'node:fs';
import fhirPkg from 'fhir';

const fhir = new fhirPkg.Fhir();
const input = JSON.parse(readFileSync(0, 'utf8'));
const out = input.map((item) => {
  try {
    if (typeof item.xml === 'string') return { json: fhir.xmlToObj(item.xml) };
    return { xml: fhir.objToXml(item.json) };
  } catch (err) {
    return { error: String(err?.stack ?? err) };
  }
});
process.stdout.write(JSON.stringify(out));
