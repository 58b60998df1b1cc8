// The ceiling the bench measures Unified ID against: bare oidc-provider, the very version Unified
// ID runs (this repository's node_modules), with its in-memory adapter, one client and one
// account, configured like Unified ID wherever a setting changes the work of a request (ES256
// ID tokens, PKCE, rotating refresh tokens, the same token lifetimes and cookie keys). No
// database, no rate limit, no audit: what the protocol costs with nothing of ours around it.
//
// Plain JavaScript run by plain node, as dist/ is: no loader thread. Started by bench/ceiling.ts
// with the server's own environment (UV_THREADPOOL_SIZE, NODE_ENV, the taskset pinning).
// The in-memory adapter keeps the newest 1,000 entries (an LRU), so a client-credentials run
// evicts whatever was made before it: the bench asks for fresh tokens right before each
// scenario, at GET /fixtures on a second, control port that is idle while the load runs.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = process.env.ISSUER ?? `http://localhost:${port}`;
const redirectUri = process.env.CEILING_REDIRECT_URI ?? 'https://rp.example.gov.cn/callback';
const controlPort = Number(process.env.CEILING_CONTROL_PORT);
const workers = Number(process.env.CEILING_REFRESH_CHAINS ?? 64);

const client = {
  client_id: 'ceiling',
  client_secret: randomBytes(32).toString('base64url'),
  redirect_uris: [redirectUri],
  grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
  response_types: ['code'],
  scope: 'openid offline_access profile phone',
  token_endpoint_auth_method: 'client_secret_basic',
  id_token_signed_response_alg: 'ES256',
};
const accountId = 'ceiling-account';
const key = (options) => ({ ...generateKeyPairSync(...options).privateKey.export({ format: 'jwk' }) });

const provider = new Provider(issuer, {
  clients: [client],
  jwks: {
    keys: [
      { ...key(['ec', { namedCurve: 'P-256' }]), alg: 'ES256', use: 'sig', kid: 'es256' },
      { ...key(['rsa', { modulusLength: 2048 }]), alg: 'RS256', use: 'sig', kid: 'rs256' },
    ],
  },
  cookies: { keys: (process.env.COOKIE_KEYS ?? randomBytes(32).toString('base64url')).split(',') },
  scopes: ['openid', 'offline_access', 'profile', 'phone'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'updated_at'],
    phone: ['phone_number', 'phone_number_verified'],
  },
  pkce: { required: () => true },
  clientDefaults: { id_token_signed_response_alg: 'ES256' },
  enabledJWA: { idTokenSigningAlgValues: ['ES256', 'RS256'] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    userinfo: { enabled: true },
  },
  async findAccount(_ctx, sub) {
    return {
      accountId: sub,
      claims: () => ({ sub, name: '张三', phone_number: '+8613800138000', phone_number_verified: true }),
    };
  },
  rotateRefreshToken: () => true,
  ttl: {
    AccessToken: 60 * 60,
    AuthorizationCode: 60,
    ClientCredentials: 10 * 60,
    IdToken: 60 * 60,
    Interaction: 60 * 60,
    Session: 8 * 60 * 60,
    Grant: 30 * 24 * 60 * 60,
    RefreshToken: 14 * 24 * 60 * 60,
  },
});
provider.proxy = true;

/**
 * What a sign-in at the site would have left behind, made through the provider's own models
 * rather than through login pages the bare provider does not have: a grant, a userinfo access
 * token, one refresh token per refresh worker (each worker keeps its own rotating chain) and
 * client-credentials tokens to introspect.
 */
async function fixtures() {
  const registered = await provider.Client.find(client.client_id);
  const grant = new provider.Grant({ accountId, clientId: client.client_id });
  grant.addOIDCScope('openid offline_access profile phone');
  const grantId = await grant.save();
  const common = { accountId, client: registered, grantId, gty: 'authorization_code', sid: 'ceiling' };
  const userinfo = await new provider.AccessToken({ ...common, scope: 'openid profile phone' }).save();
  const refreshTokens = [];
  for (let i = 0; i < workers; i++) {
    refreshTokens.push(
      await new provider.RefreshToken({
        ...common,
        scope: 'openid offline_access profile phone',
        authTime: Math.floor(Date.now() / 1000),
        expiresWithSession: false,
        iiat: Math.floor(Date.now() / 1000),
        rotations: 0,
      }).save(),
    );
  }
  const introspection = [];
  for (let i = 0; i < 8; i++)
    introspection.push(await new provider.ClientCredentials({ client: registered }).save());
  return { userinfo, refreshTokens, introspection };
}

const server = createServer(provider.callback());
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.listen(port, '127.0.0.1');

const control = createServer((req, res) => {
  if (req.url !== '/fixtures') {
    res.writeHead(404).end();
    return;
  }
  fixtures().then(
    (made) => {
      const credentials = { clientId: client.client_id, clientSecret: client.client_secret };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ client: credentials, redirectUri, ...made }));
    },
    (err) => res.writeHead(500).end(String(err?.stack ?? err)),
  );
});
control.listen(controlPort, '127.0.0.1');
process.on('SIGTERM', () => {
  control.close();
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
