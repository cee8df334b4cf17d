import { test, expect, Page } from '@playwright/test';
import { hydrated, installForJakarta, signUpWithJakarta, snap } from './helpers';

/** On the test authorization server's consent page, presses Allow or Deny. */
async function consent(page: Page, choice: 'Allow' | 'Deny') {
  await expect(page.locator('#ask')).toContainText('asks for access');
  await page.getByRole('button', { name: choice }).click();
}

function row(page: Page) {
  return page.getByTestId('install-panel').locator('.install-row[data-scope="Jakarta"]');
}

test('OAuth connect, refresh, disconnect, denied consent and state mismatch', async ({ page }) => {
  await signUpWithJakarta(page);
  const panel = await installForJakarta(page, 'google-reviews', { place_id: 'ChIJ-sate' });
  await expect(panel.getByTestId('install-success')).toBeVisible();
  await expect(row(page)).toHaveAttribute('data-auth', 'not_connected');

  // Connect → the provider's consent page → Allow → back, connected.
  await row(page).getByRole('button', { name: 'Connect' }).click();
  await consent(page, 'Allow');
  await expect(page).toHaveURL(/\/integrations\/google-reviews\?oauth=connected/);
  await hydrated(page);
  await expect(page.getByTestId('oauth-outcome')).toContainText('Connected.');
  await expect(row(page)).toHaveAttribute('data-auth', 'connected');
  await expect(row(page).getByTestId('expires-at')).toBeVisible();
  await snap(page, 'oauth-connected');

  // Refresh now: new tokens from the provider.
  await row(page).getByRole('button', { name: 'Refresh now' }).click();
  await expect(page.getByTestId('refresh-outcome')).toHaveText('Connection refreshed.');
  await expect(row(page).getByTestId('refreshed-at')).toBeVisible();

  // Disconnect: back to "not connected", Connect offered again.
  await row(page).getByRole('button', { name: 'Disconnect' }).click();
  await expect(row(page)).toHaveAttribute('data-auth', 'not_connected');

  // Denied consent is explained; nothing is connected.
  await row(page).getByRole('button', { name: 'Connect' }).click();
  await consent(page, 'Deny');
  await expect(page).toHaveURL(/oauth=denied/);
  await expect(page.getByTestId('oauth-outcome')).toContainText('Access was declined');
  await expect(row(page)).toHaveAttribute('data-auth', 'not_connected');
  await snap(page, 'oauth-denied');

  // A callback this session did not start is rejected, clearly.
  await page.goto('/oauth/callback?code=stolen-code&state=not-my-state');
  await expect(page).toHaveURL(/\/integrations\?oauth=state_mismatch/);
  await expect(page.getByTestId('oauth-outcome')).toContainText('This sign-in response was rejected');
});

test('OAuth expired refresh needs a reconnect, and Reconnect restores it', async ({ page }) => {
  await signUpWithJakarta(page);
  // Splitwise is wired to the client whose refresh tokens live 3 seconds.
  const panel = await installForJakarta(page, 'splitwise');
  await expect(panel.getByTestId('install-success')).toBeVisible();
  await row(page).getByRole('button', { name: 'Connect' }).click();
  await consent(page, 'Allow');
  await expect(page).toHaveURL(/oauth=connected/);
  await hydrated(page);
  await expect(row(page)).toHaveAttribute('data-auth', 'connected');

  await page.waitForTimeout(4_000);
  await row(page).getByRole('button', { name: 'Refresh now' }).click();
  await expect(row(page)).toHaveAttribute('data-auth', 'needs_reconnect');
  await expect(row(page).getByRole('alert')).toContainText('invalid_grant');
  await snap(page, 'oauth-needs-reconnect');

  // The provider may ask again or, remembering the grant, send the browser
  // straight back: both are fine.
  await row(page).getByRole('button', { name: 'Reconnect' }).click();
  await page.waitForURL(/oauth=connected|\/interaction\//);
  if (page.url().includes('/interaction/')) await consent(page, 'Allow');
  await expect(page).toHaveURL(/oauth=connected/);
  await expect(row(page)).toHaveAttribute('data-auth', 'connected');
});
