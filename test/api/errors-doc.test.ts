/** docs/errors.md lists exactly the catalogue: every code, with the same HTTP status, DCS code, retryability and meaning. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CATALOGUE } from '../../src/errors/catalogue.js';

test('docs/errors.md and src/errors/catalogue.ts agree row for row', () => {
  const md = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const rows = new Map<string, string[]>();
  for (const line of md.split('\n')) {
    const m = /^\| `([A-Z0-9_]+)` \| (\d{3}) \| `([A-Z]+\.[0-9A-Z]+)` \| (yes|no) \| (.+) \|$/.exec(line);
    if (m) rows.set(m[1]!, [m[2]!, m[3]!, m[4]!, m[5]!]);
  }
  for (const [code, spec] of Object.entries(CATALOGUE)) {
    const row = rows.get(code);
    assert.ok(row, `docs/errors.md lacks ${code}`);
    assert.deepEqual(row, [String(spec.http), spec.dcs, spec.retryable ? 'yes' : 'no', spec.summary], `row for ${code}`);
  }
  for (const code of rows.keys()) assert.ok(code in CATALOGUE, `docs/errors.md lists ${code}, which the catalogue does not have`);
});

test('documented DCS codes keep their documented HTTP status', () => {
  const documented: Record<string, number> = { 'DCS.4133': 400, 'DCS.3022': 404, 'DCS.4005': 400, 'DCS.4004': 400, 'DCS.4062': 400, 'DCS.4080': 400, 'DCS.4017': 400, 'DCS.4001': 404, 'DCS.5001': 405, 'DCS.4957': 400, 'DCS.4855': 400, 'DCS.1001': 401, 'DCS.1003': 401, 'DCS.1004': 401, 'APIGW.0301': 401, 'DCS.4049': 400, 'DCS.4026': 400, 'DCS.5000': 500 };
  for (const [code, spec] of Object.entries(CATALOGUE)) {
    if (spec.dcs in documented) assert.equal(spec.http, documented[spec.dcs], `${code} -> ${spec.dcs}`);
    assert.match(spec.dcs, /^(DCS\.\d{4}|APIGW\.\d{4}|FERRY\.\d{4})$/, code);
  }
});
