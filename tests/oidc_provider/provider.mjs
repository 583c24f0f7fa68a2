// A real OpenID Connect provider for Podium's sign-in tests: panva's certified oidc-provider, on 127.0.0.1.
//
//   node provider.mjs CONFIG.json
//
// CONFIG names the clients, the accounts (their claims), the RSA signing key (a private JWK), and the ways this provider may misbehave for one test:
//   clockOffsetSeconds  the provider's clock runs this far from the machine's (negative: behind), so that the
//                       tokens it signs are already expired when they arrive;
//   substituteIdToken   {"clientId": "other-app"}: the token endpoint answers Podium with an ID token that this
//                       provider issued, for the same person and nonce, to another client (a token substitution).
// It prints "listening <issuer>" once it answers. POST /_test/accounts/<id> with a JSON body replaces that
// account's claims (a person's groups changed at the provider).
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const accounts = new Map(Object.entries(config.accounts || {}));

if (config.clockOffsetSeconds) {
  const realNow = Date.now.bind(Date);
  Date.now = () => realNow() + config.clockOffsetSeconds * 1000;
}

// The signing key comes with the config (made once per test run: RSA key generation is slow on a busy machine).
const jwk = config.signingKey || {
  ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
  kid: 'test-key',
};
jwk.use = 'sig';
jwk.alg = 'RS256';

function readBody(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: config.clients,
    jwks: { keys: [jwk] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
      groups: ['groups'],
    },
    scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
    cookies: { keys: ['podium-test-cookie-key'] },
    ttl: {
      IdToken: config.idTokenTtl || 3600,
      AccessToken: config.idTokenTtl || 3600,
    },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    pkce: { required: () => false },
    // Refresh tokens for every client allowed the grant, without offline_access and prompt=consent.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    async findAccount(_ctx, id) {
      if (!accounts.has(id)) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...accounts.get(id) }) };
    },
    // First-party clients: what they ask for is granted without a consent page.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope([...ctx.oidc.requestParamScopes].join(' '));
      await grant.save();
      return grant;
    },
  });

  if (config.substituteIdToken) {
    provider.use(async (ctx, next) => {
      await next();
      if (ctx.path !== '/token' || ctx.status !== 200 || !ctx.body?.id_token) return;
      const other = await provider.Client.find(config.substituteIdToken.clientId);
      const [, payload] = ctx.body.id_token.split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      const token = new provider.IdToken({}, { ctx, client: other });
      token.set('sub', claims.sub);
      token.set('nonce', claims.nonce);
      ctx.body = { ...ctx.body, id_token: await token.issue({ use: 'idtoken' }) };
    });
  }

  const callback = provider.callback();
  server.on('request', async (req, res) => {
    const match = req.url.match(/^\/_test\/accounts\/([^/?]+)$/);
    if (req.method === 'POST' && match) {
      accounts.set(decodeURIComponent(match[1]), JSON.parse(await readBody(req)));
      res.writeHead(204).end();
      return;
    }
    callback(req, res);
  });
  process.stdout.write(`listening ${issuer}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
