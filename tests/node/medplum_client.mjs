// @medplum/core MedplumClient against a running fhirtrial server: read, search with several parameters, every
// page of a large result, create, update with If-Match (version check), delete, a transaction.
// Usage: node tests/node/medplum_client.mjs BASE_URL TOKEN EXPECTED_BULK   (BASE_URL ends with /fhir)
// Prints a JSON report; exits 1 when a scenario fails.
import { MedplumClient } from '@medplum/core';

const [base, token, expectedBulk] = process.argv.slice(2);
const url = new URL(base);
const medplum = new MedplumClient({
  baseUrl: `${url.protocol}//${url.host}/`,
  fhirUrlPath: url.pathname.replace(/^\//, ''),
  fetch: globalThis.fetch,
  cacheTime: 0,
});
medplum.setAccessToken(token);

const report = {};
function check(name, condition, detail) {
  report[name] = condition ? 'ok' : `FAILED ${JSON.stringify(detail).slice(0, 500)}`;
}

try {
  const study = await medplum.readResource('ResearchStudy', 'NCT01297972');
  check('read', study.id === 'NCT01297972' && study.resourceType === 'ResearchStudy', study.id);

  const bundle = await medplum.search('ResearchStudy', { status: study.status, _id: 'NCT01297972,NCT00465816' });
  check('search', bundle.type === 'searchset' && bundle.entry?.some((e) => e.resource.id === 'NCT01297972')
    && bundle.entry.every((e) => e.search.mode !== 'match' || e.resource.status === study.status), bundle);

  const sites = await medplum.searchResources('Location', 'address-country=Austria&_count=5');
  check('searchResources', sites.length > 0 && sites.every((l) => l.address?.country === 'Austria'), sites.length);

  const ids = [];
  for await (const page of medplum.searchResourcePages('Organization', { name: 'Bulk org', _count: 10 })) {
    ids.push(...page.map((o) => o.id));
  }
  check('pages', ids.length === Number(expectedBulk) && new Set(ids).size === ids.length, ids.length);

  const created = await medplum.createResource({ resourceType: 'Organization', name: 'medplum org' });
  check('create', created.id && created.meta?.versionId === '1', created);

  const updated = await medplum.updateResource({ ...created, name: 'medplum org v2' });
  check('update', updated.meta?.versionId === '2' && updated.name === 'medplum org v2', updated);

  // MedplumClient sends If-Match from meta.versionId when asked; a stale version must be refused with 412.
  let stale;
  try {
    await medplum.updateResource({ ...created, name: 'lost' }, { headers: { 'If-Match': 'W/"1"' } });
    stale = 'accepted';
  } catch (err) {
    stale = err?.outcome?.issue?.[0]?.code ?? String(err);
  }
  const current = await medplum.readResource('Organization', created.id);
  check('update-if-match', stale !== 'accepted' && current.name === 'medplum org v2', { stale, name: current.name });

  await medplum.deleteResource('Organization', created.id);
  let gone;
  try {
    await medplum.readResource('Organization', created.id);
    gone = 'still there';
  } catch (err) {
    gone = 'gone';
  }
  check('delete', gone === 'gone', gone);

  const tx = await medplum.executeBatch({
    resourceType: 'Bundle', type: 'transaction', entry: [
      { fullUrl: 'urn:uuid:5c8d7a9e-2222-4a6f-8d11-000000000002', resource: { resourceType: 'Organization', name: 'mp sponsor' },
        request: { method: 'POST', url: 'Organization' } },
      { resource: { resourceType: 'ResearchStudy', status: 'active', title: 'medplum tx study',
        sponsor: { reference: 'urn:uuid:5c8d7a9e-2222-4a6f-8d11-000000000002' } },
        request: { method: 'POST', url: 'ResearchStudy' } },
    ],
  });
  check('transaction', tx.type === 'transaction-response' && tx.entry.every((e) => e.response.status.startsWith('201')), tx);
} catch (err) {
  report.error = String(err?.stack ?? err).slice(0, 2000) + ' ' + JSON.stringify(err?.outcome ?? '');
}
process.stdout.write(JSON.stringify(report));
process.exit(Object.values(report).every((v) => v === 'ok') && !report.error ? 0 : 1);
