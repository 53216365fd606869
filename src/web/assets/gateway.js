// The pages' one script: only improvements. Everything reads and works without it.
// Copy buttons: <button data-copy="ID"> copies the text of #ID.
document.addEventListener('click', async (event) => {
  const button = event.target.closest('button[data-copy]')
  if (!button) return
  const source = document.getElementById(button.dataset.copy)
  if (!source) return
  try {
    await navigator.clipboard.writeText(source.textContent.trim())
  } catch {
    // No clipboard permission (plain http, old browser): select the text for Ctrl+C.
    const range = document.createRange()
    range.selectNodeContents(source)
    const selection = getSelection()
    selection.removeAllRanges()
    selection.addRange(range)
  }
  button.textContent = button.dataset.copied || button.textContent
})

// Polling: <div data-poll="/billing/return/status?tx=ID" data-status="pending"> asks the
// gateway every 2 s and reloads the page once the transaction's status has changed.
const poll = document.querySelector('[data-poll]')
if (poll) {
  const ask = async () => {
    try {
      const res = await fetch(poll.dataset.poll, { headers: { accept: 'application/json' } })
      if (res.ok) {
        const { status } = await res.json()
        if (status !== poll.dataset.status) return location.reload()
      }
    } catch {}
    setTimeout(ask, 2000)
  }
  setTimeout(ask, 2000)
}

// Amount buttons: <input data-amount-for="ID"> puts the amount typed into the label of
// button #ID (data-template with {amount}, data-locale, data-currency), so the refund button
// states what it will refund. Without the script the server's label names the default amount.
for (const input of document.querySelectorAll('input[data-amount-for]')) {
  const button = document.getElementById(input.dataset.amountFor)
  if (!button) continue
  const { template, locale, currency } = button.dataset
  const money = new Intl.NumberFormat(locale, {
    style: 'currency',
    currency,
    currencyDisplay: locale.startsWith('en') ? 'code' : 'symbol',
    minimumFractionDigits: 2,
  })
  input.addEventListener('input', () => {
    const typed = input.value.trim().replace(',', '.')
    const valid = /^\d+(\.\d{1,2})?$/.test(typed) && Number(typed) > 0
    button.textContent = template.replace('{amount}', valid ? money.format(Number(typed)) : '…')
  })
}
