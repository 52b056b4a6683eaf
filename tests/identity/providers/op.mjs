// A certified OpenID Provider (the npm package oidc-provider) for accessproject's tests.
//
// Started by tests/identity/providers/openid_provider.py on loopback: it reads its clients and
// users as JSON on stdin, listens on a port the system picks, and prints {"issuer": ...} once
// it serves. People sign in on the provider's own pages (oidc-provider's development
// interactions: a login form whose "login" names the user). `POST /__control` makes it
// misbehave the way a real provider can; `GET /__requests` lists what it was asked.
import http from 'node:http';
import crypto from 'node:crypto';

import Provider from 'oidc-provider';
import * as jose from 'jose';

const input = JSON.parse(await new Promise((resolve) => {
  let text = '';
  process.stdin.on('data', (chunk) => { text += chunk; });
  process.stdin.on('end', () => resolve(text));
}));

const { users = {}, clients = [] } = input;
let mode = { name: 'normal', delay_ms: 0 };
const requests = [];

async function rsaKey(kid) {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const jwk = await jose.exportJWK(privateKey);
  return { ...jwk, kid, alg: 'RS256', use: 'sig' };
}
const signingKey = await rsaKey('op-key-1');
const rolledKey = await rsaKey('op-key-2');
const strangerKey = await rsaKey('op-key-1'); // the same kid, another key: a forged signature

function publicJwk({ d, p, q, dp, dq, qi, ...rest }) { return rest; }

async function resign(idToken, privateJwk, change) {
  const claims = { ...jose.decodeJwt(idToken), ...change };
  const key = await jose.importJWK(privateJwk, 'RS256');
  return new jose.SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: privateJwk.kid, typ: 'JWT' })
    .sign(key);
}

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: clients.map((client) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...client,
  })),
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  // Scope claims go into the id_token, as Google, Entra ID and Okta put email there.
  conformIdTokenClaims: false,
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'groups', 'department', 'amr_hint'],
  },
  pkce: { required: () => !input.pkce_optional },
  findAccount: async (ctx, id) => {
    const user = users[id];
    if (!user) return undefined;
    return {
      accountId: id,
      claims: async () => {
        const { amr, ...claims } = user;
        return { sub: id, ...claims };
      },
    };
  },
  extraTokenClaims: undefined,
  // First-party clients: grant what they ask without a consent screen.
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile groups');
    grant.addOIDCClaims(['email', 'email_verified', 'name', 'groups', 'department']);
    await grant.save();
    return grant;
  },
  features: { devInteractions: { enabled: true } },
});
// The amr of a user, as providers that do MFA send it.
const amrOf = (sub) => users[sub]?.amr;

provider.use(async (ctx, next) => {
  if (ctx.path === '/__control' && ctx.method === 'POST') {
    const body = await new Promise((resolve) => {
      let text = '';
      ctx.req.on('data', (chunk) => { text += chunk; });
      ctx.req.on('end', () => resolve(text));
    });
    mode = { name: 'normal', delay_ms: 0, ...JSON.parse(body || '{}') };
    ctx.body = { mode };
    return;
  }
  if (ctx.path === '/__requests') {
    ctx.body = requests;
    return;
  }
  if (ctx.path === '/auth') {
    requests.push({ endpoint: 'auth', params: Object.fromEntries(new URLSearchParams(ctx.querystring)) });
  }
  if (ctx.path === '/token' && ctx.method === 'POST') {
    requests.push({ endpoint: 'token', authorization: Boolean(ctx.get('authorization')) });
    if (mode.delay_ms) await new Promise((resolve) => setTimeout(resolve, mode.delay_ms));
    if (mode.name === 'token_500') {
      ctx.status = 500;
      ctx.type = 'text/html';
      ctx.body = '<html><body>Internal Server Error</body></html>';
      return;
    }
    if (mode.name === 'token_garbage') {
      ctx.status = 200;
      ctx.type = 'application/json';
      ctx.body = '{"access_token": "x", "id_token": ';
      return;
    }
    if (mode.name === 'no_id_token') {
      ctx.status = 200;
      ctx.body = { access_token: 'x', token_type: 'Bearer', expires_in: 60 };
      return;
    }
  }
  if (ctx.path === '/.well-known/openid-configuration' && mode.name === 'discovery_garbage') {
    ctx.status = 200;
    ctx.type = 'application/json';
    ctx.body = '<html>not json</html>';
    return;
  }
  if (ctx.path === '/.well-known/openid-configuration' && mode.name === 'discovery_redirect') {
    ctx.redirect('http://attacker.example/.well-known/openid-configuration');
    return;
  }
  if (ctx.path === '/.well-known/openid-configuration' && mode.name === 'discovery_wrong_issuer') {
    await next();
    ctx.body = { ...ctx.body, issuer: 'https://attacker.example' };
    return;
  }
  if (ctx.path === '/jwks' && mode.name === 'jwks_garbage') {
    ctx.status = 200;
    ctx.type = 'application/json';
    ctx.body = '{"keys": "no"}';
    return;
  }
  await next();
  if (ctx.path === '/jwks' && mode.name === 'rollover') {
    ctx.body = { keys: [publicJwk(signingKey), publicJwk(rolledKey)] };
  }
  if (ctx.path === '/token' && ctx.body && ctx.body.id_token) {
    const idToken = ctx.body.id_token;
    const sub = jose.decodeJwt(idToken).sub;
    const now = Math.floor(Date.now() / 1000);
    const amr = amrOf(sub);
    const base = amr ? { amr } : {};
    const changes = {
      normal: [signingKey, base],
      wrong_key: [strangerKey, base],
      rollover: [rolledKey, base],
      wrong_audience: [signingKey, { ...base, aud: 'another-client' }],
      extra_audience: [signingKey, { ...base, aud: [jose.decodeJwt(idToken).aud, 'another-client'] }],
      wrong_issuer: [signingKey, { ...base, iss: 'https://attacker.example' }],
      expired: [signingKey, { ...base, iat: now - 7200, exp: now - 3600 }],
      future: [signingKey, { ...base, iat: now + 3600, exp: now + 7200 }],
      wrong_nonce: [signingKey, { ...base, nonce: 'not-the-nonce-we-were-sent' }],
      no_nonce: [signingKey, { ...base, nonce: undefined }],
    };
    const [key, change] = changes[mode.name] || changes.normal;
    if (mode.name === 'hs256') {
      // Algorithm confusion: a MAC keyed by the client secret, which the client also knows.
      const claims = jose.decodeJwt(idToken);
      const secret = new TextEncoder().encode(clients[0].client_secret);
      ctx.body = {
        ...ctx.body,
        id_token: await new jose.SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(secret),
      };
    } else if (mode.name === 'unsigned') {
      const claims = jose.decodeJwt(idToken);
      ctx.body = { ...ctx.body, id_token: new jose.UnsecuredJWT(claims).encode() };
    } else {
      ctx.body = { ...ctx.body, id_token: await resign(idToken, key, change) };
    }
  }
});

server.on('request', provider.callback());
process.stdout.write(`${JSON.stringify({ issuer })}\n`);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
