import { test, expect } from '@playwright/test';
import { createHmac, timingSafeEqual } from 'crypto';
import * as http from 'http';
import { AddressInfo } from 'net';
import { hydrated, signUpWithJakarta, snap } from './helpers';

/** A partner's receiver on loopback: down until told otherwise. */
function startReceiver() {
  const state = { down: true, received: [] as { headers: http.IncomingHttpHeaders; body: Buffer }[] };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      state.received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      if (state.down) {
        res.writeHead(503, { 'content-type': 'text/plain' }).end('receiver down for maintenance');
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ externalOrderId: 'E2E-POS-1' }));
      }
    });
  });
  return new Promise<{ url: string; state: typeof state; close: () => void }>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}/plugboard`, state, close: () => server.close() });
    });
  });
}

/** The partner's own check of X-Cata-Signature (any of its sha256= values). */
function verified(secret: string, header: string, body: Buffer) {
  const want = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
  return header.split(',').some((s) => {
    const got = Buffer.from(s.trim());
    return got.length === want.length && timingSafeEqual(got, want);
  });
}

test('a merchant registers an endpoint, sees a failed delivery, fixes the receiver, resends it', async ({ page }) => {
  const receiver = await startReceiver();
  try {
    await signUpWithJakarta(page);
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await expect(page).toHaveURL(/\/webhooks$/);
    await hydrated(page);

    // Register the receiver; the secret is shown once.
    const form = page.getByTestId('register-endpoint');
    await form.getByLabel('URL').fill(receiver.url);
    await form.locator('select[name="outlet_id"]').selectOption({ label: 'Jakarta' });
    await form.getByRole('button', { name: 'Register' }).click();
    const shown = page.getByTestId('endpoint-secret');
    await expect(shown).toBeVisible();
    const secret = (await shown.locator('pre').innerText()).trim();
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    await expect(page.locator(`[data-testid="endpoints"] tr[data-endpoint="${receiver.url}"]`)).toBeVisible();
    await snap(page, 'webhooks-registered');

    // A test order goes out and fails: the receiver is down.
    await page.getByRole('link', { name: 'Orders' }).click();
    await expect(page).toHaveURL(/\/orders$/);
    await hydrated(page);
    const dispatch = page.getByTestId('dispatch-test-order');
    await dispatch.locator('select[name="outlet_id"]').selectOption({ label: 'Jakarta' });
    await dispatch.getByRole('button', { name: 'Dispatch a test order' }).click();
    const row = page.locator('[data-testid="orders"] tbody tr').first();
    await expect(row.getByTestId('dispatch-status')).toContainText('callback returned HTTP 503', { timeout: 15_000 });
    await expect(row.getByTestId('order-status')).toHaveText('PAID');

    // The order's page shows the failed attempt with the receiver's answer.
    await row.locator('a').first().click();
    await expect(page).toHaveURL(/\/orders\/[0-9a-f-]+$/);
    await hydrated(page);
    const attempt = page.locator('[data-testid="attempts"] tr[data-outcome="http_status"]').first();
    await expect(attempt).toContainText('503');
    await expect(attempt).toContainText('callback returned HTTP 503');
    await expect(attempt).toContainText('receiver down for maintenance');
    await expect(page.getByTestId('dispatch-reason')).toContainText('callback returned HTTP 503');
    await snap(page, 'order-failed-delivery');

    // The receiver is fixed; Resend delivers it.
    receiver.state.down = false;
    await page.getByTestId('resend').first().click();
    await expect(page.locator('[data-testid="attempts"] tr[data-outcome="success"]')).toContainText('200', { timeout: 15_000 });
    await expect(page.getByTestId('delivery-status').first()).toHaveText('succeeded');
    await expect(page.locator('body')).toContainText("receiver's id E2E-POS-1");
    await snap(page, 'order-delivered-after-resend');

    // What arrived was signed with the secret shown at registration.
    const last = receiver.state.received[receiver.state.received.length - 1];
    expect(last.headers['x-cata-event']).toBe('order.paid');
    expect(verified(secret, String(last.headers['x-cata-signature']), last.body)).toBe(true);
    expect(JSON.parse(last.body.toString()).items.length).toBe(2);
    // Every attempt carried the same delivery id.
    const ids = new Set(receiver.state.received.map((r) => r.headers['x-cata-delivery-id']));
    expect(ids.size).toBe(1);

    // The endpoint's log counts the delivery in its success rate.
    await page.goto('/webhooks');
    await hydrated(page);
    await page.locator(`[data-testid="endpoints"] tr[data-endpoint="${receiver.url}"] a`).click();
    await hydrated(page);
    await expect(page.getByTestId('rate-summary')).toContainText('1 of 1 delivered');
    await expect(page.locator('[data-testid="endpoint-deliveries"] tr[data-status="succeeded"]')).toHaveCount(1);
    await snap(page, 'endpoint-log');
  } finally {
    receiver.close();
  }
});
