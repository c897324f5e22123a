import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { runInNewContext } from 'node:vm';
import sharp from 'sharp';
import { curlSnippet, nodeSnippet, pythonSnippet, type SnippetTarget } from '../../src/web/history/snippets.js';
import { clientProject, HOSTED_VERSION, QUICK_INPUT, startServe, type Serve } from '../helpers/serve.js';

const run = promisify(execFile);

/** Every kind of value an input holds, with the characters each language's quoting must survive. */
const HOSTILE_INPUT = {
  prompt: `it's a "cat" \\ on a $HOME \`mat\`\nwith ünïcode ✓`,
  width: 384,
  guidance_scale: 4.5,
  texts: ['one', "two's"],
  weights: [0.25, 0.75],
  depth_from_image: 'http://127.0.0.1:5000/v1/files/abc',
  'odd-key': true,
  nothing: null,
  flag: false,
};

const target: SnippetTarget = { origin: 'http://127.0.0.1:5000', token: 'r8_tok', model: 'ai-forever/kandinsky-2.2', version: HOSTED_VERSION, input: HOSTILE_INPUT };

describe('the copy snippets', () => {
  it('curl: the seed\'s headers with this token, and a body bash reads back as {version, input}', async () => {
    const curl = curlSnippet(target);
    assert.match(curl, /^curl -s -X POST \\\n {2}-H "Authorization: Bearer r8_tok" \\\n {2}-H "Content-Type: application\/json" \\\n {2}-H "Prefer: wait" \\\n/);
    assert.match(curl, /\n {2}http:\/\/127\.0\.0\.1:5000\/v1\/predictions$/);
    // bash parses the snippet as a user's shell would; a curl function prints the arguments it was given.
    const shell = `curl() { while [ $# -gt 0 ]; do case "$1" in -d) printf '%s' "$2"; shift;; esac; shift; done; }\n${curl}`;
    const { stdout } = await run('bash', ['-c', shell]);
    assert.deepEqual(JSON.parse(stdout), { version: HOSTED_VERSION, input: HOSTILE_INPUT });
  });

  it('Node: the client pointed at this server with this token, and an input literal that evaluates to the input', () => {
    const node = nodeSnippet(target);
    assert.match(node, /^import \{ writeFile \} from "fs\/promises";\nimport Replicate from "replicate";\n/);
    assert.ok(node.includes('new Replicate({ auth: "r8_tok", baseUrl: "http://127.0.0.1:5000/v1" })'));
    assert.ok(node.includes(`replicate.run("ai-forever/kandinsky-2.2:${HOSTED_VERSION}", { input })`));
    assert.ok(node.includes('await writeFile(`output_${index}.webp`, item);'));
    const literal = /const input = ([\s\S]*?\n});/.exec(node)![1];
    // Through JSON: the other context's objects have its own prototypes.
    assert.deepEqual(JSON.parse(JSON.stringify(runInNewContext(`(${literal})`))), HOSTILE_INPUT);
    assert.match(literal, /^ {2}prompt: "/m, 'identifier keys stay bare, as the seeds write them');
  });

  it('Python: a client with this server\'s base URL (no /v1) and token, a dict Python reads as the input, item.read()', async () => {
    const python = pythonSnippet({ ...target, input: { ...HOSTILE_INPUT, output_format: 'png' } });
    assert.ok(python.includes('client = replicate.Client(api_token="r8_tok", base_url="http://127.0.0.1:5000")'));
    assert.ok(python.includes(`client.run(\n    "ai-forever/kandinsky-2.2:${HOSTED_VERSION}",\n    input=input\n)`));
    assert.ok(python.includes('with open(f"output_{index}.png", "wb") as file:\n        file.write(item.read())'));
    // Python parses the whole snippet and evaluates the dict it assigns to `input`.
    const read = [
      'import ast, json, sys',
      'tree = ast.parse(sys.stdin.read())',
      'node = next(n for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "input")',
      'print(json.dumps(ast.literal_eval(node.value)))',
    ].join('\n');
    const child = run('python3', ['-c', read]);
    child.child.stdin!.end(python);
    assert.deepEqual(JSON.parse((await child).stdout), { ...HOSTILE_INPUT, output_format: 'png' });
  });

  it('names the prior\'s output a JSON file', () => {
    const prior = { ...target, model: 'kandinsky/kandinsky-2.2-prior', input: { prompt: 'p' } };
    assert.ok(nodeSnippet(prior).includes('output_${index}.json'));
    assert.ok(pythonSnippet(prior).includes('output_{index}.json'));
  });
});

describe('the Node and curl snippets against kandinsky serve', () => {
  let serve: Serve;
  let dir: string;
  let snippetTarget: SnippetTarget;
  before(async () => {
    serve = await startServe();
    dir = clientProject('kandinsky-web-snippet-');
    snippetTarget = { origin: serve.url, token: serve.token, model: 'ai-forever/kandinsky-2.2', version: HOSTED_VERSION, input: { ...QUICK_INPUT, seed: 5 } };
  });
  after(async () => {
    await serve.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the Node snippet runs as copied and writes output_0.webp, a real WebP image', async () => {
    writeFileSync(join(dir, 'index.mjs'), nodeSnippet(snippetTarget));
    await run(process.execPath, ['index.mjs'], { cwd: dir, env: { ...process.env, REPLICATE_API_TOKEN: '' } });
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('output_')), ['output_0.webp']);
    const meta = await sharp(readFileSync(join(dir, 'output_0.webp'))).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 384, 384]);
  });

  it('the curl snippet runs as copied and the prediction succeeds', async () => {
    const { stdout } = await run('bash', ['-c', curlSnippet(snippetTarget)]);
    const p = JSON.parse(stdout) as { status: string; input: unknown; output: string[] };
    assert.equal(p.status, 'succeeded');
    assert.deepEqual(p.input, snippetTarget.input);
    assert.match(p.output[0], /^data:image\/webp;base64,/);
  });
});
