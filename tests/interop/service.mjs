// A relying service built on panva's openid-client (v6), one step per run, for end-to-end
// tests in which the test itself is the browser (one cookie jar across services, as a person
// has): the service builds its authorization request, later redeems what came back, and builds
// its RP-Initiated Logout request. It keeps nothing between runs: what a service would keep in
// its own session (state, nonce, PKCE verifier) is printed, and passed back by the test.
//
// Usage:
//   node service.mjs authorize --issuer URL --client-id ID --client-secret S --redirect-uri URI
//                              [--auth client_secret_basic|client_secret_post]
//                              [--id-token-alg ALG] [--scope "openid profile"] [--extra k=v ...]
//     -> { "url", "state", "nonce", "code_verifier" }
//   node service.mjs redeem    (the same client options) --callback URL --state S --nonce N
//                              --code-verifier V
//     -> { "id_token_claims", "id_token_header", "id_token", "access_token" }
//   node service.mjs logout    (the same client options) --id-token-hint JWT
//                              --post-logout-redirect-uri URI --state S
//     -> { "url" } (openid-client's buildEndSessionUrl: the provider's end_session_endpoint)
//
// Failure (exit 1): { "error", "error_description" }.

import * as client from 'openid-client';

function out(obj, code) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
  process.exitCode = code;
}

class UsageError extends Error {}

function parseArgs(argv) {
  const [command, ...rest] = argv;
  if (!['authorize', 'redeem', 'logout'].includes(command)) {
    throw new UsageError(`the first argument must be authorize, redeem or logout, not ${command}`);
  }
  const opts = { command, scope: 'openid profile', auth: 'client_secret_basic', extra: [] };
  for (let i = 0; i < rest.length; i += 2) {
    const [flag, value] = [rest[i], rest[i + 1]];
    if (!flag.startsWith('--') || value === undefined) throw new UsageError(`bad argument ${flag}`);
    const name = flag.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (name === 'extra') opts.extra.push(value);
    else opts[name] = value;
  }
  for (const required of ['issuer', 'clientId', 'clientSecret', 'redirectUri']) {
    if (!opts[required]) throw new UsageError(`--${required.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is required`);
  }
  return opts;
}

function isLoopback(url) {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

async function configuration(opts) {
  const issuer = new URL(opts.issuer);
  const metadata = {
    redirect_uris: [opts.redirectUri],
    response_types: ['code'],
    client_secret: opts.clientSecret,
  };
  if (opts.idTokenAlg) metadata.id_token_signed_response_alg = opts.idTokenAlg;
  const auth = opts.auth === 'client_secret_post'
    ? client.ClientSecretPost(opts.clientSecret)
    : client.ClientSecretBasic(opts.clientSecret);
  const options = isLoopback(issuer) ? { execute: [client.allowInsecureRequests] } : {};
  return client.discovery(issuer, opts.clientId, metadata, auth, options);
}

function decodeJwtPart(jwt, index) {
  return JSON.parse(Buffer.from(jwt.split('.')[index], 'base64url').toString('utf8'));
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const config = await configuration(opts);

  if (opts.command === 'authorize') {
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const params = {
      redirect_uri: opts.redirectUri,
      scope: opts.scope,
      response_type: 'code',
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    };
    for (const pair of opts.extra) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new UsageError(`--extra expects k=v, got ${pair}`);
      params[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    const url = client.buildAuthorizationUrl(config, params);
    out({ url: url.href, state, nonce, code_verifier: codeVerifier }, 0);
    return;
  }

  if (opts.command === 'redeem') {
    for (const required of ['callback', 'state', 'nonce', 'codeVerifier']) {
      if (!opts[required]) throw new UsageError(`redeem needs --${required.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
    }
    const tokens = await client.authorizationCodeGrant(config, new URL(opts.callback), {
      pkceCodeVerifier: opts.codeVerifier,
      expectedState: opts.state,
      expectedNonce: opts.nonce,
      idTokenExpected: true,
    });
    out({
      id_token_claims: tokens.claims(),
      id_token_header: decodeJwtPart(tokens.id_token, 0),
      id_token: tokens.id_token,
      access_token: tokens.access_token,
    }, 0);
    return;
  }

  for (const required of ['idTokenHint', 'postLogoutRedirectUri', 'state']) {
    if (!opts[required]) throw new UsageError(`logout needs --${required.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
  }
  const url = client.buildEndSessionUrl(config, {
    id_token_hint: opts.idTokenHint,
    post_logout_redirect_uri: opts.postLogoutRedirectUri,
    state: opts.state,
  });
  out({ url: url.href }, 0);
}

main().catch((err) => {
  const error = err instanceof UsageError
    ? 'service_usage'
    : (typeof err?.error === 'string' ? err.error : (err?.code ?? err?.name ?? 'service_error'));
  const description = typeof err?.error_description === 'string'
    ? err.error_description
    : `${err?.message ?? err}${err?.cause?.message ? `: ${err.cause.message}` : ''}`;
  out({ error, error_description: description }, 1);
});
