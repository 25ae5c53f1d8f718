// An independent upstream OpenID Provider for end-to-end tests, built on
// panva's oidc-provider (v9). It is a *test* provider: it signs a person in at
// once, without any page (the account named by `login_hint`, else the
// configured default), and grants consent automatically.
//
// Usage: node provider.mjs CONFIG.json
//
// CONFIG.json:
//   port            number, the loopback port to listen on
//   issuer          e.g. "http://127.0.0.1:PORT"
//   clients         [{ client_id, client_secret, redirect_uris,
//                      token_endpoint_auth_method = "client_secret_basic",
//                      ...any other client metadata, e.g. id_token_signed_response_alg }]
//   acr_values      acr values the provider supports (first requested supported one wins,
//                   else the first of this list)
//   acr_override    optional: force this acr whatever was requested
//   accounts        { accountId: { given_name, family_name, birthdate, address: {...}, email, ... } }
//   default_account account id used when there is no (known) login_hint
//   scope_claims    optional: { scope: [claim, ...] } added to / overriding the standard mapping
//   acr_when_requested
//                   true: acr and auth_time are in the ID token only when the request asks for
//                   them (acr_values, claims, max_age), as oidc-provider does by default and a
//                   careful provider would; absent: on every ID token
//   tls             optional: { cert, key }, PEM file paths: serve https (the issuer is then
//                   https://127.0.0.1:PORT)
//   sso             true: a real provider session: a person signed in at the provider is not
//                   signed in again by a later authorization request in the same browser
//                   (prompt=none then answers from the session); absent: every authorization
//                   request signs in afresh
//   backchannel_logout
//                   true: Back-Channel Logout 1.0 (features.backchannelLogout): a client that
//                   registered a backchannel_logout_uri (and backchannel_logout_session_required
//                   for a sid in its ID tokens and logout tokens) is sent a logout token when
//                   the provider's session ends at its end_session endpoint (RP-Initiated
//                   Logout, enabled as oidc-provider has it by default: GET /session/end, then
//                   the confirmation form posted to /session/end/confirm with logout=yes).
//                   The provider's outgoing requests may then reach loopback addresses (its
//                   peers in a test), which oidc-provider otherwise refuses (SSRF protection)
//
// Misconfiguration switches (for the conformance suite's tests; absent = correct behaviour):
//   pkce_required   false: authorization requests without a PKCE challenge are accepted
//   id_token_signing_alg_values_supported
//                   e.g. ["HS256"]: the ID token algorithms enabled (the first is the clients' default)
//   rsa_bits        the RSA signing key's size (default 2048), e.g. 1024
//   issuer_override the issuer the provider states (discovery, tokens, iss), other than its URL;
//                   `{port}` is replaced by the port, e.g. "http://localhost:{port}"
//   response_types  e.g. ["code", "id_token"]: the response types enabled
//
// Prints exactly one line `READY <issuer>` on stdout once listening. Everything
// else (oidc-provider notices included) goes to stderr, among it one line
// `event <name> client=<client_id>` for each authorization request accepted, session
// ended at the end_session endpoint, and logout token delivered (or not) to a client, so
// that a test can tell what reached the provider. Exits cleanly on SIGTERM/SIGINT.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { Provider, interactionPolicy } from 'oidc-provider';

// oidc-provider prints its notices with console.info (stdout): keep stdout for READY only.
console.info = (...args) => console.error(...args);
console.log = (...args) => console.error(...args);

function fail(message) {
  console.error(`provider.mjs: ${message}`);
  process.exit(2);
}

const configPath = process.argv[2];
if (!configPath) fail('usage: node provider.mjs CONFIG.json');

let config;
try {
  config = JSON.parse(readFileSync(configPath, 'utf8'));
} catch (err) {
  fail(`cannot read config ${configPath}: ${err.message}`);
}

const port = Number(config.port);
if (!Number.isInteger(port) || port <= 0) fail('config.port must be a positive integer');
const issuer = config.issuer ?? `http://127.0.0.1:${port}`;
const accounts = config.accounts ?? {};
const defaultAccount = config.default_account ?? Object.keys(accounts)[0];
if (!defaultAccount || !accounts[defaultAccount]) {
  fail('config.default_account must name an account in config.accounts');
}
const acrValues = Array.isArray(config.acr_values) ? config.acr_values : [];
const acrOverride = config.acr_override;
const rsaBits = Number.isInteger(config.rsa_bits) ? config.rsa_bits : 2048;
const idTokenAlgs = Array.isArray(config.id_token_signing_alg_values_supported)
  ? config.id_token_signing_alg_values_supported
  : undefined;

// ---------------------------------------------------------------- claims and scopes
// Unless acr_when_requested, acr and auth_time ride on the openid scope so that every ID
// token carries them (oidc-provider otherwise includes them only when they are requested).
const whenRequested = config.acr_when_requested === true;
const scopeClaims = {
  openid: whenRequested ? ['sub'] : ['sub', 'acr', 'auth_time'],
  profile: [
    'name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username',
    'profile', 'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at',
  ],
  email: ['email', 'email_verified'],
  address: ['address'],
  phone: ['phone_number', 'phone_number_verified'],
  ...(config.scope_claims ?? {}),
};
const claims = {
  sid: null,
  iss: null,
  ...(whenRequested ? { acr: null, auth_time: null } : {}),
  ...scopeClaims,
};
const knownClaims = new Set(Object.values(scopeClaims).flat());
for (const name of Object.keys(claims)) knownClaims.add(name);
// Any custom claim an account carries is supported as a standalone claim
// (requestable through the claims parameter).
for (const account of Object.values(accounts)) {
  for (const name of Object.keys(account)) {
    if (!knownClaims.has(name)) {
      claims[name] = null;
      knownClaims.add(name);
    }
  }
}

// ---------------------------------------------------------------- keys
function signingJwk(alg) {
  const { privateKey } = alg === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : generateKeyPairSync('rsa', { modulusLength: rsaBits });
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: `${alg.toLowerCase()}-${randomUUID()}` };
}
// RS256 first: it is the default ID token algorithm (clientDefaults below).
const jwks = { keys: [signingJwk('RS256'), signingJwk('ES256')] };

// ---------------------------------------------------------------- clients
const clients = (config.clients ?? []).map((c) => ({
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  ...c,
}));

// ---------------------------------------------------------------- acr choice
function requestedAcrs(params) {
  const out = [];
  if (typeof params.acr_values === 'string' && params.acr_values) {
    out.push(...params.acr_values.split(' ').filter(Boolean));
  }
  if (typeof params.claims === 'string') {
    try {
      const acr = JSON.parse(params.claims)?.id_token?.acr;
      if (acr && typeof acr.value === 'string') out.push(acr.value);
      if (acr && Array.isArray(acr.values)) out.push(...acr.values);
    } catch {
      // oidc-provider itself rejects an invalid claims parameter
    }
  }
  return out;
}

function chooseAcr(params) {
  if (acrOverride) return acrOverride;
  const supported = requestedAcrs(params).find((v) => acrValues.includes(v));
  return supported ?? acrValues[0];
}

// ---------------------------------------------------------------- interaction policy
// Every authorization request signs in afresh (a test provider: each login
// follows the login_hint), unless `sso`, and the requested acr is never re-prompted for:
// the acr given is the one chosen above, so that a test can make the provider
// return a level other than the one asked for (acr_override).
const { Check } = interactionPolicy;
const policy = interactionPolicy.base();
const loginPrompt = policy.get('login');
loginPrompt.checks.remove('essential_acrs');
loginPrompt.checks.remove('essential_acr');
if (config.sso !== true) {
  loginPrompt.checks.add(new Check(
    'fresh_login',
    'every authorization request signs in afresh',
    'login_required',
    (ctx) => (ctx.oidc.result?.login ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT),
  ), 0);
}

// ---------------------------------------------------------------- provider
const provider = new Provider(
  typeof config.issuer_override === 'string'
    ? config.issuer_override.replace('{port}', String(port))
    : issuer,
  {
  clients,
  jwks,
  acrValues,
  claims,
  scopes: [...new Set(['openid', ...Object.keys(scopeClaims)])],
  conformIdTokenClaims: false,
  responseTypes: Array.isArray(config.response_types) ? config.response_types : ['code'],
  pkce: { required: () => config.pkce_required !== false },
  ...(idTokenAlgs ? { enabledJWA: { idTokenSigningAlgValues: idTokenAlgs } } : {}),
  allowOmittingSingleRegisteredRedirectUri: false,
  clientDefaults: {
    grant_types: ['authorization_code'],
    response_types: ['code'],
    id_token_signed_response_alg: idTokenAlgs ? idTokenAlgs[0] : 'RS256',
    token_endpoint_auth_method: 'client_secret_basic',
  },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  ...(config.backchannel_logout === true ? {
    // oidc-provider's SSRF protection (a dispatcher that refuses special-use addresses, the
    // loopback among them) is left out: this provider's clients are on 127.0.0.1.
    fetch: (url, { dispatcher, ...options }) => globalThis.fetch(url, options),
  } : {}),
  features: {
    devInteractions: { enabled: false },
    claimsParameter: { enabled: true },
    userinfo: { enabled: true },
    dPoP: { enabled: false },
    backchannelLogout: { enabled: config.backchannel_logout === true },
  },
  interactions: {
    policy,
    url: (ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    IdToken: 600,
    Interaction: 600,
    Session: 600,
    Grant: 600,
  },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { ...account, sub: id };
      },
    };
  },
  // Consent is automatic: the grant covers every scope and claim requested.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    const scopes = [...ctx.oidc.requestParamOIDCScopes];
    if (scopes.length) grant.addOIDCScope(scopes.join(' '));
    const requested = [...ctx.oidc.requestParamClaims];
    if (requested.length) grant.addOIDCClaims(requested);
    await grant.save();
    return grant;
  },
  renderError(ctx, out, error) {
    ctx.type = 'html';
    ctx.body = `<!DOCTYPE html><html><head><title>oidc-provider error</title></head><body>`
      + `<pre>${JSON.stringify(out).replace(/[<>&]/g, (ch) => `&#${ch.charCodeAt(0)};`)}</pre></body></html>`;
    console.error(`render error: ${error?.stack ?? error}`);
  },
});

// The interaction handler: logs in at once, without a page.
provider.use(async (ctx, next) => {
  const match = /^\/interaction\/([^/]+)$/.exec(ctx.path);
  if (!match || ctx.method !== 'GET') return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { params } = details;
  const hint = typeof params.login_hint === 'string' ? params.login_hint : undefined;
  const accountId = hint && accounts[hint] ? hint : defaultAccount;
  const result = {
    login: {
      accountId,
      acr: chooseAcr(params),
      amr: ['pwd'],
      remember: false,
    },
  };
  const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, {
    mergeWithLastSubmission: false,
  });
  ctx.status = 303;
  ctx.redirect(returnTo);
});

for (const event of ['server_error', 'authorization.error', 'grant.error', 'userinfo.error', 'end_session.error']) {
  provider.on(event, (ctx, err) => {
    console.error(`${event}: ${err?.name ?? ''} ${err?.message ?? err} ${err?.error_description ?? ''}`);
  });
}

// What reached the provider, for tests to tell (stderr, one line each).
const clientOf = (ctx, client) => client?.clientId ?? ctx?.oidc?.client?.clientId ?? '-';
provider.on('authorization.accepted', (ctx) => {
  console.error(`event authorization.accepted client=${clientOf(ctx)}`);
});
provider.on('end_session.success', (ctx) => {
  console.error(`event end_session.success client=${clientOf(ctx)}`);
});
provider.on('backchannel.success', (ctx, client) => {
  console.error(`event backchannel.success client=${clientOf(ctx, client)}`);
});
provider.on('backchannel.error', (ctx, err, client) => {
  console.error(`event backchannel.error client=${clientOf(ctx, client)} ${err?.message ?? err}`);
});

const ready = () => process.stdout.write(`READY ${issuer}\n`);
let server;
if (config.tls) {
  let tls;
  try {
    tls = { cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) };
  } catch (err) {
    fail(`cannot read config.tls: ${err.message}`);
  }
  server = createServer(tls, provider.callback()).listen(port, '127.0.0.1', ready);
} else {
  server = provider.listen(port, '127.0.0.1', ready);
}
server.on('error', (err) => {
  console.error(`provider.mjs: listen failed: ${err.message}`);
  process.exit(1);
});

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
