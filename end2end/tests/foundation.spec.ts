import { test, expect } from '@playwright/test';
import { hydrated, snap, uniqueEmail } from './helpers';

test('a merchant signs up, adds a location, searches the catalog and opens an integration', async ({ page }) => {
  await page.goto('/signup');
  await hydrated(page);
  const email = uniqueEmail('owner');
  await page.getByLabel('Business name').fill('Kopi Kenangan Test');
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill('a-long-password-1');
  await page.getByRole('button', { name: 'Create account' }).click();

  await expect(page).toHaveURL(/\/locations$/);
  await expect(page.getByTestId('who')).toHaveText('Kopi Kenangan Test');
  await expect(page.getByTestId('no-locations')).toBeVisible();

  const add = page.getByTestId('add-location');
  await add.getByLabel('Name').fill('Jakarta — Kemang');
  await add.getByLabel('City').fill('Jakarta');
  await add.getByLabel('Time zone').fill('Asia/Jakarta');
  await add.getByRole('button', { name: 'Add location' }).click();
  await expect(page.locator('[data-location="Jakarta — Kemang"]')).toBeVisible();
  await snap(page, 'locations');

  // A bad time zone is refused with a message beside the field.
  await add.getByLabel('Name').fill('Nowhere');
  await add.getByLabel('City').fill('Atlantis');
  await add.getByLabel('Time zone').fill('Mars/Olympus');
  await add.getByRole('button', { name: 'Add location' }).click();
  await expect(add.locator('[data-field="timezone"]')).toContainText('IANA time zone');

  await page.getByRole('link', { name: 'Catalog' }).click();
  await expect(page).toHaveURL(/\/integrations$/);
  await expect(page.locator('.integration-card').first()).toBeVisible();
  const all = await page.locator('.integration-card').count();
  expect(all).toBeGreaterThanOrEqual(12);
  await snap(page, 'catalog');

  await page.getByRole('searchbox', { name: 'Search integrations' }).fill('split');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/q=split/);
  await expect(page.locator('[data-slug="spliteasy"]')).toBeVisible();
  await expect(page.locator('[data-slug="xero"]')).toHaveCount(0);
  await snap(page, 'catalog-search');

  // Category filter.
  await page.goto('/integrations');
  await hydrated(page);
  await page.locator('[data-category="payments"]').click();
  await expect(page).toHaveURL(/category=payments/);
  await expect(page.locator('[data-slug="qlub"]')).toBeVisible();
  await expect(page.locator('[data-slug="spliteasy"]')).toHaveCount(0);

  // Capability filter.
  await page.goto('/integrations');
  await hydrated(page);
  await page.getByLabel('Capability').selectOption('pay_at_table');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/capability=pay_at_table/);
  await expect(page.locator('[data-slug="qlub"]')).toBeVisible();
  await expect(page.locator('[data-slug="sunday"]')).toBeVisible();
  await expect(page.locator('.integration-card')).toHaveCount(2);

  await page.locator('[data-slug="qlub"]').click();
  await expect(page).toHaveURL(/\/integrations\/qlub$/);
  await expect(page.getByRole('heading', { name: 'Qlub', level: 1 })).toBeVisible();
  await expect(page.locator('[data-capability="pay_at_table"] .mode')).toContainText('replace');
  const asked = page.getByTestId('asked-for');
  await expect(asked).toContainText('paste the API key');
  await expect(asked.locator('[data-field="api_key"]')).toContainText('secret');
  await snap(page, 'integration-detail');
});

test('a wrong password shows a clear message', async ({ page }) => {
  await page.goto('/signin');
  await hydrated(page);
  await page.getByLabel('E-mail').fill('demo@plugboard.local');
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('The e-mail or password is incorrect.');
  await expect(page).toHaveURL(/\/signin$/);
  await snap(page, 'signin-failure');
});

test('the demo merchant signs in and sees Jakarta and Bali', async ({ page }) => {
  await page.goto('/signin');
  await hydrated(page);
  await page.getByLabel('E-mail').fill('demo@plugboard.local');
  await page.getByLabel('Password').fill('plugboard-demo');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/integrations$/);
  await page.getByRole('link', { name: 'Locations' }).click();
  await expect(page.locator('[data-location^="Jakarta"]')).toBeVisible();
  await expect(page.locator('[data-location^="Bali"]')).toBeVisible();
});

test('pages render before the wasm loads', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('/integrations/spliteasy');
  await expect(page.getByRole('heading', { name: 'SplitEasy', level: 1 })).toBeVisible();
  await expect(page.locator('[data-capability="receipt_qr"] .mode')).toContainText('up to 3');
  await page.goto('/integrations?q=accounting');
  await expect(page.locator('[data-slug="xero"]')).toBeVisible();
  await context.close();
});
