import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { clientProject, startServe, type Serve } from '../helpers/serve.js';

// The Node.js snippet of the seed document (seeds/000, "## Node.js"), as a user would save and run it: only the
// base URL is added (the token comes from REPLICATE_API_TOKEN, as the snippet's `new Replicate()` reads it).
// Its input is fixed at 1024x1024 with the hosted defaults (75 decoder steps, 25 prior steps): on the tiny
// models that takes about 20 s here.
const SNIPPET = `import { writeFile } from "fs/promises";
import Replicate from "replicate";
const replicate = new Replicate({ baseUrl: process.env.KANDINSKY_BASE_URL });

const input = {
  width: 1024,
  height: 1024
};

const output = await
replicate.run("ai-forever/kandinsky-2.2:ad9d7879fbffa2874e1d909d1d37d9bc682889cc65b31f7bb00d2362619f194a", { input });
for (const [index, item] of Object.entries(output)) {
  await writeFile(\`output_\${index}.png\`, item);
}
//=> output_0.png written to disk
`;

describe("the seed's Node.js snippet against kandinsky serve", () => {
  let serve: Serve;
  let dir: string;
  before(async () => {
    serve = await startServe();
    // The user's project: the snippet beside an installed `replicate`.
    dir = clientProject('kandinsky-seed-snippet-');
    writeFileSync(join(dir, 'index.mjs'), SNIPPET);
  });
  after(async () => {
    await serve.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs as written and writes output_0.png, a real 1024x1024 image (WebP bytes, as the hosted model writes)', async () => {
    await promisify(execFile)(process.execPath, ['index.mjs'], {
      cwd: dir,
      env: { ...process.env, REPLICATE_API_TOKEN: serve.token, KANDINSKY_BASE_URL: serve.api },
    });
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('output_')), ['output_0.png']);
    const meta = await sharp(readFileSync(join(dir, 'output_0.png'))).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 1024, 1024]);
    const { info } = await sharp(readFileSync(join(dir, 'output_0.png'))).raw().toBuffer({ resolveWithObject: true });
    assert.equal(info.size, 1024 * 1024 * 3);
  });
});
