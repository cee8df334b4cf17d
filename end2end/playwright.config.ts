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
  webServer: {
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
    },
  },
});
