#!/usr/bin/env node
// Copies the fixtures the tests read from ../shared/fixtures (the source of truth) into
// test/fixtures, so the suite runs in a clone of this project alone.
//   node scripts/vendor-fixtures.mjs          copy (only what changed)
//   node scripts/vendor-fixtures.mjs --check  exit 1 and list the differences when the copy is stale
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, copyFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const source = resolve(process.env.KANDINSKY_SHARED_FIXTURES ?? join(root, '..', 'shared', 'fixtures'));
const target = join(root, 'test', 'fixtures');
const parts = ['models', 'golden', 'golden-depth', 'bad'];
const check = process.argv.includes('--check');

function walk(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}
const digest = (p) => createHash('sha256').update(readFileSync(p)).digest('hex');

if (!existsSync(source)) {
  console.error(`vendor-fixtures: source ${source} not found (set KANDINSKY_SHARED_FIXTURES)`);
  process.exit(check ? 0 : 1);
}
const stale = [];
for (const part of parts) {
  const want = new Set(walk(join(source, part)).map((p) => relative(source, p)));
  for (const rel of want) {
    const from = join(source, rel);
    const to = join(target, rel);
    if (existsSync(to) && statSync(to).size === statSync(from).size && digest(to) === digest(from)) continue;
    stale.push(`changed: ${rel}`);
    if (!check) {
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(from, to);
    }
  }
  for (const p of walk(join(target, part))) {
    const rel = relative(target, p);
    if (want.has(rel)) continue;
    stale.push(`removed upstream: ${rel}`);
    if (!check) rmSync(p);
  }
}
if (check) {
  if (stale.length) {
    console.error(`test/fixtures is stale against ${source}:\n  ${stale.join('\n  ')}\nrun: npm run fixtures`);
    process.exit(1);
  }
  console.log('test/fixtures is up to date');
} else {
  console.log(stale.length ? `vendored ${stale.length} file(s) into test/fixtures` : 'test/fixtures already up to date');
}
