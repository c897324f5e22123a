import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import sharp from 'sharp';
import { launchChromium, openLocalPage, PHONE, saveScreenshots } from '../helpers/browser.js';
import { goldenDir } from '../helpers/fixtures.js';
import { eventually, HOSTED_VERSION, QUICK_INPUT, startServe, type Serve } from '../helpers/serve.js';

// The playground in headless Chromium against a real `kandinsky serve` on the tiny models. Everything is found by
// the role and accessible name a person with a screen reader would use (the contract in the playground's brief),
// and every test ends by checking that the page asked nothing of any other origin.

const OTHER_TOKEN = 'r8_test_token_b';
const INPAINT_MODEL = 'kandinsky/kandinsky-2.2-inpaint';
const DEPTH_MODEL = 'kandinsky/kandinsky-2.2-controlnet-depth';
/**
 * Long enough on the tiny models that a cancel lands mid-run even though the page polls (about 30 s here; at 384 px
 * even 500 steps take only 2 s).
 */
const LONG_INPUT = { ...QUICK_INPUT, width: 768, height: 768, num_inference_steps: 500 };
/** A run on the tiny models at 384 px with two steps, with some room for a busy machine. */
const RUN_MS = 90_000;

interface Wire {
  readonly id: string;
  readonly model: string;
  readonly status: string;
  readonly input: Record<string, unknown>;
  readonly output: unknown;
}

describe('the playground in a real browser', () => {
  let serve: Serve;
  let browser: Browser;
  before(async () => {
    [serve, browser] = await Promise.all([startServe(), launchChromium()]);
  });
  after(async () => {
    await browser?.close();
    await serve?.stop();
  });

  /** A fresh browser context on the playground, signed in through the address `kandinsky serve` prints when `token` is given. */
  async function inPlayground(token: string | null, body: (page: Page) => Promise<void>, on: Serve = serve): Promise<string[]> {
    const local = await openLocalPage(browser, on.url);
    local.context.setDefaultTimeout(20_000);
    try {
      await local.page.goto(token ? `${on.url}/#token=${token}` : `${on.url}/`);
      if (token) await button(local.page, 'Sign out').waitFor();
      await body(local.page);
    } finally {
      await local.close();
    }
    assert.deepEqual(local.leaked, [], 'no request left the machine');
    return local.requests;
  }

  const api = (token: string) => (path: string, init: RequestInit & { json?: unknown } = {}) =>
    serve.fetch(path, { ...init, headers: { authorization: `Bearer ${token}` } });
  const create = async (token: string, input: Record<string, unknown>) =>
    (await (await api(token)('/predictions', { method: 'POST', json: { version: HOSTED_VERSION, input } })).json()) as Wire;
  const predictions = async (token: string) => ((await (await api(token)('/predictions')).json()) as { results: Wire[] }).results;

  it('takes the token from the address it was opened at, removes it from the address bar, and keeps it across a reload', async () => {
    await inPlayground(serve.token, async (page) => {
      assert.equal(new URL(page.url()).hash, '');
      assert.doesNotMatch(page.url(), /token/);
      await page.reload();
      await button(page, 'Sign out').waitFor();
      assert.equal(await page.getByRole('textbox', { name: 'API token' }).count(), 0);
      assert.doesNotMatch(page.url(), /token/);
    });
  });

  it('without a token says how to get one, and refuses a wrong token with a message', async (t) => {
    await inPlayground(null, async (page) => {
      const token = page.getByRole('textbox', { name: 'API token' });
      await token.waitFor();
      const explanation = await page.locator('main').innerText();
      assert.match(explanation, /kandinsky serve/);
      assert.match(explanation, /#token=/);
      for (const path of await saveScreenshots(page, 'sign-in')) t.diagnostic(`screenshot: ${path}`);
      await token.fill('r8_not_a_token_of_this_server');
      await button(page, 'Sign in').click();
      assert.match(await page.getByRole('alert').innerText(), /refused/);
      await token.waitFor();
      assert.equal(await button(page, 'Sign out').count(), 0);
    });
  });

  it('lists every model of GET /v1/models in the model picker', async (t) => {
    const served = ((await (await serve.fetch('/models')).json()) as { results: { owner: string; name: string }[] }).results;
    const requests = await inPlayground(serve.token, async (page) => {
      const options = await page.getByRole('combobox', { name: 'Model' }).locator('option').allInnerTexts();
      assert.deepEqual(options.map((o) => o.trim()).sort(), served.map((m) => `${m.owner}/${m.name}`).sort());
      for (const path of await saveScreenshots(page, 'signed-in')) t.diagnostic(`screenshot: ${path}`);
    });
    assert.ok(requests.some((url) => url === `${serve.api}/models`), 'the picker is filled from the public API');
  });

  it('runs the form: the Decoder progress reaches its end and the image appears with its download link', async (t) => {
    await inPlayground(serve.token, async (page) => {
      await fillQuickInput(page, { ...QUICK_INPUT });
      await button(page, 'Run').click();
      const output = result(page).getByRole('img', { name: 'Output 1', exact: true });
      await output.waitFor({ timeout: RUN_MS });
      await statusShows(page, /^Succeeded/);

      const decoder = await progress(page, 'Decoder');
      assert.deepEqual([decoder.now, decoder.max], [QUICK_INPUT.num_inference_steps, QUICK_INPUT.num_inference_steps]);
      assert.match(decoder.text, new RegExp(`${decoder.max}/${decoder.max}`));
      assert.equal(await eventually(() => naturalWidth(output), (w) => w > 0, 10_000), QUICK_INPUT.width);

      const download = result(page).getByRole('link', { name: 'Download out-0.webp', exact: true });
      assert.equal(await download.getAttribute('download'), 'out-0.webp');
      assert.ok(await download.getAttribute('href'));
      assert.equal(await button(page, 'Cancel').count(), 0, 'no Cancel once it is done');

      for (const path of await saveScreenshots(page, 'finished-run')) t.diagnostic(`screenshot: ${path}`);
      await page.setViewportSize(PHONE);
      assert.equal(Number(await page.evaluate('document.documentElement.scrollWidth')), PHONE.width, 'a phone-sized window needs no sideways scrolling');
    });
  });

  it('runs with the keyboard alone: every Tab stop on the way is named, Enter on Run starts it', async () => {
    await inPlayground(serve.token, async (page) => {
      const unnamed: string[] = [];
      let typed = false;
      for (let stop = 0; stop < 100; stop++) {
        await page.keyboard.press('Tab');
        const focused = (await page.evaluate(FOCUSED)) as { tag: string; id: string; name: string };
        if (!focused.name) unnamed.push(`${focused.tag}#${focused.id}`);
        if (focused.tag === 'textarea' && focused.name === 'Prompt') {
          await page.keyboard.press('ControlOrMeta+A');
          await page.keyboard.type('a lighthouse at dusk');
          typed = true;
        }
        if (focused.tag === 'button' && focused.name === 'Run') break;
      }
      assert.ok(typed, 'the prompt is reached with Tab');
      assert.deepEqual(unnamed, [], 'every focusable control has a name');
      await page.keyboard.press('Enter');
      await result(page).getByRole('img', { name: 'Output 1', exact: true }).waitFor({ timeout: RUN_MS });
      await statusShows(page, /^Succeeded/);
    });
    const [run] = await predictions(serve.token);
    assert.equal(run.input.prompt, 'a lighthouse at dusk');
  });

  it('cancels a run mid-way and shows it Canceled', async () => {
    await inPlayground(serve.token, async (page) => {
      await fillQuickInput(page, LONG_INPUT);
      await button(page, 'Run').click();
      await eventually(() => progress(page, 'Decoder'), (p) => p.now >= 1, RUN_MS);
      await button(page, 'Cancel').click();
      await statusShows(page, /^Canceled/);
      const decoder = await progress(page, 'Decoder');
      assert.equal(decoder.max, LONG_INPUT.num_inference_steps);
      assert.ok(decoder.now < decoder.max, `stopped at ${decoder.now}/${decoder.max}`);
      assert.equal(await result(page).getByRole('img', { name: 'Output 1', exact: true }).count(), 0);
    });
  });

  it('shows the server’s 422 at its field: Num Outputs 9 must be at most 4', async () => {
    await inPlayground(serve.token, async (page) => {
      await fillQuickInput(page, { ...QUICK_INPUT, num_outputs: 9 });
      await button(page, 'Run').click();
      const field = page.getByRole('spinbutton', { name: 'Num Outputs', exact: true });
      await page.waitForFunction((el) => el?.getAttribute('aria-invalid') === 'true', await field.elementHandle());
      const described = ((await field.getAttribute('aria-describedby')) ?? '').split(/\s+/).filter(Boolean);
      const messages = await Promise.all(described.map((id) => page.locator(`[id="${id}"]`).innerText()));
      assert.ok(messages.some((m) => /Must be less than or equal to 4/.test(m)), `described by: ${JSON.stringify(messages)}`);
      assert.equal(await page.locator(`[id="${described[messages.findIndex((m) => /less than or equal/.test(m))]}"].error`).count(), 1);
    });
  });

  it('shows a failed prediction with its error: a run past the server’s --timeout', async () => {
    const strict = await startServe(['--timeout', '2']);
    try {
      await inPlayground(
        strict.token,
        async (page) => {
          await fillQuickInput(page, LONG_INPUT);
          await button(page, 'Run').click();
          await statusShows(page, /^Failed/);
          assert.equal(await result(page).getByRole('alert').innerText(), 'Prediction timed out after 2 seconds');
        },
        strict,
      );
    } finally {
      await strict.stop();
    }
  });

  it('pages through the history (Older, Newer) and runs a prediction again with the same inputs', async (t) => {
    // Another account, so that its list holds exactly these: one long run that keeps the worker busy while 100
    // more are created and canceled before they start (101 predictions: a page of 100 and a page of 1).
    const long = await create(OTHER_TOKEN, LONG_INPUT);
    const queued = await Promise.all(Array.from({ length: 100 }, () => create(OTHER_TOKEN, QUICK_INPUT)));
    await Promise.all(queued.map((p) => api(OTHER_TOKEN)(`/predictions/${p.id}/cancel`, { method: 'POST' })));
    await api(OTHER_TOKEN)(`/predictions/${long.id}/cancel`, { method: 'POST' });
    const newest = await predictions(OTHER_TOKEN);
    assert.equal(newest.length, 100);

    await inPlayground(OTHER_TOKEN, async (page) => {
      await button(page, 'History').click();
      const listed = () => history(page).getByRole('article').evaluateAll((all) => all.map((a) => a.getAttribute('aria-label')));
      const shows = (ids: string[]) => eventually(listed, (names) => names.length === ids.length && names.every((n, i) => n === `Prediction ${ids[i]}`), 20_000);
      const firstPage = newest.map((p) => p.id);
      assert.deepEqual(await shows(firstPage), firstPage.map((id) => `Prediction ${id}`));
      // The paging buttons may be shown above and below the list: any one of them will do.
      const newer = button(history(page), 'Newer');
      assert.ok(await newer.evaluateAll((all) => all.every((b) => b.hasAttribute('disabled'))), 'no newer page than the first');

      await button(history(page), 'Older').first().click();
      assert.deepEqual(await shows([long.id]), [`Prediction ${long.id}`]);
      await newer.first().click();
      assert.deepEqual(await shows(firstPage), firstPage.map((id) => `Prediction ${id}`));

      const again = history(page).getByRole('article', { name: `Prediction ${firstPage[0]}`, exact: true });
      await button(again, 'Run again').click();
      await result(page).getByRole('img', { name: 'Output 1', exact: true }).waitFor({ timeout: RUN_MS });
      await statusShows(page, /^Succeeded/);
      const [rerun] = await predictions(OTHER_TOKEN);
      assert.ok(!firstPage.includes(rerun.id) && rerun.id !== long.id, 'a new prediction');
      assert.deepEqual([rerun.status, rerun.input], ['succeeded', newest[0].input]);

      await button(page, 'History').click();
      const top = history(page).getByRole('article', { name: `Prediction ${rerun.id}`, exact: true });
      const thumbnail = top.locator('img').first();
      await thumbnail.waitFor();
      assert.doesNotMatch((await thumbnail.getAttribute('src')) ?? '', /^data:/, 'thumbnails are file URLs, not data URIs');
      await eventually(() => naturalWidth(thumbnail), (w) => w > 0, 10_000);
      for (const path of await saveScreenshots(page, 'history')) t.diagnostic(`screenshot: ${path}`);
    });
  });

  it('inpaints with a mask painted on the chosen image', async () => {
    await inPlayground(serve.token, async (page) => {
      await page.getByRole('combobox', { name: 'Model' }).selectOption(INPAINT_MODEL);
      await fillQuickInput(page, { ...QUICK_INPUT, prompt: 'a blue door' });
      await page.locator('input[type=file]').and(page.getByLabel('Image', { exact: true })).setInputFiles(join(goldenDir, 'images', 'inputs', 'rgb_64.png'));
      await page.getByRole('img', { name: 'Image preview', exact: true }).waitFor();

      await button(page, 'Paint mask').click();
      const canvas = page.getByLabel('Mask painter', { exact: true });
      await canvas.waitFor();
      const box = (await canvas.boundingBox())!;
      await page.mouse.move(box.x + box.width * 0.25, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.75, box.y + box.height / 2, { steps: 12 });
      await page.mouse.up();
      await button(page, 'Use mask').click();
      await canvas.waitFor({ state: 'detached' });

      await button(page, 'Run').click();
      await result(page).getByRole('img', { name: 'Output 1', exact: true }).waitFor({ timeout: RUN_MS });
      await statusShows(page, /^Succeeded/);
    });

    const [run] = await predictions(serve.token);
    assert.deepEqual([run.model, run.status], [INPAINT_MODEL, 'succeeded']);
    const mask = String(run.input.mask);
    assert.ok(mask.startsWith(`${serve.api}/files/`), `the mask is an upload: ${mask.slice(0, 60)}`);
    const png = Buffer.from(await (await serve.fetch(`${mask}/download`)).arrayBuffer());
    const { data, info } = await sharp(png).greyscale().raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [64, 64], 'the mask has the image’s size');
    assert.ok(data.includes(255) && data.includes(0), 'the painted stroke is white on black');
  });

  it('estimates the depth map from a photo for ControlNet-depth and shows it beside the result', async (t) => {
    await inPlayground(serve.token, async (page) => {
      await page.getByRole('combobox', { name: 'Model' }).selectOption(DEPTH_MODEL);
      await fillQuickInput(page, { ...QUICK_INPUT, prompt: 'a stone bridge' });
      await page.locator('input[type=file]').and(page.getByLabel('Depth From Image', { exact: true })).setInputFiles(join(goldenDir, 'images', 'inputs', 'rgb_64.png'));
      await button(page, 'Run').click();
      const depth = result(page).getByRole('img', { name: 'Estimated depth map', exact: true });
      await depth.waitFor({ timeout: RUN_MS });
      await statusShows(page, /^Succeeded/);
      assert.equal(await result(page).getByRole('img', { name: 'Output 1', exact: true }).count(), 1, 'the result beside its depth map');
      assert.ok((await naturalWidth(depth)) > 0, 'the depth map loads');
      assert.equal(await result(page).getByRole('link', { name: 'Download depth.png', exact: true }).count(), 1);
      for (const path of await saveScreenshots(page, 'depth-from-photo')) t.diagnostic(`screenshot: ${path}`);
    });
    const [run] = await predictions(serve.token);
    assert.deepEqual([run.model, run.status], [DEPTH_MODEL, 'succeeded']);
    assert.ok(Array.isArray(run.output) && run.output.length === 2, 'one image and the depth map');
  });
});

const button = (scope: Page | Locator, name: string) => scope.getByRole('button', { name, exact: true });
const result = (page: Page) => page.getByRole('region', { name: 'Result', exact: true });
const history = (page: Page) => page.getByRole('region', { name: 'History', exact: true });

/** The form's inputs by their labels: the text ones filled, the enums chosen, the numbers typed. */
async function fillQuickInput(page: Page, input: Record<string, string | number>): Promise<void> {
  const labels: Record<string, string> = {
    prompt: 'Prompt',
    width: 'Width',
    height: 'Height',
    num_inference_steps: 'Num Inference Steps',
    num_inference_steps_prior: 'Num Inference Steps Prior',
    num_outputs: 'Num Outputs',
  };
  for (const [key, value] of Object.entries(input)) {
    const field = page.getByLabel(labels[key], { exact: true });
    if (key === 'width' || key === 'height') await field.selectOption(String(value));
    else await field.fill(String(value));
  }
}

async function progress(page: Page, stage: string): Promise<{ now: number; max: number; text: string }> {
  const bar = result(page).getByRole('progressbar', { name: stage, exact: true });
  const [now, max, text] = await Promise.all([bar.getAttribute('aria-valuenow'), bar.getAttribute('aria-valuemax'), bar.innerText()]);
  return { now: Number(now), max: Number(max), text };
}

async function statusShows(page: Page, pattern: RegExp): Promise<void> {
  const status = result(page).getByRole('status').first();
  const text = await eventually(() => status.innerText(), (s) => pattern.test(s.trim()), RUN_MS);
  assert.match(text.trim(), pattern);
}

/** The focused element and the name a screen reader gives it: aria-label, its <label>, or a button's or link's text. */
const FOCUSED = `(() => {
  const el = document.activeElement;
  const own = el.getAttribute('aria-label') || (el.labels && el.labels[0] ? el.labels[0].textContent : '') || (el.getAttribute('aria-labelledby') ? 'labelled' : '');
  const text = el.tagName === 'BUTTON' || el.tagName === 'A' ? el.textContent : '';
  return { tag: el.tagName.toLowerCase(), id: el.id, name: (own || text || '').trim() };
})()`;

const naturalWidth = (img: Locator) => img.evaluate((el) => (el as unknown as { naturalWidth: number }).naturalWidth);
