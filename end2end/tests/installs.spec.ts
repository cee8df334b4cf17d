import { test, expect, Page } from '@playwright/test';
import { hydrated, snap, uniqueEmail } from './helpers';

async function signUpWithJakarta(page: Page) {
  await page.goto('/signup');
  await hydrated(page);
  await page.getByLabel('Business name').fill('Sate Senayan');
  await page.getByLabel('E-mail').fill(uniqueEmail('installs'));
  await page.getByLabel('Password').fill('a-long-password-1');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/locations$/);
  const add = page.getByTestId('add-location');
  await add.getByLabel('Name').fill('Jakarta');
  await add.getByLabel('City').fill('Jakarta');
  await add.getByRole('button', { name: 'Add location' }).click();
  await expect(page.locator('[data-location="Jakarta"]')).toBeVisible();
}

/** Opens the install drawer of `slug`, fills `config`, installs for Jakarta. */
async function installForJakarta(page: Page, slug: string, config: Record<string, string> = {}) {
  await page.goto(`/integrations/${slug}`);
  await hydrated(page);
  const panel = page.getByTestId('install-panel');
  await panel.locator('summary').click();
  await panel.getByLabel('Where').selectOption({ label: 'Jakarta' });
  for (const [field, value] of Object.entries(config)) {
    await panel.locator(`[data-config="${field}"] input`).fill(value);
  }
  await panel.getByRole('button', { name: 'Install', exact: true }).click();
  return panel;
}

test('install, conflict, cap, disable, re-enable and uninstall', async ({ page }) => {
  await signUpWithJakarta(page);

  let panel = await installForJakarta(page, 'spliteasy');
  await expect(panel.getByTestId('install-success')).toHaveText('Installed SplitEasy for Jakarta.');
  await expect(panel.locator('.install-row[data-scope="Jakarta"]')).toBeVisible();

  // Replace mode: Qlub takes pay_at_table, Sunday is refused with the holder named.
  panel = await installForJakarta(page, 'qlub', { api_key: 'qlub-key-0001', restaurant_id: 'r1' });
  await expect(panel.getByTestId('install-success')).toBeVisible();
  panel = await installForJakarta(page, 'sunday', { api_key: 'sunday-key-01', venue_id: 'v1' });
  await expect(panel.getByRole('alert')).toContainText('Qlub already holds pay_at_table');
  await expect(panel.getByRole('alert')).toContainText('Uninstall Qlub');
  await snap(page, 'install-conflict');

  // A bad config is explained beside the field.
  panel = await installForJakarta(page, 'nps-pulse', { api_key: 'short', survey_id: 's1' });
  await expect(panel.locator('.field-error[data-field="api_key"]')).toContainText('at least 8 characters');

  // Add mode: three receipt_qr installs fit, the fourth is refused.
  panel = await installForJakarta(page, 'nps-pulse', { api_key: 'nps-key-123', survey_id: 's1' });
  await expect(panel.getByTestId('install-success')).toBeVisible();
  panel = await installForJakarta(page, 'tada', { api_key: 'tada-key-1', api_secret: 'tada-secret', program_id: 'p1' });
  await expect(panel.getByTestId('install-success')).toBeVisible();
  panel = await installForJakarta(page, 'google-reviews', { place_id: 'ChIJ123' });
  await expect(panel.getByRole('alert')).toContainText('receipt_qr allows at most 3 integrations per location');
  await snap(page, 'install-cap');

  // The surfaces view shows who fills each surface.
  await page.goto('/locations');
  await hydrated(page);
  await page.locator('[data-location="Jakarta"]').getByRole('link', { name: 'Surfaces →' }).click();
  const receipt = page.locator('[data-surface="receipt_qr"]');
  await expect(receipt.locator('[data-holder]')).toHaveCount(3);
  await expect(page.locator('[data-surface="pay_at_table"] [data-holder="qlub"]')).toBeVisible();
  await snap(page, 'surfaces');

  // Disable keeps the install (and its slot); Enable brings it back.
  await page.goto('/integrations/spliteasy');
  await hydrated(page);
  const row = page.locator('.install-row[data-scope="Jakarta"]');
  await row.getByRole('button', { name: 'Disable' }).click();
  await expect(row).toHaveAttribute('data-enabled', 'false');
  await row.getByRole('button', { name: 'Enable' }).click();
  await expect(row).toHaveAttribute('data-enabled', 'true');

  // Uninstall erases it.
  await row.getByRole('button', { name: 'Uninstall' }).click();
  await expect(page.getByTestId('not-installed')).toBeVisible();
  // …which frees a receipt_qr slot for Google Reviews.
  panel = await installForJakarta(page, 'google-reviews', { place_id: 'ChIJ123' });
  await expect(panel.getByTestId('install-success')).toBeVisible();
});
