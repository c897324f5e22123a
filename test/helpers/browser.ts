import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { projectRoot } from './fixtures.js';

// Headless Chromium for the playground's end-to-end tests: Debian's own build (.ci/run installs it with apt-get),
// driven by playwright-core, which never downloads a browser of its own.

export const CHROMIUM = '/usr/bin/chromium';

/** Nothing the browser does by itself (updates, sync, safe-browsing lists) may reach the network either. */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export const DESKTOP = { width: 1280, height: 900 } as const;
export const PHONE = { width: 390, height: 844 } as const;

/** Where the tests leave what a person should look at (git-ignored, beside the build). */
export const testOutputDir = join(projectRoot, 'dist', 'test-output', 'playground');

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`The playground's browser tests need Chromium at ${CHROMIUM}: install it with \`apt-get install chromium\``);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

export interface LocalPage {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Every URL the page asked for, in order. */
  readonly requests: string[];
  /** The ones that were not for `origin` (nor data: or blob:): aborted before they left, and listed here. */
  readonly leaked: string[];
  close(): Promise<void>;
}

/**
 * A page in a fresh context (its own storage, so no token or model left from another test) that may talk only to
 * `origin`: anything else is aborted and recorded, so a test can assert that nothing left the machine.
 */
export async function openLocalPage(browser: Browser, origin: string, viewport: { width: number; height: number } = DESKTOP): Promise<LocalPage> {
  const context = await browser.newContext({ viewport, serviceWorkers: 'block' });
  const requests: string[] = [];
  const leaked: string[] = [];
  context.on('request', (request) => requests.push(request.url()));
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (isLocal(url, origin)) return route.continue();
    leaked.push(url);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  return { context, page, requests, leaked, close: () => context.close() };
}

function isLocal(url: string, origin: string): boolean {
  const parsed = new URL(url);
  return parsed.protocol === 'data:' || parsed.protocol === 'blob:' || parsed.origin === new URL(origin).origin;
}

/** The whole page at desktop and at phone size, as `<name>-desktop.png` and `<name>-phone.png`; returns their paths. */
export async function saveScreenshots(page: Page, name: string): Promise<string[]> {
  mkdirSync(testOutputDir, { recursive: true });
  const before = page.viewportSize();
  const paths: string[] = [];
  for (const [size, viewport] of [['desktop', DESKTOP], ['phone', PHONE]] as const) {
    await page.setViewportSize(viewport);
    const path = join(testOutputDir, `${name}-${size}.png`);
    await page.screenshot({ path, fullPage: true });
    paths.push(path);
  }
  if (before) await page.setViewportSize(before);
  return paths;
}
