// Bundles the playground (src/web) into dist/web: index.html and content-hashed assets, nothing fetched at run
// time from anywhere else. Run by `npm run build` after tsc has type-checked it.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'dist/web');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });

const result = await build({
  entryPoints: [join(root, 'src/web/main.tsx')],
  bundle: true,
  format: 'esm',
  target: ['chrome110', 'firefox115', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: 'linked',
  entryNames: 'assets/[name]-[hash]',
  assetNames: 'assets/[name]-[hash]',
  outdir: out,
  metafile: true,
  logLevel: 'warning',
});

const outputs = Object.entries(result.metafile.outputs);
const named = (ext) => {
  const found = outputs.find(([file, o]) => o.entryPoint && file.endsWith(ext)) ?? outputs.find(([file]) => file.endsWith(ext) && !file.endsWith('.map'));
  if (!found) throw new Error(`build-web: no ${ext} output`);
  return `assets/${basename(found[0])}`;
};
const page = readFileSync(join(root, 'src/web/index.html'), 'utf8').replace('%SCRIPT%', named('.js')).replace('%STYLE%', named('.css'));
writeFileSync(join(out, 'index.html'), page);
writeFileSync(join(out, 'favicon.svg'), readFileSync(join(root, 'src/web/favicon.svg')));
