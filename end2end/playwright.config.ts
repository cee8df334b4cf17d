import { defineConfig } from '@playwright/test';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// Every run gets a fresh data directory, so the server starts from an empty
// embedded database with its demo data.
const dataDir = process.env.PLUGBOARD_E2E_DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'plugboard-e2e-'));
const port = Number(process.env.PLUGBOARD_E2E_PORT ?? 3400);
const root = path.resolve(__dirname, '..');
const binary = process.env.PLUGBOARD_BIN ?? path.join(root, 'target', 'debug', 'plugboard');
// The real OAuth authorization server (oidc-provider) the Connect tests use.
const oauthPort = Number(process.env.PLUGBOARD_E2E_OAUTH_PORT ?? 3401);
const oauth = `http://127.0.0.1:${oauthPort}`;
const oauthClient = (id: string, slug: string) => ({
  [`PLUGBOARD_OAUTH__${slug}__CLIENT_ID`]: id,
  [`PLUGBOARD_OAUTH__${slug}__CLIENT_SECRET`]: `${id}-secret`,
  [`PLUGBOARD_OAUTH__${slug}__AUTHORIZE_URL`]: `${oauth}/auth`,
  [`PLUGBOARD_OAUTH__${slug}__TOKEN_URL`]: `${oauth}/token`,
  [`PLUGBOARD_OAUTH__${slug}__REVOCATION_URL`]: `${oauth}/token/revocation`,
  [`PLUGBOARD_OAUTH__${slug}__SCOPES`]: 'openid',
});

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list'], ['html', { outputFolder: 'playwright-report', open: 'never' }]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    screenshot: 'on',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  webServer: [{
    command: `node ${path.join(__dirname, 'oauth-server', 'server.mjs')}`,
    url: `${oauth}/.well-known/openid-configuration`,
    timeout: 30_000,
    reuseExistingServer: false,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      OAUTH_PORT: String(oauthPort),
      OAUTH_REDIRECT_URIS: `http://127.0.0.1:${port}/oauth/callback`,
    },
  }, {
    command: `${binary} serve`,
    url: `http://127.0.0.1:${port}/healthz`,
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      PLUGBOARD_ADDR: `127.0.0.1:${port}`,
      PLUGBOARD_DATA_DIR: dataDir,
      PLUGBOARD_SITE_ROOT: path.join(root, 'target', 'site'),
      PLUGBOARD_LOG: 'warn',
      // Test receivers listen on loopback, which production refuses.
      PLUGBOARD_OUTBOUND_ALLOWLIST: '127.0.0.0/8,::1',
      ...oauthClient('plugboard', 'GOOGLE_REVIEWS'),
      // Refresh tokens of this client live 3 seconds: the expiry case.
      ...oauthClient('plugboard-short', 'SPLITWISE'),
    },
  }],
});
