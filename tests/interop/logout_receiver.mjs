// The back-channel logout receivers of relying services (OpenID Connect Back-Channel Logout
// 1.0, section 2.5 and 2.6), for end-to-end tests: one HTTP server on a free loopback port
// whose path `/<client_id>` is the backchannel_logout_uri of that service. Every logout token
// is verified with panva's `jose` against the OpenID Provider's published keys (its discovery
// document's jwks_uri, fetched when the first token arrives): signature with the service's
// algorithm, `typ` `logout+jwt`, `iss` the provider, `aud` the service, `iat` at most two
// minutes old, `exp`, `jti` (and never seen before), the back-channel logout event, `sid` or
// `sub`, and no `nonce` (section 2.6).
//
// Usage: node logout_receiver.mjs --issuer URL --client CLIENT_ID=ALG [--client ...]
//
// Prints `READY http://127.0.0.1:PORT` on stdout once listening, then one JSON line per post:
//   { "client": "...", "ok": true, "header": {...}, "claims": {...} }           (answered 200)
//   { "client": "...", "ok": false, "error": "...", "claims": {...} | null }    (answered 400)
// Everything else goes to stderr. Exits cleanly on SIGTERM/SIGINT.

import { createServer } from 'node:http';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';

const EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const MAX_BODY = 64 * 1024;

function fail(message) {
  console.error(`logout_receiver.mjs: ${message}`);
  process.exit(2);
}

const clients = new Map();
let issuer;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const [flag, value] = [argv[i], argv[i + 1]];
  if (value === undefined) fail(`missing value for ${flag}`);
  if (flag === '--issuer') {
    issuer = value;
  } else if (flag === '--client') {
    const eq = value.indexOf('=');
    if (eq <= 0) fail(`--client expects CLIENT_ID=ALG, got ${value}`);
    clients.set(value.slice(0, eq), value.slice(eq + 1));
  } else {
    fail(`unknown argument ${flag}`);
  }
}
if (!issuer) fail('--issuer is required');
if (!clients.size) fail('at least one --client is required');

// The provider's keys, from its discovery document, once a token arrives (the receiver starts
// before the provider it hears from).
let keys;
async function providerKeys() {
  if (!keys) {
    const res = await fetch(new URL('.well-known/openid-configuration', issuer.endsWith('/') ? issuer : `${issuer}/`));
    if (!res.ok) throw new Error(`discovery of ${issuer} answered ${res.status}`);
    const { jwks_uri: jwksUri } = await res.json();
    keys = createRemoteJWKSet(new URL(jwksUri));
  }
  return keys;
}

const seen = new Set();

async function verify(clientId, token) {
  const { payload, protectedHeader } = await jwtVerify(token, await providerKeys(), {
    issuer,
    audience: clientId,
    algorithms: [clients.get(clientId)],
    typ: 'logout+jwt',
    requiredClaims: ['iat', 'exp', 'jti', 'events'],
    maxTokenAge: '2 minutes',
    clockTolerance: 5,
  });
  const event = payload.events?.[EVENT];
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new Error('events has no back-channel logout event object');
  }
  if ('nonce' in payload) throw new Error('a logout token must not carry a nonce');
  if (typeof payload.sid !== 'string' && typeof payload.sub !== 'string') {
    throw new Error('neither sid nor sub');
  }
  if (seen.has(payload.jti)) throw new Error(`jti ${payload.jti} was already used`);
  seen.add(payload.jti);
  return { header: protectedHeader, claims: payload };
}

function report(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function answer(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

async function handle(req, res) {
  const clientId = decodeURIComponent(new URL(req.url, 'http://receiver').pathname.slice(1));
  if (req.method !== 'POST' || !clients.has(clientId)) {
    answer(res, 404, { error: 'not_found' });
    return;
  }
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) {
      answer(res, 413, { error: 'invalid_request' });
      return;
    }
    chunks.push(chunk);
  }
  const type = req.headers['content-type'] ?? '';
  const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
  const tokens = form.getAll('logout_token');
  let claims = null;
  try {
    if (!type.startsWith('application/x-www-form-urlencoded')) {
      throw new Error(`content-type ${type}, not application/x-www-form-urlencoded`);
    }
    if (tokens.length !== 1) throw new Error(`${tokens.length} logout_token parameters`);
    try {
      claims = decodeJwt(tokens[0]);
    } catch {
      // reported by verify
    }
    const verified = await verify(clientId, tokens[0]);
    report({ client: clientId, ok: true, ...verified });
    answer(res, 200);
  } catch (err) {
    report({ client: clientId, ok: false, error: `${err.code ?? err.name}: ${err.message}`, claims });
    answer(res, 400, { error: 'invalid_request', error_description: err.message });
  }
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error(`logout_receiver.mjs: ${err.stack ?? err}`);
    if (!res.headersSent) answer(res, 500, { error: 'server_error' });
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`READY http://127.0.0.1:${server.address().port}\n`);
});
server.on('error', (err) => fail(`listen failed: ${err.message}`));

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
