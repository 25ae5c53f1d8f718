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
//   record-en, record-fr, record-keyboard (English, Tab, Enter and Space only)
//             the person's own record: signs in to two services (Employment Insurance, Alberta
//             Student Aid) remembering the consent, opens the record (signing in at the
//             provider), finds both disclosures and both consents, withdraws the Employment
//             Insurance consent (a reason, then a fresh sign-in at the provider), waits for the
//             service's receiver to list the signed withdrawal event, reports a disclosure with
//             "This wasn't me", and signs in to Employment Insurance again: the consent page is
//             back
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
const keyboard = scenario === 'keyboard' || scenario === 'record-keyboard';
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
// Tab from the top of the page: blurring alone leaves Tab starting at a fragment's target (the
// record after a withdrawal, at #consents), so the body takes focus first.
async function fromTheTop(page) {
  await page.evaluate(() => {
    document.body.setAttribute('tabindex', '-1');
    document.body.focus();
    document.body.removeAttribute('tabindex');
    document.activeElement?.blur();
    window.scrollTo(0, 0);
  });
}

async function focusRings(page) {
  await fromTheTop(page);
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
    // A control with several Tab stops (a date field's year, month and day) is seen once.
    if (ring && seen.length && seen[seen.length - 1].id === ring.id) continue;
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

// Presses Tab from the top of the page until `locator` has focus.
async function tabTo(page, locator) {
  await fromTheTop(page);
  const target = await locator.elementHandle();
  for (let i = 0; i < 120; i += 1) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((el) => document.activeElement === el, target)) return;
  }
  const what = (await locator.textContent())?.trim() || await locator.getAttribute('id');
  throw new Error(`could not reach "${what}" with the Tab key`);
}

// Activates a control: a click, or Tab until it has focus and then Enter.
async function activate(page, locator) {
  if (!keyboard) {
    await Promise.all([page.waitForLoadState('load'), locator.click()]);
    await page.waitForLoadState('load');
    return;
  }
  await tabTo(page, locator);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.keyboard.press('Enter')]);
}

// Checks a check box or a radio button: a click, or Tab until it has focus and then Space.
async function tick(page, locator) {
  if (!keyboard) {
    await locator.check();
  } else {
    await tabTo(page, locator);
    await page.keyboard.press('Space');
  }
  if (!(await locator.isChecked())) throw new Error(`${await locator.getAttribute('id')} is not checked`);
}

async function expectLang(page, lang, what) {
  const actual = await page.getAttribute('html', 'lang');
  if (actual !== lang) throw new Error(`${what} is in ${actual}, expected ${lang}`);
}

// The person's own record (record-en, record-fr, record-keyboard).
const SERVICES = {
  ei: {
    client: 'esdc-employment-insurance',
    name: { en: 'Employment Insurance (demo)', fr: 'Assurance-emploi (démo)' },
    // Named in the agreement and released for the demo's first test person.
    information: { en: ['Given name', 'Family name', 'Date of birth', 'Address'], fr: ['Prénom', 'Nom de famille', 'Date de naissance', 'Adresse'] },
  },
  aid: {
    client: 'ab-student-aid',
    name: { en: 'Alberta Student Aid (demo)', fr: "Aide financière aux étudiants de l'Alberta (démo)" },
    information: { en: ['Given name', 'Family name', 'Date of birth', 'Email address', 'Address'], fr: ['Prénom', 'Nom de famille', 'Date de naissance', 'Adresse courriel', 'Adresse'] },
  },
};

const origin = (u) => new URL(u).origin;

// From a service's sign-in button to the service's result page: the picker, the provider's
// page and the consent page, each when the broker shows it. Returns the names of the pages.
async function signInThrough(page, lang, { remember, expectConsent }) {
  const walked = [];
  for (let i = 0; i < 6; i += 1) {
    const here = new URL(page.url());
    if (here.origin === origin(rp)) break;
    if (here.origin === origin(broker)) {
      const share = page.locator('button[name=decision][value=share]');
      if (await share.count()) {
        await expectLang(page, lang, 'the consent page');
        const text = await page.textContent('main');
        const heading = lang === 'fr' ? 'Communiquer vos renseignements' : 'Share your information';
        if (!text.includes(heading)) throw new Error(`the consent page does not say "${heading}": ${text}`);
        await inspect(page, 'consent');
        walked.push('consent');
        if (remember) await tick(page, page.locator('#remember'));
        await activate(page, share);
      } else {
        await expectLang(page, lang, 'the picker');
        await inspect(page, 'picker');
        walked.push('picker');
        await activate(page, page.locator('button[name=provider][value=ab-account]'));
      }
    } else {
      await expectLang(page, lang, "the provider's page");
      await inspect(page, 'provider');
      walked.push('provider');
      await activate(page, page.locator('form[action="/login"] button').first());
    }
  }
  if (origin(page.url()) !== origin(rp)) throw new Error(`the sign-in did not come back to the service: ${page.url()}`);
  if (expectConsent !== walked.includes('consent')) {
    throw new Error(`the consent page was ${expectConsent ? 'not ' : ''}shown (${walked})`);
  }
  await inspect(page, 'result');
  return walked;
}

async function signInToService(page, lang, service, options) {
  await page.goto(`${rp}/?lang=${lang}`);
  await expectLang(page, lang, "the service's page");
  await inspect(page, 'service');
  await activate(page, page.locator(`form[action="/login/${service.client}"] button`));
  return signInThrough(page, lang, options);
}

// The record page's sections: the remembered consents and the disclosures, by service name.
async function recordSections(page) {
  const read = (selector) => page.locator(selector).evaluateAll((sections) => sections.map((s) => ({
    service: s.querySelector('h3').firstChild.textContent.trim(),
    text: s.textContent.replace(/\s+/g, ' '),
  })));
  return {
    consents: await read('section.entry[aria-labelledby^="consent-"]'),
    disclosures: await read('section.entry[aria-labelledby^="d-"]'),
  };
}

function expectEntry(entries, service, lang, what) {
  const entry = entries.find((e) => e.service === service.name[lang]);
  if (!entry) throw new Error(`no ${what} for ${service.name[lang]}: ${JSON.stringify(entries)}`);
  for (const name of service.information[lang]) {
    if (!entry.text.includes(name)) throw new Error(`the ${what} for ${service.name[lang]} does not name "${name}": ${entry.text}`);
  }
  return entry;
}

async function pollSecurityEvents(client) {
  const deadline = Date.now() + 30000;
  for (;;) {
    const answer = await fetch(`${rp}/backchannel-logout/${client}/received`);
    if (!answer.ok) throw new Error(`the service's receiver answered ${answer.status}`);
    const events = (await answer.json()).security_events.filter((e) => e.client === client);
    if (events.length) return events;
    if (Date.now() > deadline) throw new Error(`no withdrawal event reached ${client} in 30 s`);
    await new Promise((r) => { setTimeout(r, 500); });
  }
}

async function recordScenario(page, lang) {
  const { ei, aid } = SERVICES;
  const path = lang === 'fr' ? '/mon-dossier' : '/my-record';
  const t = (en, fr) => (lang === 'fr' ? fr : en);
  const flows = {};
  // Two services, the same person at the same provider, each consent remembered.
  flows.ei = await signInToService(page, lang, ei, { remember: true, expectConsent: true });
  flows.aid = await signInToService(page, lang, aid, { remember: true, expectConsent: true });
  const remembered = await signInToService(page, lang, ei, { remember: false, expectConsent: false });

  // The record: its sign-in, the provider, back through the broker's callback.
  await page.goto(`${broker}${path}`);
  await expectLang(page, lang, "the record's sign-in page");
  await inspect(page, 'record-sign-in');
  await activate(page, page.locator('form[action="/my-record/sign-in"] button[name=provider][value=ab-account]'));
  await expectLang(page, lang, "the provider's page");
  await inspect(page, 'provider');
  await activate(page, page.locator('form[action="/login"] button').first());
  if (new URL(page.url()).pathname !== path) throw new Error(`the record's sign-in ended at ${page.url()}`);
  await expectLang(page, lang, 'the record');
  let sections = await recordSections(page);
  expectEntry(sections.consents, ei, lang, 'remembered consent');
  expectEntry(sections.consents, aid, lang, 'remembered consent');
  expectEntry(sections.disclosures, ei, lang, 'disclosure');
  expectEntry(sections.disclosures, aid, lang, 'disclosure');
  const eiDisclosures = sections.disclosures.filter((d) => d.service === ei.name[lang]).length;
  if (eiDisclosures !== 2) throw new Error(`${eiDisclosures} disclosures to ${ei.name[lang]}, expected 2 (one with the consent remembered)`);
  if (sections.consents.length !== 2 || sections.disclosures.length !== 3) {
    throw new Error(`the record lists ${sections.consents.length} consents and ${sections.disclosures.length} disclosures: ${JSON.stringify(sections)}`);
  }
  for (const words of [t('Remembered consents', 'Consentements mémorisés'), t('Who received your identity', 'Qui a reçu votre identité'),
    t('Legal basis', 'Fondement juridique'), t('Identity confirmed by', 'Identité confirmée par'), 'Alberta.ca']) {
    if (!(await page.textContent('main')).includes(words)) throw new Error(`the record does not say "${words}"`);
  }
  const recordText = await page.textContent('main');
  await inspect(page, 'record');

  // Withdraws the Employment Insurance consent: a reason, then a fresh sign-in at the provider.
  await activate(page, page.locator('a[href^="/my-record/withdraw"]', { hasText: ei.name[lang] }));
  await expectLang(page, lang, 'the withdrawal question');
  const question = await page.textContent('main');
  if (!question.includes(ei.name[lang])) throw new Error(`the withdrawal question does not name the service: ${question}`);
  await inspect(page, 'withdraw');
  const reason = keyboard ? 'no_longer_use' : 'changed_mind';
  await tick(page, page.locator(`#reason-${reason}`));
  await activate(page, page.locator('form[action="/my-record/withdraw"] button[type=submit]'));
  if (origin(page.url()) === origin(broker)) throw new Error(`the withdrawal did not ask for a fresh sign-in: ${page.url()}`);
  const freshSignIn = page.url();
  if (new URL(freshSignIn).searchParams.get('prompt') !== 'login') throw new Error(`the withdrawal's sign-in is not fresh: ${freshSignIn}`);
  await expectLang(page, lang, "the provider's page");
  await inspect(page, 'provider');
  await activate(page, page.locator('form[action="/login"] button').first());
  const done = new URL(page.url());
  if (done.pathname !== path || done.searchParams.get('done') !== 'withdrawn') throw new Error(`the withdrawal ended at ${page.url()}`);
  const notice = await page.textContent('[role=status]');
  if (!notice.includes(t('Your consent was withdrawn', 'Votre consentement a été retiré'))) throw new Error(`no withdrawal notice: ${notice}`);
  sections = await recordSections(page);
  if (sections.consents.some((c) => c.service === ei.name[lang])) throw new Error('the withdrawn consent is still listed');
  expectEntry(sections.consents, aid, lang, 'remembered consent');
  await inspect(page, 'record-withdrawn');

  // The service's receiver lists the signed withdrawal event; the other service got none.
  const events = await pollSecurityEvents(ei.client);
  if (events[0].reason !== reason) throw new Error(`the event's reason is ${events[0].reason}, expected ${reason}`);
  const others = (await (await fetch(`${rp}/backchannel-logout/${aid.client}/received`)).json()).security_events;
  if (others.length) throw new Error(`${aid.client} was told of a withdrawal: ${JSON.stringify(others)}`);

  // "This wasn't me" on the student aid disclosure: the thank-you page with the reference.
  const report = page.locator('form[action="/my-record/report"]', { hasText: aid.name[lang] });
  const reference = await report.locator('input[name=reference]').inputValue();
  await activate(page, report.locator('button'));
  await expectLang(page, lang, 'the thank-you page');
  const thanks = await page.textContent('main');
  if (!thanks.includes(t('Thank you for telling us', 'Merci de votre signalement'))) throw new Error(`no thank-you page: ${thanks}`);
  const said = thanks.match(lang === 'fr' ? /numéro de référence est (\S+)\./ : /reference is (\S+)\./);
  if (!said || !said[1]) throw new Error(`the thank-you page gives no reference: ${thanks}`);
  await inspect(page, 'reported');

  // The next sign-in to Employment Insurance asks again.
  const again = await signInToService(page, lang, ei, { remember: false, expectConsent: true });
  const resultText = await page.textContent('body');
  return {
    record_text: recordText,
    security_events: events,
    fresh_sign_in: freshSignIn,
    disclosure_reference: reference,
    report_reference: said[1],
    flows: { ...flows, remembered, again },
    result_text: resultText,
  };
}

try {
  const start = ['fr', 'refuse', 'notice-fr', 'logout-fr', 'record-fr'].includes(scenario) ? 'fr' : 'en';
  const notice = scenario.startsWith('notice');
  const context = await browser.newContext({ locale: start === 'fr' ? 'fr-CA' : 'en-CA', viewport: DESKTOP });
  const page = await context.newPage();
  if (scenario.startsWith('record')) {
    const found = await recordScenario(page, start);
    report({ ok: true, scenario, pages, ...found });
  } else if (scenario === 'errors') {
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
