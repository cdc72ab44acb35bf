// The TypeScript types of sentinel-guard/ai-sdk and sentinel-guard/openai-agents against the
// SDKs' own (`ai`, `@openai/agents`, as pinned): test/types/*.mts / *.cts must compile, from
// an ES module and from CommonJS, through the package's `exports`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const pkg = fileURLToPath(new URL('../', import.meta.url));

test('the integrations type-check against the frameworks\' types', () => {
  const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
  const out = spawnSync(process.execPath, [tsc, '-p', 'test/types/tsconfig.json'], { cwd: pkg, encoding: 'utf8', timeout: 120_000 });
  assert.equal(out.status, 0, `${out.stdout}${out.stderr}`);
});
