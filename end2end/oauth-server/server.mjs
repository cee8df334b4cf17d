// A real OAuth 2.0 authorization server (panva's oidc-provider) for the
// tests: authorization code with PKCE (required), refresh tokens with
// rotation, RFC 7009 revocation. Only ever listens on 127.0.0.1.
//
// Environment:
//   OAUTH_PORT           port to listen on (0 picks a free one; default 0)
//   OAUTH_REDIRECT_URIS  comma-separated redirect URIs registered, exactly,
//                        for every client
//
// Clients (secret = "<id>-secret", client_secret_basic):
//   plugboard        refresh tokens live 14 days
//   plugboard-short  refresh tokens live 3 seconds (the "expired refresh" case)
//
// Prints "OAUTH_SERVER_READY http://127.0.0.1:<port>" once listening.
// GET /test/stats answers counters and the last tokens issued, for
// assertions; the consent page has "Allow" and "Deny" buttons.
import http from 'node:http';
import Provider from 'oidc-provider';

const port = Number(process.env.OAUTH_PORT || 0);
const redirectUris = (process.env.OAUTH_REDIRECT_URIS || '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
if (redirectUris.length === 0) {
  console.error('OAUTH_REDIRECT_URIS is required');
  process.exit(2);
}

const stats = {
  authorization_code: 0,
  refresh_token: 0,
  refresh_errors: 0,
  last_access_token: null,
  last_refresh_token: null,
};

const server = http.createServer();
server.listen(port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = makeProvider(issuer);
  server.on('request', (req, res) => route(provider, req, res).catch((err) => {
    console.error(err);
    res.statusCode = 500;
    res.end(String(err));
  }));
  console.log(`OAUTH_SERVER_READY ${issuer}`);
});

function client(id) {
  return {
    client_id: id,
    client_secret: `${id}-secret`,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: redirectUris,
    token_endpoint_auth_method: 'client_secret_basic',
  };
}

function makeProvider(issuer) {
  const provider = new Provider(issuer, {
    clients: [client('plugboard'), client('plugboard-short')],
    cookies: { keys: ['plugboard-test-only-cookie-key'] },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
    },
    pkce: { required: () => true },
    scopes: ['openid', 'offline_access', 'reviews', 'orders'],
    issueRefreshToken: async (_ctx, c) => c.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 120,
      Grant: 14 * 24 * 3600,
      Interaction: 600,
      Session: 3600,
      RefreshToken: (_ctx, _token, c) => (c.clientId === 'plugboard-short' ? 3 : 14 * 24 * 3600),
    },
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // The test server's own pages render errors as plain text.
    renderError: async (ctx, out) => {
      ctx.type = 'text/plain';
      ctx.body = `${out.error}: ${out.error_description || ''}`;
    },
  });
  provider.proxy = false;
  provider.on('grant.success', (ctx) => {
    const type = ctx.oidc.params.grant_type;
    if (type in stats) stats[type] += 1;
    const body = ctx.body || {};
    stats.last_access_token = body.access_token || stats.last_access_token;
    stats.last_refresh_token = body.refresh_token || stats.last_refresh_token;
  });
  provider.on('grant.error', (ctx) => {
    if (ctx.oidc?.params?.grant_type === 'refresh_token') stats.refresh_errors += 1;
  });
  return provider;
}

async function route(provider, req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  const interaction = url.pathname.match(/^\/interaction\/([^/]+)(?:\/(allow|deny))?$/);
  if (url.pathname === '/test/stats') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(stats));
    return;
  }
  if (!interaction) {
    provider.callback()(req, res);
    return;
  }
  const details = await provider.interactionDetails(req, res);
  const [, uid, verb] = interaction;
  if (!verb && req.method === 'GET') {
    const clientId = details.params.client_id;
    const scope = details.params.scope || '';
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(`<!doctype html><html><head><title>Authorize ${escape(clientId)}</title></head>
<body><h1>Test authorization server</h1>
<p id="ask"><strong>${escape(clientId)}</strong> asks for access (${escape(scope)}).</p>
<form method="post" action="/interaction/${uid}/allow"><button type="submit">Allow</button></form>
<form method="post" action="/interaction/${uid}/deny"><button type="submit">Deny</button></form>
</body></html>`);
    return;
  }
  if (req.method !== 'POST') {
    res.statusCode = 405;
    res.end();
    return;
  }
  if (verb === 'deny') {
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'The account owner declined access.' },
      { mergeWithLastSubmission: false },
    );
    return;
  }
  const accountId = 'merchant-account-1';
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId, clientId: details.params.client_id });
  const missing = details.prompt.details || {};
  grant.addOIDCScope(
    [...new Set([...(missing.missingOIDCScope || []), ...String(details.params.scope || '').split(' ')])]
      .filter(Boolean)
      .join(' '),
  );
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}

function escape(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
