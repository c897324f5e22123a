import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  Catalogue, MODEL_DEFINITIONS, buildCogSchema, canonicalJson, modelJson, schemaVersionId, versionJson, type ServedModel,
} from '../../src/server/models/index.js';
import { projectRoot } from '../helpers/fixtures.js';
import { tinyModelDir } from './tiny-models.js';

const AD9 = 'ad9d7879fbffa2874e1d909d1d37d9bc682889cc65b31f7bb00d2362619f194a';
const EA1 = 'ea1addaab376f4dc227f5368bbd8eff901820fd1cc14ed8cad63b29249e9d463';
const V424 = '424befb1eae6af8363edb846ae98a11111a39740988baebd279d73fe3ecc92c2';

const catalogue = new Catalogue(tinyModelDir);
const hosted = catalogue.model('ai-forever', 'kandinsky-2.2')!;
type Json = Record<string, any>;

describe('the hosted ai-forever/kandinsky-2.2', () => {
  it('serves ad9d7879 exactly as replicate-api.md §11 writes it', () => {
    const expected = JSON.parse(readFileSync(join(projectRoot, 'test', 'server', 'ad9d7879-version.json'), 'utf8'));
    assert.deepStrictEqual(versionJson(catalogue.version(hosted, AD9)!), expected);
  });

  it('has three versions, newest first, ad9d7879 the latest, with a cog_version >= 0.3.9 and older dates further down', () => {
    const versions = hosted.definition.versions;
    assert.deepEqual(versions.map((v) => v.id), [AD9, EA1, V424]);
    for (const v of versions) assert.match(v.cogVersion, /^0\.(?:[4-9]|\d\d)\.\d+$/);
    const dates = versions.map((v) => Date.parse(v.createdAt));
    assert.ok(dates.every((d, i) => !Number.isNaN(d) && (i === 0 || d < dates[i - 1])));
    assert.equal((modelJson(hosted, 'https://k.example/') as Json).latest_version.id, AD9);
  });

  it('drops output_format (property and component) from the two older versions and nothing else', () => {
    const latest = catalogue.version(hosted, AD9)!.openapiSchema as Json;
    for (const id of [EA1, V424]) {
      const schema = catalogue.version(hosted, id)!.openapiSchema as Json;
      const expected = structuredClone(latest);
      delete expected.components.schemas.Input.properties.output_format;
      delete expected.components.schemas.output_format;
      assert.deepStrictEqual(schema, expected);
    }
  });

  it('describes the model with the fields the Python client requires', () => {
    const m = modelJson(hosted, 'https://k.example') as Json;
    assert.equal(m.url, 'https://k.example/ai-forever/kandinsky-2.2');
    assert.equal(m.owner, 'ai-forever');
    assert.equal(m.name, 'kandinsky-2.2');
    assert.equal(m.visibility, 'public');
    assert.equal(m.run_count, 0);
    assert.equal(typeof m.description, 'string');
    assert.deepStrictEqual(m.latest_version, versionJson(hosted.definition.versions[0]));
  });
});

describe('the kandinsky/* models', () => {
  const own = catalogue.models.filter((m) => m.definition.owner === 'kandinsky');

  it('offers one model per other mode', () => {
    assert.deepEqual(own.map((m) => m.definition.name), [
      'kandinsky-2.2-img2img', 'kandinsky-2.2-inpaint', 'kandinsky-2.2-fuse', 'kandinsky-2.2-controlnet-depth', 'kandinsky-2.2-prior',
    ]);
  });

  it('names each version by the sha256 of its schema in canonical JSON, stable across builds', () => {
    for (const m of own) {
      const [v] = m.definition.versions;
      assert.match(v.id, /^[0-9a-f]{64}$/);
      assert.equal(v.id, schemaVersionId(v.openapiSchema));
      assert.equal(v.id, schemaVersionId(buildCogSchema(v.inputs, m.definition.output)));
      // Key order does not change the id.
      const reversed = JSON.parse(JSON.stringify(v.openapiSchema, (_k, value) =>
        value && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).reverse()) : value));
      assert.equal(schemaVersionId(reversed), v.id);
    }
    assert.equal(new Set(own.map((m) => m.definition.versions[0].id)).size, own.length);
    assert.equal(canonicalJson({ b: [1, { d: 2, c: 'x' }], a: null }), '{"a":null,"b":[1,{"c":"x","d":2}]}');
  });

  it('builds every schema by the Cog conventions: x-order, titles from names, enums as allOf components, bounds, no default for None, URIs for images', () => {
    for (const m of own) {
      const [v] = m.definition.versions;
      const schemas = (v.openapiSchema as Json).components.schemas;
      const props: Record<string, Json> = schemas.Input.properties;
      assert.deepEqual(Object.values(props).map((p) => p['x-order']), v.inputs.map((_, i) => i), m.definition.name);
      for (const input of v.inputs) {
        const p = props[input.name];
        assert.equal(p.description, input.description);
        if (input.choices) {
          assert.deepEqual(p.allOf, [{ $ref: `#/components/schemas/${input.name}` }]);
          assert.equal(p.title, undefined);
          assert.deepEqual(schemas[input.name], { enum: input.choices, type: input.type, title: input.name, description: 'An enumeration.' });
        } else {
          assert.equal(p.title, input.name.split('_').map((w) => w[0].toUpperCase() + w.slice(1)).join(' '));
        }
        assert.equal('default' in p, input.default !== undefined, `${input.name} default`);
        assert.equal(p.minimum, input.minimum);
        assert.equal(p.maximum, input.maximum);
        const item = input.list ? p.items : p;
        if (input.type === 'path') assert.deepEqual([item.type, item.format], ['string', 'uri']);
        if (input.list) assert.equal(p.type, 'array');
      }
      assert.deepEqual(schemas.Input.required ?? [], v.inputs.filter((i) => i.required).map((i) => i.name));
      const output = m.definition.output === 'list' ? { type: 'array', items: { type: 'string', format: 'uri' }, title: 'Output' } : { type: 'string', format: 'uri', title: 'Output' };
      assert.deepEqual(schemas.Output, output);
      // Cog's boilerplate is the hosted version's, unchanged.
      const hostedSchemas = (hosted.definition.versions[0].openapiSchema as Json).components.schemas;
      for (const name of ['Status', 'WebhookEvent', 'ValidationError', 'PredictionRequest', 'PredictionResponse', 'HTTPValidationError']) {
        assert.deepStrictEqual(schemas[name], hostedSchemas[name]);
      }
      assert.deepStrictEqual((v.openapiSchema as Json).paths, (hosted.definition.versions[0].openapiSchema as Json).paths);
    }
  });

  it('takes images as Cog Path inputs: image + strength, image + mask, hint or depth_from_image (+ optional image), texts/images/weights', () => {
    const required = (name: string) => (catalogue.model('kandinsky', name)!.definition.versions[0].openapiSchema as Json).components.schemas.Input.required;
    assert.deepEqual(required('kandinsky-2.2-img2img'), ['prompt', 'image']);
    assert.deepEqual(required('kandinsky-2.2-inpaint'), ['prompt', 'image', 'mask']);
    // hint or depth_from_image: one of the two, a rule the catalogue checks (a Cog schema cannot say it).
    assert.deepEqual(required('kandinsky-2.2-controlnet-depth'), ['prompt']);
    assert.equal(required('kandinsky-2.2-fuse'), undefined);
    assert.deepEqual(required('kandinsky-2.2-prior'), ['prompt']);
  });
});

describe('the catalogue', () => {
  it('serves only the models whose repos are present', () => {
    const names = (c: Catalogue) => c.models.map((m: ServedModel) => `${m.definition.owner}/${m.definition.name}`);
    assert.equal(names(catalogue).length, MODEL_DEFINITIONS.length);
    const onlyPrior = new Catalogue((repo) => (repo.endsWith('-prior') ? tinyModelDir(repo) : undefined));
    assert.deepEqual(names(onlyPrior), ['kandinsky/kandinsky-2.2-prior']);
    const noInpaint = new Catalogue((repo) => (repo.endsWith('-inpaint') ? undefined : tinyModelDir(repo)));
    assert.ok(!names(noInpaint).includes('kandinsky/kandinsky-2.2-inpaint'));
    assert.ok(names(noInpaint).includes('ai-forever/kandinsky-2.2'));
    assert.deepEqual(names(new Catalogue(() => undefined)), []);
  });

  it('resolves a version by bare id, owner/name:id and owner/name (latest), and nothing of another model', () => {
    assert.equal(catalogue.resolveVersion(EA1)?.version.id, EA1);
    assert.equal(catalogue.resolveVersion(`ai-forever/kandinsky-2.2:${V424}`)?.version.id, V424);
    assert.equal(catalogue.resolveVersion('ai-forever/kandinsky-2.2')?.version.id, AD9);
    const prior = catalogue.model('kandinsky', 'kandinsky-2.2-prior')!;
    assert.equal(catalogue.resolveVersion(`kandinsky/kandinsky-2.2-prior:${AD9}`), undefined);
    assert.equal(catalogue.version(prior, AD9), undefined);
    assert.equal(catalogue.resolveVersion('f'.repeat(64)), undefined);
    assert.equal(catalogue.resolveVersion('nobody/nothing'), undefined);
  });
});
