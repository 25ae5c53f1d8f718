// A person in headless Chromium: signs in to a demo service through the broker, choosing a
// province on the broker's picker, a test person on the provider's page, deciding on the
// consent page, and landing back at the service. On every page it checks what a person relies
// on: the page's language, no WCAG 2.1 A or AA violation found by axe-core, a visible focus
// indicator of at least 3:1 against what it sits on for every control reached with Tab
// (computed from the styles), nothing wider than a 320 px screen, and the design system's fonts
// loaded from the page's own host. Screenshots of each page,
// desktop and 390 px wide, go to --out.
//
// Scenarios (--scenario):
//   en        in English throughout, with the mouse
//   fr        in French from the service on, with the mouse
//   switch    starts in English, switches to French on the picker, with the mouse
//   keyboard  as switch, with Tab and Enter only (each control reachable in focus order)
//   refuse    in French, refuses on the consent page: the service shows the refusal
//   refuse-en the same in English
//   errors    the broker's error page, in English then French through its language toggle
//   notice-en, notice-fr
//             a program whose law authorizes the collection (CRA My Account): the notice page
//   logout-en, logout-fr
//             signed in, the broker's sign-out question (a request not tied to the session),
//             "stay signed in", then the service's Sign out: through the broker and the
//             provider back to the service's signed-out page; and the broker's signed-out page
//
// Usage: node browser.mjs --rp URL --broker URL --out DIR --scenario NAME
// Prints one JSON object: { ok, scenario, pages: [...], result_text } or { ok: false, error }.
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const rp = opt('rp');
const broker = opt('broker');
const out = opt('out', 'artifacts');
const scenario = opt('scenario', 'fr');
const keyboard = scenario === 'keyboard';
mkdirSync(out, { recursive: true });
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const DESKTOP = { width: 1280, height: 900 };
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const pages = [];
let step = 0;
const report = (o) => { process.stdout.write(JSON.stringify(o) + '\n'); };

// Every focusable control, reached with Tab from the top of the page: its focus indicator's
// contrast against the background it is drawn on (the outline sits outside the control, on
// its parent's background).
async function focusRings(page) {
  await page.evaluate(() => { document.activeElement?.blur(); window.scrollTo(0, 0); });
  const seen = [];
  for (let i = 0; i < 80; i += 1) {
    await page.keyboard.press('Tab');
    const ring = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      const parse = (c) => {
        const m = c.match(/rgba?\(([^)]+)\)/);
        if (!m) return null;
        const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
        return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
      };
      const lum = ({ r, g, b }) => {
        const f = (v) => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; };
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
      };
      const background = (start) => {
        for (let e = start; e; e = e.parentElement) {
          const c = parse(getComputedStyle(e).backgroundColor);
          if (c && c.a > 0) return c;
        }
        return { r: 255, g: 255, b: 255, a: 1 };
      };
      const style = getComputedStyle(el);
      const width = parseFloat(style.outlineWidth) || 0;
      const color = parse(style.outlineColor);
      const behind = background(el.parentElement);
      const l1 = color ? lum(color) : 0;
      const l2 = lum(behind);
      const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
      if (!el.dataset.ringSeen) el.dataset.ringSeen = String(Math.random());
      return {
        id: el.dataset.ringSeen,
        what: `${el.tagName.toLowerCase()} "${(el.textContent || el.getAttribute('name') || '').trim().slice(0, 40)}"`,
        style: style.outlineStyle,
        width,
        ratio: Math.round(ratio * 100) / 100,
      };
    });
    if (!ring || seen.some((r) => r.id === ring.id)) break;
    seen.push(ring);
  }
  await page.evaluate(() => { for (const e of document.querySelectorAll('[data-ring-seen]')) delete e.dataset.ringSeen; document.activeElement?.blur(); });
  const bad = seen.filter((r) => r.style === 'none' || r.width < 2 || r.ratio < 3);
  if (!seen.length) throw new Error('no control could be reached with Tab');
  if (bad.length) throw new Error(`focus indicator missing or under 3:1: ${JSON.stringify(bad)}`);
  return seen.map(({ what, ratio }) => ({ what, ratio }));
}

async function axe(page) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  });
  if (result.length) throw new Error(`axe-core found WCAG 2.1 A/AA violations: ${JSON.stringify(result)}`);
}

// Everything a person relies on, checked on the page as it is, then its screenshots.
async function inspect(page, name) {
  step += 1;
  const lang = await page.getAttribute('html', 'lang');
  // The design system's fonts, from the page's own host (the CSP allows no other): the
  // headings' Lato and the text's Noto Sans both loaded.
  const fonts = await page.evaluate(async () => {
    await document.fonts.ready;
    return [...document.fonts].filter((f) => f.status === 'loaded').map((f) => f.family.replaceAll('"', ''));
  });
  for (const family of ['Lato', 'Noto Sans']) {
    if (!fonts.includes(family)) throw new Error(`${name}: the ${family} font did not load (${fonts})`);
  }
  await axe(page);
  const focus = await focusRings(page);
  await page.setViewportSize({ width: 320, height: 800 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  if (overflow > 0) throw new Error(`${name}: ${overflow} px wider than a 320 px screen`);
  const base = join(out, `${scenario}-${String(step).padStart(2, '0')}-${name}-${lang}`);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: `${base}-390.png`, fullPage: true });
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: `${base}-desktop.png`, fullPage: true });
  pages.push({
    name, url: page.url(), title: await page.title(), lang, focus,
    screenshots: [`${base}-desktop.png`, `${base}-390.png`],
  });
}

// Activates a control: a click, or Tab until it has focus and then Enter.
async function activate(page, locator) {
  if (!keyboard) {
    await Promise.all([page.waitForLoadState('load'), locator.click()]);
    await page.waitForLoadState('load');
    return;
  }
  await page.evaluate(() => { document.activeElement?.blur(); window.scrollTo(0, 0); });
  const target = await locator.elementHandle();
  for (let i = 0; i < 80; i += 1) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((el) => document.activeElement === el, target)) {
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.keyboard.press('Enter')]);
      return;
    }
  }
  throw new Error(`could not reach "${(await locator.textContent())?.trim()}" with the Tab key`);
}

async function expectLang(page, lang, what) {
  const actual = await page.getAttribute('html', 'lang');
  if (actual !== lang) throw new Error(`${what} is in ${actual}, expected ${lang}`);
}

try {
  const start = ['fr', 'refuse', 'notice-fr', 'logout-fr'].includes(scenario) ? 'fr' : 'en';
  const notice = scenario.startsWith('notice');
  const context = await browser.newContext({ locale: start === 'fr' ? 'fr-CA' : 'en-CA', viewport: DESKTOP });
  const page = await context.newPage();
  if (scenario === 'errors') {
    await page.goto(`${broker}/authorize?client_id=nobody&lang=en`);
    await expectLang(page, 'en', 'the error page');
    await inspect(page, 'error');
    await activate(page, page.locator('nav.lang-toggle a'));
    await expectLang(page, 'fr', 'the error page after the switch');
    const text = await page.textContent('body');
    if (!text.includes("Ce service n'est pas inscrit")) throw new Error(`the French error page does not say what happened in French: ${text}`);
    if (/not registered|Error code/.test(text)) throw new Error('English on the French error page');
    await inspect(page, 'error');
    report({ ok: true, scenario, pages, result_text: text });
  } else {
    await page.goto(`${rp}/?lang=${start}`);
    await inspect(page, 'service');
    // The Employment Insurance service's sign-in button (the first form on the page), or CRA
    // My Account's for a notice.
    const service = notice ? 'form[action="/login/cra-my-account"] button' : 'form button[type=submit]';
    await activate(page, page.locator(service).first());
    await expectLang(page, start, 'the picker');
    if (scenario === 'switch' || scenario === 'keyboard') {
      await inspect(page, 'picker');
      await activate(page, page.locator('nav.lang-toggle a'));
      await expectLang(page, 'fr', 'the picker after the switch');
    }
    const lang = ['en', 'notice-en', 'refuse-en', 'logout-en'].includes(scenario) ? 'en' : 'fr';
    await inspect(page, 'picker');
    if (!(await page.locator('legend', { hasText: 'Alberta' }).count())) throw new Error('no Alberta group on the picker');
    await activate(page, page.locator('button[name=provider][value=ab-account]'));
    await expectLang(page, lang, "the provider's page");
    await inspect(page, 'provider');
    await activate(page, page.locator('form[action="/login"] button').first());
    await expectLang(page, lang, 'the consent page');
    const consentText = await page.textContent('main');
    const heading = {
      en: notice ? 'Information that will be shared' : 'Share your information',
      fr: notice ? 'Renseignements qui seront communiqués' : 'Communiquer vos renseignements',
    }[lang];
    if (!consentText.includes(heading)) throw new Error(`the consent page does not say "${heading}": ${consentText}`);
    if (notice && !consentText.includes(lang === 'fr' ? "Loi de l'impôt sur le revenu" : 'Income Tax Act')) {
      throw new Error('the notice does not name the law');
    }
    await inspect(page, notice ? 'notice' : 'consent');
    if (scenario.startsWith('refuse')) {
      await activate(page, page.locator('button[name=decision][value=deny]'));
      await expectLang(page, lang, "the service's refusal page");
      await inspect(page, 'refused');
    } else {
      await activate(page, page.locator('button[name=decision][value=share]'));
      await inspect(page, 'result');
    }
    const resultText = await page.textContent('body');
    if (scenario.startsWith('logout')) {
      // A sign-out request the broker cannot tie to the session (no hint): it asks.
      await page.goto(`${broker}/logout?lang=${lang}`);
      await expectLang(page, lang, 'the sign-out question');
      const question = await page.textContent('main');
      const service = lang === 'fr' ? 'Assurance-emploi' : 'Employment Insurance';
      if (!question.includes(service)) throw new Error(`the sign-out question does not name the service: ${question}`);
      await inspect(page, 'logout-question');
      await activate(page, page.locator('button[name=decision][value=stay]'));
      await expectLang(page, lang, 'the stayed-signed-in page');
      await inspect(page, 'still-signed-in');
      // The service's own Sign out: through the broker and the provider, back to the service.
      await page.goto(`${rp}/result?lang=${lang}`);
      await activate(page, page.locator('form[action^="/logout/"] button'));
      if (!new URL(page.url()).pathname.startsWith('/signed-out/')) throw new Error(`the sign-out ended at ${page.url()}`);
      await inspect(page, 'service-signed-out');
      await page.goto(`${broker}/logout/done?lang=${lang}`);
      await expectLang(page, lang, "the broker's signed-out page");
      await inspect(page, 'signed-out');
    }
    report({ ok: true, scenario, pages, result_text: resultText });
  }
} catch (e) {
  report({ ok: false, scenario, error: String(e && e.stack || e), pages });
  process.exitCode = 1;
} finally {
  await browser.close();
}
