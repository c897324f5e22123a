import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Catalogue, validateCreateBody, validateInput, validationErrorBody } from '../../src/server/models/index.js';
import { tinyModelDir } from './tiny-models.js';

const catalogue = new Catalogue(tinyModelDir);
const hosted = catalogue.model('ai-forever', 'kandinsky-2.2')!;
const ad9 = hosted.definition.versions[0].openapiSchema;
const ea1 = hosted.definition.versions[1].openapiSchema;
const own = (name: string) => catalogue.model('kandinsky', name)!.definition.versions[0].openapiSchema;

describe('input validation (replicate-api.md §5.1)', () => {
  const rows: [Record<string, unknown>, object][] = [
    [{ width: 1000 }, { type: 'enum', field: 'input.width', description: 'width must be one of the following: 384, 512, 576, 640, 704, 768, 960, 1024, 1152, 1280, 1536, 1792, 2048' }],
    [{ output_format: 'gif' }, { type: 'enum', field: 'input.output_format', description: 'output_format must be one of the following: "webp", "jpeg", "png"' }],
    [{ num_outputs: 5 }, { type: 'number_lte', field: 'input.num_outputs', description: 'Must be less than or equal to 4' }],
    [{ num_inference_steps: 0 }, { type: 'number_gte', field: 'input.num_inference_steps', description: 'Must be greater than or equal to 1' }],
    [{ seed: null }, { type: 'invalid_type', field: 'input.seed', description: 'Invalid type. Expected: integer, given: null' }],
    [{ width: '1024' }, { type: 'invalid_type', field: 'input.width', description: 'Invalid type. Expected: integer, given: string' }],
  ];
  for (const [input, entry] of rows) {
    it(`answers ${JSON.stringify(input)} with exactly the documented entry`, () => {
      assert.deepStrictEqual(validateInput(ad9, input), [entry]);
    });
  }

  it('accepts {} and the seeds\' inputs, and ignores keys the schema does not have', () => {
    assert.deepEqual(validateInput(ad9, {}), []);
    assert.deepEqual(validateInput(ad9, { width: 1024, height: 1024 }), []);
    assert.deepEqual(validateInput(ad9, { prompt: 'x', num_outputs: 1, output_format: 'webp', num_inference_steps: 75, num_inference_steps_prior: 25 }), []);
    assert.deepEqual(validateInput(ad9, { guidance_scale: 'anything', scheduler: null }), []);
    // The older versions have no output_format: any value is an extra key, ignored.
    assert.deepEqual(validateInput(ea1, { output_format: 'gif' }), []);
  });

  it('gives one entry per bad key, in schema order, after the missing required keys', () => {
    assert.deepStrictEqual(validateInput(own('kandinsky-2.2-img2img'), { num_outputs: 9, width: 'wide', strength: 1.5, seed: 1.5 }), [
      { type: 'required', field: 'input', description: 'prompt is required' },
      { type: 'required', field: 'input', description: 'image is required' },
      { type: 'number_lte', field: 'input.strength', description: 'Must be less than or equal to 1' },
      { type: 'invalid_type', field: 'input.width', description: 'Invalid type. Expected: integer, given: string' },
      { type: 'number_lte', field: 'input.num_outputs', description: 'Must be less than or equal to 4' },
      { type: 'invalid_type', field: 'input.seed', description: 'Invalid type. Expected: integer, given: number' },
    ]);
  });

  it('names JSON types as gojsonschema does and lets an integer stand for a number', () => {
    const check = (value: unknown) => validateInput(ad9, { prompt: value })[0]?.description;
    assert.equal(check(true), 'Invalid type. Expected: string, given: boolean');
    assert.equal(check([]), 'Invalid type. Expected: string, given: array');
    assert.equal(check({}), 'Invalid type. Expected: string, given: object');
    assert.equal(check(3), 'Invalid type. Expected: string, given: integer');
    assert.deepEqual(validateInput(own('kandinsky-2.2-img2img'), { prompt: 'p', image: 'data:image/png;base64,AA', strength: 1 }), []);
    assert.equal(validateInput(own('kandinsky-2.2-img2img'), { prompt: 'p', image: 'data:,', guidance_scale: 0.5 })[0].description, 'Must be greater than or equal to 1');
  });

  it('refuses an image input that is not a URI with a format entry, and checks list items by index', () => {
    assert.deepStrictEqual(validateInput(own('kandinsky-2.2-img2img'), { prompt: 'p', image: 'cat.png' }), [
      { type: 'format', field: 'input.image', description: "Does not match format 'uri'" },
    ]);
    assert.deepStrictEqual(validateInput(own('kandinsky-2.2-fuse'), { texts: ['a', 2], images: ['https://x/y.png', 'nope'], weights: [0.5, 'x'] }), [
      { type: 'invalid_type', field: 'input.texts.1', description: 'Invalid type. Expected: string, given: integer' },
      { type: 'format', field: 'input.images.1', description: "Does not match format 'uri'" },
      { type: 'invalid_type', field: 'input.weights.1', description: 'Invalid type. Expected: number, given: string' },
    ]);
  });
});

describe('the create request body', () => {
  it('needs version on POST /predictions and refuses unknown top-level keys, as the documented example', () => {
    const fields = validateCreateBody({ model: 'ai-forever/kandinsky-2.2', input: {} }, 'predictions');
    assert.deepStrictEqual(fields, [
      { type: 'required', field: '', description: 'version is required' },
      { type: 'additional_property_not_allowed', field: '', description: 'Additional property model is not allowed' },
    ]);
    assert.equal(
      JSON.stringify(validationErrorBody(fields)),
      '{"detail":"- version is required\\n- Additional property model is not allowed\\n","status":422,"title":"Input validation failed","invalid_fields":[{"type":"required","field":"","description":"version is required"},{"type":"additional_property_not_allowed","field":"","description":"Additional property model is not allowed"}]}',
    );
  });

  it('accepts the deprecated stream and webhook_completed, an empty webhook, and checks the events filter', () => {
    const body = { version: 'x', input: {}, stream: true, webhook: '', webhook_completed: 'https://h/x', webhook_events_filter: ['completed'] };
    assert.deepEqual(validateCreateBody(body, 'predictions'), []);
    assert.deepStrictEqual(validateCreateBody({ input: {}, webhook_events_filter: ['start', 'done'] }, 'model_predictions'), [
      { type: 'enum', field: 'webhook_events_filter.1', description: 'webhook_events_filter.1 must be one of the following: "start", "output", "logs", "completed"' },
    ]);
    assert.deepStrictEqual(validateCreateBody({ input: {}, webhook_events_filter: 'start' }, 'model_predictions'), [
      { type: 'invalid_type', field: 'webhook_events_filter', description: 'Invalid type. Expected: array, given: string' },
    ]);
  });

  it('takes no version on POST /models/{owner}/{name}/predictions and wants input an object', () => {
    assert.deepStrictEqual(validateCreateBody({ version: 'x', input: 'a cat' }, 'model_predictions'), [
      { type: 'additional_property_not_allowed', field: '', description: 'Additional property version is not allowed' },
      { type: 'invalid_type', field: 'input', description: 'Invalid type. Expected: object, given: string' },
    ]);
    assert.deepStrictEqual(validateCreateBody([], 'predictions'), [{ type: 'invalid_type', field: '', description: 'Invalid type. Expected: object, given: array' }]);
    assert.deepStrictEqual(validateCreateBody({}, 'model_predictions'), [{ type: 'required', field: '', description: 'input is required' }]);
  });
});

describe('the 422 body', () => {
  it('is byte for byte the documented one', () => {
    const body = validationErrorBody([
      { type: 'required', field: 'input', description: 'prompt is required' },
      { type: 'number_lte', field: 'input.num_inference_steps', description: 'Must be less than or equal to 4' },
    ]);
    assert.equal(
      JSON.stringify(body),
      '{"detail":"- input: prompt is required\\n- input.num_inference_steps: Must be less than or equal to 4\\n","status":422,"title":"Input validation failed","invalid_fields":[{"type":"required","field":"input","description":"prompt is required"},{"type":"number_lte","field":"input.num_inference_steps","description":"Must be less than or equal to 4"}]}',
    );
    assert.equal(
      JSON.stringify(validationErrorBody(validateInput(ad9, { output_format: 'gif' }))),
      '{"detail":"- input.output_format: output_format must be one of the following: \\"webp\\", \\"jpeg\\", \\"png\\"\\n","status":422,"title":"Input validation failed","invalid_fields":[{"type":"enum","field":"input.output_format","description":"output_format must be one of the following: \\"webp\\", \\"jpeg\\", \\"png\\""}]}',
    );
  });
});
