import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MODEL_DEFINITIONS, type CogInput, type ModelDefinition } from '../../src/server/models/index.js';
import { defaultInput, inputFields, titleOf, type CogSchema, type Field, type FieldKind } from '../../src/web/form/schema.js';
import { projectRoot } from '../helpers/fixtures.js';

// The playground's form reads the very schemas the server serves (the catalogue's, and the hosted version as
// Replicate publishes it), so a changed input shows up here as a changed form.

const model = (name: string): ModelDefinition => MODEL_DEFINITIONS.find((d) => d.name === name)!;
const schemaOf = (d: ModelDefinition) => d.versions[0].openapiSchema as unknown as CogSchema;
const fieldsOf = (name: string) => inputFields(schemaOf(model(name)));
const summary = (fields: Field[]) => fields.map((f) => `${f.name}:${f.kind}`);

/** The kind an `Input(...)` declaration must give, stated independently of the schema's JSON. */
function expectedKind(i: CogInput): FieldKind {
  if (i.choices) return 'enum';
  const scalar: FieldKind = i.type === 'path' ? 'image' : i.type === 'string' ? 'text' : i.type;
  if (!i.list) return scalar;
  return scalar === 'image' ? 'images' : scalar === 'text' ? 'texts' : 'numbers';
}

describe('the input form read from a Cog schema', () => {
  it('shows the hosted version as Replicate publishes it: x-order, titles, enums through allOf with pydantic titles', () => {
    const published = JSON.parse(readFileSync(join(projectRoot, 'test', 'server', 'ad9d7879-version.json'), 'utf8')) as { openapi_schema: CogSchema };
    const fields = inputFields(published.openapi_schema);
    assert.deepEqual(summary(fields), [
      'prompt:text', 'negative_prompt:text', 'width:enum', 'height:enum', 'num_inference_steps:integer', 'num_inference_steps_prior:integer',
      'num_outputs:integer', 'seed:integer', 'output_format:enum',
    ]);
    assert.deepEqual(fields.map((f) => f.label), [
      'Prompt', 'Negative Prompt', 'Width', 'Height', 'Num Inference Steps', 'Num Inference Steps Prior', 'Num Outputs', 'Seed', 'Output Format',
    ]);
    const width = fields.find((f) => f.name === 'width')!;
    assert.deepEqual(width.choices, [384, 512, 576, 640, 704, 768, 960, 1024, 1152, 1280, 1536, 1792, 2048]);
    assert.equal(width.default, 512);
    assert.equal(width.description, 'Width of output image. Lower the setting if hits memory limits.');
    assert.deepEqual(fields.find((f) => f.name === 'output_format')!.choices, ['webp', 'jpeg', 'png']);
    const outputs = fields.find((f) => f.name === 'num_outputs')!;
    assert.deepEqual([outputs.minimum, outputs.maximum, outputs.default, outputs.required], [1, 4, 1, false]);
    assert.equal(fields.find((f) => f.name === 'seed')!.default, undefined);
  });

  it('starts the hosted model from every default and leaves the seed and the negative prompt out', () => {
    const published = JSON.parse(readFileSync(join(projectRoot, 'test', 'server', 'ad9d7879-version.json'), 'utf8')) as { openapi_schema: CogSchema };
    assert.deepEqual(defaultInput(published.openapi_schema), {
      prompt: 'A moss covered astronaut with a black background',
      width: 512,
      height: 512,
      num_inference_steps: 75,
      num_inference_steps_prior: 25,
      num_outputs: 1,
      output_format: 'webp',
    });
  });

  for (const definition of MODEL_DEFINITIONS) {
    for (const version of definition.versions) {
      it(`reads ${definition.owner}/${definition.name}:${version.id.slice(0, 8)} as its Input(...) declarations say`, () => {
        const fields = inputFields(version.openapiSchema as unknown as CogSchema);
        assert.deepEqual(fields.map((f) => f.name), version.inputs.map((i) => i.name));
        for (const [n, i] of version.inputs.entries()) {
          const f = fields[n];
          assert.equal(f.kind, expectedKind(i), i.name);
          assert.equal(f.label, titleOf(i.name), i.name);
          assert.equal(f.description, i.description, i.name);
          assert.equal(f.default, i.default, i.name);
          assert.equal(f.minimum, i.minimum, i.name);
          assert.equal(f.maximum, i.maximum, i.name);
          assert.equal(f.required, i.required === true, i.name);
          assert.deepEqual(f.choices, i.choices, i.name);
        }
      });
    }
  }

  it('gives inpainting a required prompt, image and mask, then the decoder settings', () => {
    const fields = fieldsOf('kandinsky-2.2-inpaint');
    assert.deepEqual(summary(fields), [
      'prompt:text', 'image:image', 'mask:image', 'negative_prompt:text', 'width:enum', 'height:enum', 'num_inference_steps:integer',
      'num_inference_steps_prior:integer', 'num_outputs:integer', 'guidance_scale:number', 'prior_guidance_scale:number', 'seed:integer',
      'output_format:enum',
    ]);
    assert.deepEqual(fields.filter((f) => f.required).map((f) => f.label), ['Prompt', 'Image', 'Mask']);
    const guidance = fields.find((f) => f.name === 'guidance_scale')!;
    assert.deepEqual([guidance.label, guidance.minimum, guidance.maximum, guidance.default], ['Guidance Scale', 1, 20, 4]);
  });

  it('gives fuse three lists: texts, images and weights', () => {
    const fields = fieldsOf('kandinsky-2.2-fuse');
    assert.deepEqual(summary(fields).slice(0, 3), ['texts:texts', 'images:images', 'weights:numbers']);
    assert.deepEqual(fields.slice(0, 3).map((f) => [f.label, f.required, f.default]), [['Texts', false, undefined], ['Images', false, undefined], ['Weights', false, undefined]]);
  });

  it('gives ControlNet-depth optional hint, depth_from_image and image inputs, and img2img a strength from 0 to 1', () => {
    const depth = fieldsOf('kandinsky-2.2-controlnet-depth');
    assert.deepEqual(depth.slice(1, 5).map((f) => [f.label, f.kind, f.required]), [
      ['Hint', 'image', false], ['Depth From Image', 'image', false], ['Image', 'image', false], ['Strength', 'number', false],
    ]);
    const strength = fieldsOf('kandinsky-2.2-img2img').find((f) => f.name === 'strength')!;
    assert.deepEqual([strength.minimum, strength.maximum, strength.default], [0, 1, 0.3]);
  });

  it('starts inpainting from the defaults only: no prompt, image, mask or seed', () => {
    assert.deepEqual(defaultInput(schemaOf(model('kandinsky-2.2-inpaint'))), {
      width: 512, height: 512, num_inference_steps: 75, num_inference_steps_prior: 25, num_outputs: 1, guidance_scale: 4, prior_guidance_scale: 4,
      output_format: 'webp',
    });
  });

  it('puts a property without x-order last, reads an inline enum, and takes lists of integers as numbers', () => {
    const schema: CogSchema = {
      components: {
        schemas: {
          Input: {
            type: 'object',
            properties: {
              extra: { type: 'boolean', title: 'Extra' },
              mode: { enum: ['a', 'b'], type: 'string', 'x-order': 1 },
              steps: { type: 'array', items: { type: 'integer' }, title: 'Steps', 'x-order': 0 },
            },
          },
        },
      },
    };
    assert.deepEqual(
      inputFields(schema).map((f) => [f.name, f.label, f.kind, f.choices]),
      [['steps', 'Steps', 'numbers', undefined], ['mode', 'Mode', 'enum', ['a', 'b']], ['extra', 'Extra', 'boolean', undefined]],
    );
  });

  it('has no fields for a schema without an Input', () => {
    assert.deepEqual(inputFields({ components: { schemas: {} } }), []);
    assert.deepEqual(defaultInput({ components: { schemas: {} } }), {});
  });
});
