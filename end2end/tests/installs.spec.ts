import { test, expect, Page } from '@playwright/test';
import { hydrated, installForJakarta, signUpWithJakarta, snap } from './helpers';

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

test('edit an install: current values shown, secrets only as "set", errors beside fields', async ({ page }) => {
  await signUpWithJakarta(page);
  const secret = 'nps-key-secret-7731';
  const panel = await installForJakarta(page, 'nps-pulse', { api_key: secret, survey_id: 's1' });
  await expect(panel.getByTestId('install-success')).toBeVisible();

  const openSettings = async () => {
    const settings = page.locator('.install-row[data-scope="Jakarta"]').getByTestId('settings-drawer');
    await settings.locator('summary').click();
    return settings;
  };
  let settings = await openSettings();
  await expect(settings.locator('[data-config="survey_id"] input')).toHaveValue('s1');
  const key = settings.locator('[data-config="api_key"] input');
  await expect(key).toHaveValue('');
  await expect(key).toHaveAttribute('placeholder', /Set — leave blank to keep/);
  expect(await page.content()).not.toContain(secret);

  // A bad value is explained beside the field and nothing changes.
  await settings.locator('[data-config="survey_id"] input').fill('');
  await settings.getByRole('button', { name: 'Save settings' }).click();
  await expect(settings.locator('.field-error[data-field="survey_id"]')).toBeVisible();

  await settings.locator('[data-config="survey_id"] input').fill('s2');
  await settings.getByRole('button', { name: 'Save settings' }).click();
  await expect(page.locator('.install-row[data-scope="Jakarta"] .field-error')).toHaveCount(0);

  await page.reload();
  await hydrated(page);
  settings = await openSettings();
  await expect(settings.locator('[data-config="survey_id"] input')).toHaveValue('s2');
  await expect(settings.locator('[data-config="api_key"] input')).toHaveAttribute('placeholder', /Set — leave blank/);
  await snap(page, 'install-settings');
});
