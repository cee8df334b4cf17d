import { test, expect } from '@playwright/test';
import { createHmac } from 'crypto';
import { hydrated, signUpWithJakarta, snap } from './helpers';
import type { Page } from '@playwright/test';

/** Connects `provider` account `account` (creating items for new SKUs) on
 * the Inbound page, maps its store `store` to Jakarta, and answers the
 * signing secret, shown once. */
async function connectAndMap(page: Page, provider: string, account: string, store: string): Promise<string> {
  const add = page.getByTestId('add-connection');
  await add.locator('select[name="provider"]').selectOption(provider);
  await add.getByLabel('Account id').fill(account);
  await add.getByLabel('Create items for new SKUs').check();
  await add.getByRole('button', { name: 'Connect' }).click();
  const shown = page.getByTestId('connection-secret');
  await expect(shown).toContainText(account);
  const secret = (await shown.locator('pre').innerText()).trim();
  await expect(page.locator(`[data-testid="connections"] tr[data-connection="${account}"]`)).toBeVisible();

  const map = page.getByTestId('add-store-mapping');
  await map.locator('select[name="provider"]').selectOption(provider);
  await map.getByLabel('Provider store id').fill(store);
  await map.locator('select[name="location_id"]').selectOption({ label: 'Jakarta' });
  await map.getByRole('button', { name: 'Map store' }).click();
  await expect(page.getByTestId('store-mappings')).toContainText(store);
  return secret;
}

test('a merchant connects a POS, maps its store, and sees the menu in the location catalog', async ({ page }) => {
  await signUpWithJakarta(page);
  await page.getByRole('link', { name: 'Inbound' }).click();
  await expect(page).toHaveURL(/\/inbound$/);
  await hydrated(page);

  // Connect a restaurant POS account (the signing secret is shown once)
  // and map its store to Jakarta.
  const account = `pos-ui-${Date.now()}`;
  const secret = await connectAndMap(page, 'restopos', account, 'ui-outlet');
  expect(secret).toMatch(/^[0-9a-f]{64}$/);
  await snap(page, 'inbound-setup');

  // The POS sends its menu.
  const body = JSON.stringify({
    store_id: 'ui-outlet',
    items: [
      { sku: 'NASI', name: 'Nasi uduk', category: 'Mains', price: '30000', currency: 'IDR',
        variants: [{ id: 'NASI-TELUR', name: 'With egg', price: '35000' }] },
      { sku: 'TEH', name: 'Teh tarik', category: 'Drinks', price: '12000', currency: 'IDR' },
    ],
  });
  const ts = Math.floor(Date.now() / 1000);
  const ack = await page.request.post('/v1/integrations/pos/restopos/webhooks/menu', {
    headers: {
      'X-Restopos-Account': account,
      'X-Restopos-Timestamp': String(ts),
      'X-Restopos-Signature': createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex'),
      'X-Restopos-Event-Id': `ui-${ts}`,
      'Content-Type': 'application/json',
    },
    data: body,
  });
  expect((await ack.json()).status).toBe('accepted');

  // The delivery shows as processed with what it applied.
  const delivery = page.locator('[data-testid="deliveries"] tr', { hasText: 'restopos / menu' });
  await expect(async () => {
    await page.reload();
    await expect(delivery.first()).toContainText('processed · 3 applied', { timeout: 1_000 });
  }).toPass({ timeout: 20_000 });

  // The menu's variant was mapped as it arrived; map another one by hand.
  await hydrated(page);
  const variants = page.getByTestId('variant-mappings');
  await expect(variants.locator('tr[data-variant="NASI-TELUR"]')).toContainText('restopos · NASI');
  const mapVariant = page.getByTestId('add-variant-mapping');
  await mapVariant.locator('select[name="provider"]').selectOption('restopos');
  await mapVariant.getByLabel('Provider variant id').fill('TEH-ICED');
  await mapVariant.locator('select[name="item_id"]').selectOption({ label: 'restopos · TEH' });
  await mapVariant.getByRole('button', { name: 'Map to a new variant' }).click();
  await expect(variants.locator('tr[data-variant="TEH-ICED"]')).toContainText('restopos · TEH');

  // Jakarta's catalog lists both items, the variant included.
  await page.goto('/locations');
  await hydrated(page);
  await page.locator('[data-location="Jakarta"]').getByRole('link', { name: 'Items →' }).click();
  const nasi = page.locator('[data-testid="location-catalog"] tr[data-sku="NASI"]');
  await expect(nasi).toContainText('IDR 30000.00');
  await expect(nasi.getByTestId('variants')).toContainText('With egg IDR 35000.00');
  await expect(page.locator('[data-testid="location-catalog"] tr[data-sku="TEH"]')).toContainText('Teh tarik');
  await snap(page, 'location-catalog');
});

test('a large seller import lands in chunks and the deliveries table follows it without a reload', async ({ page }) => {
  await signUpWithJakarta(page);
  await page.goto('/inbound');
  await hydrated(page);

  const account = `feed-ui-${Date.now()}`;
  const secret = await connectAndMap(page, 'sellerfeed', account, 'ui-shop');

  // 1,500 rows: three chunks of 500, each its own commit.
  const rows = Array.from({ length: 1500 }, (_, i) => ({
    sku: `UI-${i}`, name: `Product ${i}`, category: 'Drinks', price: `${i + 1}000`, currency: 'IDR',
  }));
  const ack = await page.request.post('/v1/integrations/seller/sellerfeed/import', {
    headers: { 'X-Seller-Account': account, 'X-Api-Key': secret, 'Content-Type': 'application/json' },
    data: JSON.stringify({ feed_id: `feed-${Date.now()}`, store_id: 'ui-shop', rows }),
  });
  expect((await ack.json()).status).toBe('accepted');

  // The page reloads its deliveries by itself: no reload here.
  const delivery = page.locator('[data-testid="deliveries"] tr', { hasText: 'sellerfeed' });
  await expect(delivery.first()).toContainText('processed · 1500 applied', { timeout: 20_000 });
});
