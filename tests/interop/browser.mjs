// A person in headless Chromium: signs in to a demo service through the broker, choosing a
// province on the broker's picker, a test person on the provider's page, consenting in French,
// and landing back at the service. With --keyboard every step is done with Tab and Enter only,
// which checks that each control is reachable in focus order.
//
// Usage: node browser.mjs --rp URL --out DIR [--keyboard] [--lang fr]
// Prints one JSON object: { ok, pages: [...], result_text } or { ok: false, error }.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const rp = opt('rp');
const out = opt('out', 'artifacts');
const lang = opt('lang', 'fr');
const keyboard = args.includes('--keyboard');
mkdirSync(out, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const pages = [];
let step = 0;
const report = (o) => { process.stdout.write(JSON.stringify(o) + '\n'); };

async function shot(page, name) {
  step += 1;
  const file = join(out, `${String(step).padStart(2, '0')}-${name}${keyboard ? '-keyboard' : ''}.png`);
  await page.screenshot({ path: file, fullPage: true });
  pages.push({ name, url: page.url(), title: await page.title(), lang: await page.getAttribute('html', 'lang'), screenshot: file });
}

// Activates a control: a click, or Tab until it has focus and then Enter.
async function activate(page, locator) {
  if (!keyboard) {
    await Promise.all([page.waitForLoadState('load'), locator.click()]);
    return;
  }
  const target = await locator.elementHandle();
  for (let i = 0; i < 60; i += 1) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((el) => document.activeElement === el, target)) {
      // A visible focus indicator is required (WCAG 2.4.7).
      const outline = await page.evaluate((el) => getComputedStyle(el).outlineStyle, target);
      if (outline === 'none') throw new Error(`no visible focus on ${await locator.textContent()}`);
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.keyboard.press('Enter')]);
      return;
    }
  }
  throw new Error(`could not reach "${(await locator.textContent())?.trim()}" with the Tab key`);
}

try {
  const context = await browser.newContext({ locale: lang === 'fr' ? 'fr-CA' : 'en-CA' });
  const page = await context.newPage();
  await page.goto(`${rp}/?lang=${lang}`);
  await shot(page, 'service');
  // The Employment Insurance service's sign-in button: the first form on the page.
  await activate(page, page.locator('form button[type=submit]').first());
  await shot(page, 'picker');
  if (!(await page.locator('legend', { hasText: 'Alberta' }).count())) throw new Error('no Alberta group on the picker');
  await activate(page, page.locator('button[name=provider][value=ab-account]'));
  await shot(page, 'provider');
  await activate(page, page.locator('form[action="/login"] button').first());
  await shot(page, 'consent');
  const consentText = await page.textContent('main');
  if (lang === 'fr' && !consentText.includes('Communiquer vos renseignements')) throw new Error('the consent page is not in French');
  await activate(page, page.locator('button[name=decision][value=share]'));
  await shot(page, 'result');
  report({ ok: true, pages, result_text: await page.textContent('body') });
} catch (e) {
  report({ ok: false, error: String(e && e.stack || e), pages });
  process.exitCode = 1;
} finally {
  await browser.close();
}
