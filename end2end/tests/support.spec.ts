import { test, expect } from '@playwright/test';
import { createHmac } from 'crypto';
import { hydrated, signUpWithJakarta, snap } from './helpers';

// The demo data's support agent (embedded default only; see README).
const SUPPORT_EMAIL = 'support@plugboard.local';
const SUPPORT_PASSWORD = 'plugboard-support';

test('support finds a mapping failure, maps the store, replays, and sees the item in the catalog', async ({ page, baseURL }) => {
  // A merchant with a Jakarta location connects a restaurant POS account.
  await signUpWithJakarta(page);
  const origin = baseURL!;
  const tokenResp = await page.request.post('/api/create_token', { form: { name: 'e2e' }, headers: { Origin: origin } });
  expect(tokenResp.status()).toBe(200);
  const token = (await tokenResp.json()).token as string;
  const account = `pos-${Date.now()}`;
  const conn = await page.request.post('/v1/provider-connections', {
    headers: { Authorization: `Bearer ${token}` },
    data: { provider: 'restopos', account_id: account, allow_new_items: true },
  });
  expect(conn.status()).toBe(201);
  const secret = (await conn.json()).secret as string;

  // The POS sends its menu for a store nobody mapped yet: acknowledged, then a mapping failure.
  const body = JSON.stringify({
    store_id: 'e2e-outlet',
    items: [{ sku: 'ES-TEH', name: 'Es teh manis', category: 'Drinks', price: '8000', currency: 'IDR' }],
  });
  const ts = Math.floor(Date.now() / 1000);
  const signature = createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex');
  const ack = await page.request.post('/v1/integrations/pos/restopos/webhooks/menu', {
    headers: {
      'X-Restopos-Account': account,
      'X-Restopos-Timestamp': String(ts),
      'X-Restopos-Signature': signature,
      'X-Restopos-Event-Id': `e2e-${ts}`,
      'Content-Type': 'application/json',
    },
    data: body,
  });
  expect(ack.status()).toBe(200);
  expect((await ack.json()).status).toBe('accepted');

  // Support signs in and finds it in the console.
  await page.goto('/');
  await hydrated(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.goto('/signin');
  await hydrated(page);
  await page.getByLabel('E-mail').fill(SUPPORT_EMAIL);
  await page.getByLabel('Password').fill(SUPPORT_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('support-link').click();
  await expect(page).toHaveURL(/\/support$/);
  await hydrated(page);
  const filters = page.getByTestId('dead-letter-filters');
  await filters.locator('select[name="class"]').selectOption('mapping');
  await filters.getByLabel('Merchant').fill('sate senayan');
  await filters.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/class=mapping/);
  const row = page.locator('[data-testid="dead-letters"] tr', { hasText: 'e2e-outlet' });
  await expect(async () => {
    await page.reload();
    await expect(row.first()).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
  await snap(page, 'support-dead-letters');
  await row.first().getByRole('link', { name: 'Open' }).click();
  await hydrated(page);

  // The detail shows the reason, the redacted headers and the body.
  await expect(page.getByTestId('event-status')).toHaveText('failed · mapping');
  await expect(page.getByTestId('event-reason')).toContainText('e2e-outlet');
  await expect(page.getByTestId('event-headers')).toContainText('[redacted]');
  await expect(page.getByTestId('event-headers')).not.toContainText(signature);
  await expect(page.getByTestId('event-body')).toContainText('Es teh manis');
  await snap(page, 'support-event-detail');

  // Map the store to Jakarta, then replay.
  const mapStore = page.getByTestId('map-store');
  await mapStore.locator('select[name="location_id"]').selectOption({ label: 'Jakarta' });
  await mapStore.getByRole('button', { name: 'Map store' }).click();
  await expect(page.getByTestId('store-mapped')).toContainText('Jakarta');
  await page.getByTestId('replay').getByRole('button', { name: 'Replay' }).click();
  await expect(page.getByTestId('event-status')).toHaveText('processed');

  // The item is in the location's catalog.
  await page.getByTestId('location-catalog-link').click();
  const item = page.locator('[data-testid="location-catalog"] tr[data-sku="ES-TEH"]');
  await expect(item).toContainText('Es teh manis');
  await expect(item).toContainText('IDR 8000.00');
  await snap(page, 'support-location-catalog');
});
