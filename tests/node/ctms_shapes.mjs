// The shapes of MITRE's clinical-trial-matching-service (npm 0.1.2) checked against fhirtrial's /getClinicalTrial:
// the request as the service reads it (isBundle, parseQueryParameters) and the response as its SearchSet holds it.
// Reads {"request": Bundle, "response": Bundle} on stdin, writes {"problems": [...], "parameters": {...}}.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const guards = require('clinical-trial-matching-service/dist/fhir-type-guards.js');
const { parseQueryParameters } = require('clinical-trial-matching-service/dist/query-parameters.js');
const { SearchSet } = require('clinical-trial-matching-service/dist/searchset.js');

const { request, response } = JSON.parse(readFileSync(0, 'utf8'));
const problems = [];
if (!guards.isBundle(request)) problems.push('request: not a Bundle the service accepts');
const parameters = parseQueryParameters(request);
if (!guards.isBundle(response) || response.type !== 'searchset') problems.push('response: not a searchset Bundle');
const matches = (response.entry ?? []).filter((e) => e.search?.mode === 'match');
if (response.total !== matches.length) problems.push(`response: total ${response.total} != ${matches.length} matches`);
for (const [i, entry] of matches.entries()) {
  if (!guards.isResearchStudy(entry.resource)) problems.push(`entry[${i}]: not a ResearchStudy`);
  const score = entry.search.score;
  if (typeof score !== 'number' || score < 0 || score > 1) problems.push(`entry[${i}]: score ${score}`);
}
// The service's own SearchSet takes the entries as they are: same order, same scores.
const rebuilt = new SearchSet(matches.map((e) => JSON.parse(JSON.stringify(e))));
if (rebuilt.total !== matches.length) problems.push('SearchSet: total differs');
rebuilt.entry.forEach((e, i) => {
  if (e.search.score !== matches[i].search.score) problems.push(`SearchSet: entry[${i}] score changed`);
  if (e.resource.id !== matches[i].resource.id) problems.push(`SearchSet: entry[${i}] is another study`);
});
process.stdout.write(JSON.stringify({ problems, parameters }));
