// A real OpenID Connect provider (panva/oidc-provider) for kyso's integration tests.
//
// Listens on 127.0.0.1 only. Configuration comes from the environment (see README.md):
//   OIDC_PORT            port to listen on (0 = any free port; the line printed says which)
//   OIDC_CLIENT_ID       the one registered confidential client
//   OIDC_CLIENT_SECRET   its secret (client_secret_basic or client_secret_post at /token)
//   OIDC_REDIRECT_URI    its redirect URI(s), comma-separated
//   OIDC_ACCOUNTS        path of a JSON file: [{"sub","email","citizen_id","name","mfa"}]
//
// The built-in development interactions are replaced by a non-interactive one: a test POSTs
// login=<sub> (and mfa=1) to /interaction/<uid>/login and the provider finishes login and
// consent in one step. Prints "listening http://127.0.0.1:<port>" on stdout when ready.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';

// oidc-provider prints its notices with console.info, i.e. on stdout: keep stdout for the
// readiness line alone.
console.info = console.error;
console.log = console.error;

const { default: Provider, errors } = await import('oidc-provider');

const MFA_ACR = 'urn:kyso:mfa';

function fail(msg) {
  console.error(`oidc provider: ${msg}`);
  process.exit(2);
}

function env(name) {
  const v = process.env[name];
  if (v === undefined || v === '') fail(`${name} is not set`);
  return v;
}

const port = Number.parseInt(env('OIDC_PORT'), 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail('OIDC_PORT must be a port number');
const clientId = env('OIDC_CLIENT_ID');
const clientSecret = env('OIDC_CLIENT_SECRET');
const redirectUris = env('OIDC_REDIRECT_URI').split(',').map((s) => s.trim()).filter(Boolean);
const accountsPath = env('OIDC_ACCOUNTS');

let accountList;
try {
  accountList = JSON.parse(fs.readFileSync(accountsPath, 'utf8'));
} catch (e) {
  fail(`cannot read OIDC_ACCOUNTS ${accountsPath}: ${e.message}`);
}
if (!Array.isArray(accountList)) fail('OIDC_ACCOUNTS must hold a JSON array');
const accounts = new Map();
for (const [i, a] of accountList.entries()) {
  if (typeof a?.sub !== 'string' || a.sub === '') fail(`account ${i}: "sub" must be a non-empty string`);
  if (accounts.has(a.sub)) fail(`account ${i}: duplicate sub ${a.sub}`);
  if (a.citizen_id !== undefined && !/^[0-9]{12}$/.test(String(a.citizen_id))) {
    fail(`account ${a.sub}: citizen_id must be 12 digits (số định danh cá nhân)`);
  }
  accounts.set(a.sub, a);
}

function accountClaims(a) {
  const claims = { sub: a.sub };
  if (a.email !== undefined) {
    claims.email = a.email;
    claims.email_verified = true;
  }
  if (a.name !== undefined) claims.name = a.name;
  if (a.citizen_id !== undefined) claims.citizen_id = String(a.citizen_id);
  return claims;
}

const htmlEscape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res, status, title, body) {
  const html = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${htmlEscape(title)}</title></head>`
    + `<body><h1>${htmlEscape(title)}</h1>${body}</body></html>`;
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(html),
    'Cache-Control': 'no-store',
  });
  res.end(html);
}

// A fresh RS256 signing key for every start (the package's built-in development key is public).
const signingJwk = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
Object.assign(signingJwk, { kid: crypto.randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' });

const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris,
    response_types: ['code'],
    grant_types: ['authorization_code'],
    // oidc-provider accepts client_secret_post as well for a client registered with either one.
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  }],
  jwks: { keys: [signingJwk] },
  cookies: {
    keys: [crypto.randomBytes(32).toString('base64url')],
    long: { httpOnly: true, sameSite: 'lax', signed: true },
    short: { httpOnly: true, sameSite: 'lax', signed: true },
  },
  clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
  responseTypes: ['code'],
  pkce: { methods: ['S256'], required: () => true },
  scopes: ['openid', 'email', 'profile'],
  claims: {
    acr: null,
    amr: null,
    auth_time: null,
    iss: null,
    sid: null,
    // acr/amr/auth_time reach the ID token only through a scope's claim list (or the claims
    // parameter), so they hang on openid: every ID token carries them.
    openid: ['sub', 'acr', 'amr', 'auth_time'],
    email: ['email', 'email_verified'],
    profile: ['name', 'citizen_id'],
    citizen_id: null,
  },
  // Put the claims of the granted scopes in the ID token too, not only at the userinfo endpoint.
  conformIdTokenClaims: false,
  acrValues: [MFA_ACR],
  enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
  features: {
    devInteractions: { enabled: false },
    userinfo: { enabled: true },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    const a = accounts.get(sub);
    if (!a) return undefined;
    return { accountId: sub, async claims() { return accountClaims(a); } };
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>error</title></head><body>`
      + `<h1>error</h1>${Object.entries(out).map(([k, v]) => `<p><b>${htmlEscape(k)}</b>: ${htmlEscape(v)}</p>`).join('')}`
      + '</body></html>';
  },
  clientBasedCORS: () => false,
  ttl: {
    AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600,
  },
});

// Grants everything the authorization request asked for (the tests' consent).
async function autoGrant(details, accountId) {
  const { params } = details;
  let grant;
  if (details.grantId) grant = await provider.Grant.find(details.grantId);
  if (!grant || grant.accountId !== accountId) {
    grant = new provider.Grant({ accountId, clientId: params.client_id });
  }
  if (typeof params.scope === 'string') grant.addOIDCScope(params.scope);
  const missing = details.prompt?.details ?? {};
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  return grant.save();
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function interaction(req, res, uid, action) {
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (e) {
    if (e instanceof errors.SessionNotFound) {
      return page(res, 400, 'interaction not found', `<p>${htmlEscape(e.error_description || e.message)}
        (the _interaction cookie is scoped to /interaction/&lt;uid&gt;)</p>`);
    }
    throw e;
  }
  if (details.uid !== uid) return page(res, 400, 'interaction mismatch', '<p>cookie and URL name different interactions</p>');

  if (action === undefined && req.method === 'GET') {
    if (details.prompt.name === 'consent' && details.session?.accountId) {
      // Already logged in: consent without asking.
      const grantId = await autoGrant(details, details.session.accountId);
      return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    }
    return page(res, 200, 'kyso test login', `
      <form method="post" action="/interaction/${htmlEscape(uid)}/login">
        <label>login <input name="login" autofocus></label>
        <label><input type="checkbox" name="mfa" value="1"> second factor (mfa)</label>
        <button type="submit">Sign in</button>
      </form>`);
  }

  if (action === 'login' && req.method === 'POST') {
    const form = await readForm(req);
    const login = form.get('login') ?? '';
    const account = accounts.get(login);
    if (!account) {
      return page(res, 400, 'login failed', `<p>unknown login ${htmlEscape(login)}</p>`);
    }
    const mfa = account.mfa === true && form.get('mfa') === '1';
    const grantId = await autoGrant(details, account.sub);
    const result = {
      login: {
        accountId: account.sub,
        amr: mfa ? ['pwd', 'otp'] : ['pwd'],
        ...(mfa ? { acr: MFA_ACR } : {}),
      },
      consent: { grantId },
    };
    return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }

  if (action === 'abort' && req.method === 'POST') {
    return provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
  }

  return page(res, 405, 'method not allowed', '');
}

const callback = provider.callback();
server.on('request', (req, res) => {
  const { pathname } = new URL(req.url, issuer);
  const m = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|abort))?$/.exec(pathname);
  if (!m) return callback(req, res);
  return interaction(req, res, m[1], m[2]).catch((e) => {
    console.error(e);
    if (!res.headersSent) page(res, 500, 'internal error', `<p>${htmlEscape(e.message)}</p>`);
    else res.end();
  });
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => { server.close(); process.exit(0); });
}

process.stdout.write(`listening ${issuer}\n`);
