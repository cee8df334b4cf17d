import { test, expect } from '@playwright/test';
import { hydrated, snap } from './helpers';

// The demo merchant's Jakarta outlet has Midtrans (primary) and Xendit
// (backup) installed against the development configuration's provider
// fakes, so a charge and its paid notification run end to end.
test('a cashier charges with QRIS, the simulator pays, the board in another page flips to PAID live', async ({ context }) => {
  const cashier = await context.newPage();
  await cashier.goto('/signin');
  await hydrated(cashier);
  await cashier.getByLabel('E-mail').fill('demo@plugboard.local');
  await cashier.getByLabel('Password').fill('plugboard-demo');
  await cashier.getByRole('button', { name: 'Sign in' }).click();
  await expect(cashier).toHaveURL(/\/integrations$/);

  // The kitchen board of Jakarta, open in a second page.
  const board = await context.newPage();
  await board.goto('/board');
  await hydrated(board);
  await board.getByRole('link', { name: /Jakarta/ }).click();
  await expect(board).toHaveURL(/\/board\?location=/);
  await hydrated(board);
  await expect(board.getByTestId('live-state')).toHaveText('live');
  // Marks this page: a reload would lose it.
  await board.evaluate(() => ((window as any).__noReload = true));

  // The cashier creates a charge: the QR, the amount and the countdown show.
  await cashier.getByRole('link', { name: 'Cashier', exact: true }).click();
  await expect(cashier).toHaveURL(/\/cashier$/);
  await hydrated(cashier);
  const form = cashier.getByTestId('charge-form');
  await form.locator('select[name="outlet_id"]').selectOption({ label: 'Jakarta — Senopati' });
  await form.getByLabel('Amount (rupiah)').fill('25000');
  await form.getByLabel('What for').fill('Kopi susu ×2');
  await form.getByRole('button', { name: 'Create QRIS charge' }).click();
  await expect(cashier).toHaveURL(/\/cashier\/[0-9a-f-]{36}$/);
  const charge = cashier.getByTestId('charge');
  await expect(charge.getByRole('heading')).toHaveText('Rp 25.000');
  await expect(charge.getByTestId('qr').locator('svg')).toBeVisible();
  await expect(charge.getByTestId('countdown')).toHaveText(/^1[0-4]:[0-5]\d$/);
  await expect(charge.getByTestId('provider')).toHaveText('midtrans');
  await expect(charge.getByTestId('payment-status')).toHaveText('pending');
  const reference = (await charge.locator('p', { hasText: 'Order ' }).innerText()).match(/POS-[0-9a-f]{12}/)![0];
  await snap(cashier, 'cashier-qr');

  // The board shows the new order as pending, without a reload.
  const card = board.getByTestId(`board-${reference}`);
  await expect(card.getByTestId('board-status')).toHaveText('PENDING');

  // The simulator makes the provider fake send its signed notification.
  await hydrated(cashier);
  await charge.getByRole('button', { name: /Simulate customer payment/ }).click();
  await expect(charge.getByTestId('payment-status')).toHaveText('paid');

  // The board flips to PAID live, in the same page.
  await expect(card.getByTestId('board-status')).toHaveText('PAID');
  expect(await board.evaluate(() => (window as any).__noReload)).toBe(true);
  await expect(board.getByTestId('event-log')).toContainText(`order.paid ${reference} PAID`);
  await snap(board, 'board-paid');
});
