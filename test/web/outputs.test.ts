import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dataUriSize, formatSize, outputFiles } from '../../src/web/run/outputs.js';

const webp = 'data:image/webp;base64,UklGRg==';
const png = 'data:image/png;base64,iVBORw0KGgo=';

describe('the output files of a prediction', () => {
  it('names data: URIs as the model saved them: out-{i}.{format}', () => {
    assert.deepEqual(outputFiles({ model: 'ai-forever/kandinsky-2.2', input: {}, output: [webp, webp] }), [
      { url: webp, name: 'out-0.webp', kind: 'image' },
      { url: webp, name: 'out-1.webp', kind: 'image' },
    ]);
  });

  it('takes a file URL\'s name from its last segment', () => {
    const url = 'https://k.example/v1/outputs/abc/s3cret/out-0.jpeg';
    assert.deepEqual(outputFiles({ model: 'ai-forever/kandinsky-2.2', input: {}, output: [url] }), [{ url, name: 'out-0.jpeg', kind: 'image' }]);
  });

  it('tells ControlNet-depth\'s estimated depth map (the last output with depth_from_image) from the results', () => {
    const model = 'kandinsky/kandinsky-2.2-controlnet-depth';
    assert.deepEqual(outputFiles({ model, input: { depth_from_image: png }, output: [webp, png] }).map((f) => [f.name, f.kind]), [
      ['out-0.webp', 'image'],
      ['depth.png', 'depth'],
    ]);
    assert.deepEqual(outputFiles({ model, input: { hint: png, output_format: 'png' }, output: [png] }).map((f) => [f.name, f.kind]), [['out-0.png', 'image']]);
    const url = 'http://127.0.0.1:1/v1/outputs/abc/s/depth.png';
    assert.equal(outputFiles({ model, input: { depth_from_image: png }, output: [webp, url] })[1].kind, 'depth');
  });

  it('the prior\'s embeddings are one JSON file, listed or alone, and no image', () => {
    const json = `data:application/json;base64,${Buffer.from('{"image_embeds":[[1]]}').toString('base64')}`;
    for (const output of [[json], json]) {
      assert.deepEqual(outputFiles({ model: 'kandinsky/kandinsky-2.2-prior', input: {}, output }), [{ url: json, name: 'out.json', kind: 'file' }]);
    }
    assert.equal(dataUriSize(json), '{"image_embeds":[[1]]}'.length);
    assert.deepEqual(outputFiles({ model: 'kandinsky/kandinsky-2.2-prior', input: {}, output: null }), []);
  });

  it('measures data: URIs without decoding them, and formats sizes', () => {
    for (const bytes of ['', 'a', 'ab', 'abc', 'abcd']) {
      assert.equal(dataUriSize(`data:text/plain;base64,${Buffer.from(bytes).toString('base64')}`), bytes.length);
    }
    assert.equal(dataUriSize('data:text/plain,a%20b'), 3);
    assert.equal(dataUriSize('https://k.example/out.json'), null);
    assert.deepEqual([formatSize(999), formatSize(1234), formatSize(3_400_000)], ['999 B', '1.2 KB', '3.4 MB']);
  });
});
