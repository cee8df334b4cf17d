import { expect, Page } from '@playwright/test';

/** Waits until the wasm has hydrated the page, so clicks reach Leptos. */
export async function hydrated(page: Page) {
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1, { timeout: 30_000 });
}

/** A unique e-mail for this run. */
export function uniqueEmail(prefix: string) {
  return `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

/** Saves a screenshot as a kept artefact of the run. */
export async function snap(page: Page, name: string) {
  await page.screenshot({ path: `artifacts/${name}.png`, fullPage: true });
}

export async function signUpWithJakarta(page: Page) {
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
export async function installForJakarta(page: Page, slug: string, config: Record<string, string> = {}) {
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

