// An independent OpenID Connect relying party for end-to-end tests, built on
// panva's openid-client (v6). It runs one full login against an OpenID
// Provider, acting as the browser itself, and prints one JSON object.
//
// Usage:
//   node rp.mjs --issuer URL --client-id ID --client-secret S --redirect-uri URI
//               [--scope "openid profile"] [--acr-values V] [--login-hint H]
//               [--extra k=v ...] [--auth client_secret_basic|client_secret_post]
//               [--form-action SUBSTRING ...] [--submit NAME=VALUE ...]
//               [--id-token-alg ALG] [--no-userinfo] [--max-hops N]
//               [--auth private_key_jwt --private-key-jwk FILE] [--par]
//
// --auth private_key_jwt signs client assertions (RFC 7523) with the private JWK in FILE
// (ES256, P-256); --client-secret is then not needed. --par pushes the authorization request
// (RFC 9126) and sends the browser with the request_uri only.
//
// Browser behaviour: follows the redirect chain with fetch (redirect: 'manual'),
// keeping one cookie jar per origin host:port (so a chain that crosses the
// broker and an upstream provider on other ports keeps each one's cookies),
// and stops at the first URL that starts with the redirect URI (never fetching
// it). An HTML page with a <form> (consent, picker) is submitted only when
// --form-action was given: the first form whose action contains one of the
// given substrings ("*" matches any form) is submitted with its hidden inputs
// plus the --submit NAME=VALUE pairs whose NAME appears in that form (all of
// them when none does). A form whose action is the redirect URI (response_mode
// form_post) is the authorization response itself.
//
// Success (exit 0): { "id_token_claims": {...}, "userinfo": {...},
//                     "id_token_header": {...}, "authorization_response": {...},
//                     "code": "...", "id_token": "<JWT>", "access_token": "..." }
// Failure (exit 1): { "error": "...", "error_description": "...", ... }

import * as client from 'openid-client';

const HTML_ENTITIES = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'", nbsp: '\u00a0',
};

class RpError extends Error {
  constructor(error, description, extra = {}) {
    super(description);
    this.error = error;
    this.error_description = description;
    this.extra = extra;
  }
}

function out(obj, code) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
  process.exitCode = code;
}

// ---------------------------------------------------------------- arguments
function parseArgs(argv) {
  const opts = {
    scope: 'openid profile',
    auth: 'client_secret_basic',
    extra: [],
    formAction: [],
    submit: [],
    userinfo: true,
    maxHops: 40,
  };
  const takesValue = {
    '--issuer': 'issuer',
    '--client-id': 'clientId',
    '--client-secret': 'clientSecret',
    '--redirect-uri': 'redirectUri',
    '--scope': 'scope',
    '--acr-values': 'acrValues',
    '--login-hint': 'loginHint',
    '--auth': 'auth',
    '--id-token-alg': 'idTokenAlg',
    '--max-hops': 'maxHops',
    '--private-key-jwk': 'privateKeyJwk',
  };
  const repeatable = { '--extra': 'extra', '--form-action': 'formAction', '--submit': 'submit' };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--no-userinfo') {
      opts.userinfo = false;
    } else if (arg === '--par') {
      opts.par = true;
    } else if (takesValue[arg] || repeatable[arg]) {
      const value = argv[i + 1];
      if (value === undefined) throw new RpError('rp_usage', `missing value for ${arg}`);
      i += 1;
      if (takesValue[arg]) opts[takesValue[arg]] = value;
      else opts[repeatable[arg]].push(value);
    } else {
      throw new RpError('rp_usage', `unknown argument ${arg}`);
    }
  }
  const secretNeeded = opts.auth !== 'private_key_jwt';
  for (const required of ['issuer', 'clientId', ...(secretNeeded ? ['clientSecret'] : ['privateKeyJwk']), 'redirectUri']) {
    if (!opts[required]) throw new RpError('rp_usage', `--${required.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is required`);
  }
  if (!['client_secret_basic', 'client_secret_post', 'private_key_jwt'].includes(opts.auth)) {
    throw new RpError('rp_usage', `--auth must be client_secret_basic, client_secret_post or private_key_jwt, not ${opts.auth}`);
  }
  opts.maxHops = Number(opts.maxHops);
  return opts;
}

function splitPair(pair, what) {
  const i = pair.indexOf('=');
  if (i <= 0) throw new RpError('rp_usage', `${what} expects NAME=VALUE, got ${pair}`);
  return [pair.slice(0, i), pair.slice(i + 1)];
}

function isLoopback(url) {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

// ---------------------------------------------------------------- cookie jar
class CookieJar {
  constructor() {
    this.jars = new Map(); // host:port -> Map(name -> { value, path, expires })
  }

  store(url, response) {
    const headers = typeof response.headers.getSetCookie === 'function'
      ? response.headers.getSetCookie()
      : [];
    for (const header of headers) {
      const [pair, ...attrs] = header.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = url.pathname.replace(/\/[^/]*$/, '') || '/';
      let expires;
      for (const attr of attrs) {
        const [k, ...v] = attr.split('=');
        const key = k.trim().toLowerCase();
        const val = v.join('=').trim();
        if (key === 'path' && val.startsWith('/')) path = val;
        if (key === 'max-age') expires = Date.now() + Number(val) * 1000;
        if (key === 'expires' && expires === undefined) expires = Date.parse(val);
      }
      let jar = this.jars.get(url.host);
      if (!jar) {
        jar = new Map();
        this.jars.set(url.host, jar);
      }
      const id = `${name}\u0000${path}`;
      if (expires !== undefined && !(expires > Date.now())) jar.delete(id);
      else jar.set(id, { name, value, path, expires });
    }
  }

  header(url) {
    const jar = this.jars.get(url.host);
    if (!jar) return undefined;
    const now = Date.now();
    const pairs = [];
    for (const [id, c] of jar) {
      if (c.expires !== undefined && !(c.expires > now)) {
        jar.delete(id);
        continue;
      }
      const p = c.path.endsWith('/') ? c.path : `${c.path}/`;
      if (url.pathname === c.path || url.pathname.startsWith(p)) pairs.push(`${c.name}=${c.value}`);
    }
    return pairs.length ? pairs.join('; ') : undefined;
  }
}

// ---------------------------------------------------------------- HTML
function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e) => {
    if (e[0] === '#') {
      const code = e[1].toLowerCase() === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(code) ? String.fromCodePoint(code) : m;
    }
    return HTML_ENTITIES[e.toLowerCase()] ?? m;
  });
}

function attrs(tag) {
  const result = {};
  const re = /([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  const inner = tag.replace(/^<\s*[a-zA-Z]+/, '').replace(/\/?>$/, '');
  let m;
  while ((m = re.exec(inner)) !== null) {
    result[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return result;
}

function pageText(html) {
  const body = /<body[^>]*>([\s\S]*)/i.exec(html)?.[1] ?? html;
  return decodeEntities(body
    .replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]+>/g, ' '))
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 300);
}

function pageTitle(html) {
  const m = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html);
  return m ? decodeEntities(m[1]).replace(/\s+/g, ' ').trim() : '(no title)';
}

function parseForms(html, baseUrl) {
  const forms = [];
  const formRe = /<form\b[^>]*>([\s\S]*?)(?:<\/form>|$)/gi;
  let m;
  while ((m = formRe.exec(html)) !== null) {
    const open = /^<form\b[^>]*>/i.exec(m[0])[0];
    const a = attrs(open);
    const body = m[1];
    const hidden = [];
    const names = new Set();
    const fieldRe = /<(input|button|select|textarea)\b[^>]*>/gi;
    let f;
    while ((f = fieldRe.exec(body)) !== null) {
      const fa = attrs(f[0]);
      if (!fa.name) continue;
      names.add(fa.name);
      if (f[1].toLowerCase() === 'input' && (fa.type ?? '').toLowerCase() === 'hidden') {
        hidden.push([fa.name, fa.value ?? '']);
      }
    }
    forms.push({
      action: new URL(a.action || baseUrl.href, baseUrl),
      method: (a.method || 'GET').toUpperCase(),
      hidden,
      names,
    });
  }
  return forms;
}

// ---------------------------------------------------------------- browser
async function browse(startUrl, opts) {
  const jar = new CookieJar();
  const redirectUri = opts.redirectUri;
  let request = { url: startUrl, method: 'GET', body: undefined };
  const trail = [];

  for (let hop = 0; hop < opts.maxHops; hop += 1) {
    const { url } = request;
    if (url.href.startsWith(redirectUri)) {
      return { callback: url, trail };
    }
    trail.push(`${request.method} ${url.href}`);
    const headers = { accept: 'text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8' };
    const cookie = jar.header(url);
    if (cookie) headers.cookie = cookie;
    if (request.body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    let res;
    try {
      res = await fetch(url, {
        method: request.method,
        headers,
        body: request.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(15000),
      });
    } catch (err) {
      throw new RpError('rp_browser_error', `${request.method} ${url.href} failed: ${err.cause?.message ?? err.message}`);
    }
    jar.store(url, res);

    if (res.status >= 300 && res.status < 400) {
      const location = res.headers.get('location');
      await res.arrayBuffer().catch(() => undefined);
      if (!location) throw new RpError('rp_browser_error', `${res.status} from ${url.href} without a Location header`);
      const next = new URL(location, url);
      if ((res.status === 307 || res.status === 308) && request.method !== 'GET') {
        request = { url: next, method: request.method, body: request.body };
      } else {
        request = { url: next, method: 'GET', body: undefined };
      }
      continue;
    }

    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    const isHtml = /html/i.test(type) || /^\s*<(!doctype|html)/i.test(text);
    if (!isHtml) {
      throw new RpError('rp_browser_error', `${res.status} ${type || 'response'} from ${url.href}: ${text.slice(0, 300)}`);
    }
    const forms = /<form\b/i.test(text) ? parseForms(text, url) : [];

    // response_mode=form_post: the form posting to the redirect URI is the response.
    const responseForm = forms.find((f) => f.action.href.startsWith(redirectUri));
    if (responseForm) {
      return {
        callback: responseForm.action,
        formPost: new URLSearchParams(responseForm.hidden),
        trail,
      };
    }

    if (!forms.length) {
      throw new RpError('rp_browser_error', `stuck on page "${pageTitle(text)}" (HTTP ${res.status}) at ${url.href}: ${pageText(text)}`);
    }
    if (!opts.formAction.length) {
      throw new RpError('rp_form_not_allowed', `page "${pageTitle(text)}" (HTTP ${res.status}) at ${url.href} has a form; pass --form-action (and --submit NAME=VALUE) to submit it`);
    }
    const form = forms.find((f) => opts.formAction.some((s) => s === '*' || f.action.href.includes(s)));
    if (!form) {
      throw new RpError('rp_form_not_allowed', `page "${pageTitle(text)}" at ${url.href}: no form action matches ${opts.formAction.join(', ')} (actions: ${forms.map((f) => f.action.href).join(', ')})`);
    }
    const fields = new URLSearchParams(form.hidden);
    const submits = opts.submit.map((p) => splitPair(p, '--submit'));
    const relevant = submits.filter(([n]) => form.names.has(n));
    for (const [n, v] of (relevant.length ? relevant : submits)) fields.append(n, v);
    if (form.method === 'POST') {
      request = { url: form.action, method: 'POST', body: fields.toString() };
    } else {
      const target = new URL(form.action);
      for (const [n, v] of fields) target.searchParams.append(n, v);
      request = { url: target, method: 'GET', body: undefined };
    }
  }
  throw new RpError('rp_browser_error', `more than ${opts.maxHops} hops: ${trail.slice(-6).join(' -> ')}`);
}

function decodeJwtPart(jwt, index) {
  const part = jwt.split('.')[index];
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

// ---------------------------------------------------------------- main
async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const issuerUrl = new URL(opts.issuer);
  const metadata = { redirect_uris: [opts.redirectUri], response_types: ['code'] };
  if (opts.clientSecret) metadata.client_secret = opts.clientSecret;
  if (opts.idTokenAlg) metadata.id_token_signed_response_alg = opts.idTokenAlg;
  let auth;
  if (opts.auth === 'private_key_jwt') {
    const { readFile } = await import('node:fs/promises');
    const jwk = JSON.parse(await readFile(opts.privateKeyJwk, 'utf8'));
    const key = await crypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
    auth = client.PrivateKeyJwt({ key, kid: jwk.kid });
  } else if (opts.auth === 'client_secret_post') {
    auth = client.ClientSecretPost(opts.clientSecret);
  } else {
    auth = client.ClientSecretBasic(opts.clientSecret);
  }
  const discoveryOptions = isLoopback(issuerUrl) ? { execute: [client.allowInsecureRequests] } : {};

  let config;
  try {
    config = await client.discovery(issuerUrl, opts.clientId, metadata, auth, discoveryOptions);
  } catch (err) {
    throw new RpError('rp_discovery_failed', `discovery of ${opts.issuer} failed: ${describe(err)}`);
  }

  const codeVerifier = client.randomPKCECodeVerifier();
  const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const params = {
    redirect_uri: opts.redirectUri,
    scope: opts.scope,
    response_type: 'code',
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    state,
    nonce,
  };
  if (opts.acrValues) params.acr_values = opts.acrValues;
  if (opts.loginHint) params.login_hint = opts.loginHint;
  for (const pair of opts.extra) {
    const [k, v] = splitPair(pair, '--extra');
    params[k] = v;
  }
  let authUrl;
  if (opts.par) {
    try {
      authUrl = await client.buildAuthorizationUrlWithPAR(config, params);
    } catch (err) {
      throw new RpError(err.error ?? 'rp_par_failed', `pushed authorization request failed: ${describe(err)}`);
    }
  } else {
    authUrl = client.buildAuthorizationUrl(config, params);
  }

  const { callback, formPost } = await browse(authUrl, opts);
  const response = formPost ?? callback.searchParams;
  const iss = response.get('iss') ?? undefined;
  const authorizationResponse = {
    iss: iss ?? null,
    state_matches: response.get('state') === state,
    response_mode: formPost ? 'form_post' : 'query',
  };

  if (response.get('error')) {
    throw new RpError(response.get('error'), response.get('error_description') ?? '', {
      error_uri: response.get('error_uri') ?? undefined,
      authorization_response: {
        ...authorizationResponse,
        iss_valid: iss === config.serverMetadata().issuer,
      },
    });
  }

  const current = formPost
    ? new Request(callback, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: formPost.toString(),
    })
    : callback;
  const tokens = await client.authorizationCodeGrant(config, current, {
    pkceCodeVerifier: codeVerifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  const idTokenClaims = tokens.claims();
  const idTokenHeader = decodeJwtPart(tokens.id_token, 0);
  let userinfo = null;
  if (opts.userinfo) {
    userinfo = await client.fetchUserInfo(config, tokens.access_token, idTokenClaims.sub);
  }
  out({
    id_token_claims: idTokenClaims,
    userinfo,
    id_token_header: idTokenHeader,
    authorization_response: authorizationResponse,
    // Raw, for tests that check where these never appear (the broker's log).
    code: response.get('code'),
    id_token: tokens.id_token,
    access_token: tokens.access_token,
  }, 0);
}

function describe(err) {
  const parts = [err?.message ?? String(err)];
  let { cause } = err ?? {};
  for (let depth = 0; cause && depth < 3; depth += 1) {
    if (cause instanceof Error) parts.push(cause.message);
    else if (cause instanceof URLSearchParams) parts.push(cause.toString());
    else if (typeof cause === 'object' && !(cause instanceof Response)) {
      try {
        parts.push(JSON.stringify(cause));
      } catch {
        // not serializable
      }
    }
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return parts.join(': ');
}

main().catch((err) => {
  if (err instanceof RpError) {
    out({ error: err.error, error_description: err.error_description, ...err.extra }, 1);
    return;
  }
  // openid-client / oauth4webapi errors: OAuth errors carry error/error_description
  // (token and userinfo endpoints); others carry a code such as OAUTH_JWT_CLAIM_COMPARISON_FAILED.
  let error = typeof err?.error === 'string' ? err.error : (err?.code ?? err?.name ?? 'rp_error');
  let description = typeof err?.error_description === 'string' ? err.error_description : describe(err);
  // A 401 with a WWW-Authenticate challenge (e.g. failed client authentication).
  const challenge = Array.isArray(err?.cause) ? err.cause.find((c) => c?.parameters?.error) : undefined;
  if (challenge) {
    error = challenge.parameters.error;
    description = challenge.parameters.error_description ?? describe(err);
  }
  out({ error, error_description: description }, 1);
});
