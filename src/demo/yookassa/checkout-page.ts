import { html } from 'hono/html'
import type { Json } from './wire.ts'

/**
 * The sandbox's stand-in for YooKassa's payment form: what is paid, to whom,
 * and two buttons, "Pay" (the card goes through) and "Decline" (the bank
 * refuses). Interpolations are escaped by hono/html; no script, no asset.
 */
export function checkoutPage(payment: Json) {
  const pending = payment.status === 'pending'
  const base = `/checkout/${encodeURIComponent(payment.id)}`
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>YooKassa sandbox: ${payment.amount.value} ${payment.amount.currency}</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; background: #f4f5f7; color: #1d1d1f; margin: 0; }
  main { max-width: 26rem; margin: 3rem auto; background: #fff; border-radius: 12px; padding: 2rem;
         box-shadow: 0 2px 12px rgba(0, 0, 0, .08); }
  .banner { background: #fff4d6; border-radius: 8px; padding: .5rem .75rem; font-size: .9rem; }
  .amount { font-size: 2rem; font-weight: 600; margin: 1rem 0 0; }
  dl { display: grid; grid-template-columns: auto 1fr; gap: .25rem 1rem; font-size: .9rem; }
  dt { color: #5f6368; }
  .actions { display: flex; gap: .75rem; margin-top: 1.5rem; }
  form { flex: 1; }
  button { width: 100%; font: inherit; padding: .75rem; border-radius: 8px; border: 0; cursor: pointer; }
  .pay { background: #0a7d32; color: #fff; }
  .decline { background: #e8eaed; color: #1d1d1f; }
</style>
</head>
<body>
<main>
  <p class="banner">Demo sandbox: no money moves. This page stands in for YooKassa's checkout.</p>
  <h1>Payment to the demo shop</h1>
  <p>${payment.description ?? ''}</p>
  <p class="amount">${payment.amount.value} ${payment.amount.currency}</p>
  <dl>
    <dt>Payment</dt><dd>${payment.id}</dd>
    <dt>Card</dt><dd>5555 55•• •••• 4444 (test card)</dd>
    <dt>Status</dt><dd id="status">${payment.status}</dd>
  </dl>
  ${
    pending
      ? html`<div class="actions">
    <form method="post" action="${base}/pay"><button class="pay" type="submit">Pay</button></form>
    <form method="post" action="${base}/decline"><button class="decline" type="submit">Decline</button></form>
  </div>`
      : html`<p>This payment is ${payment.status}: there is nothing left to confirm.</p>`
  }
</main>
</body>
</html>`
}
