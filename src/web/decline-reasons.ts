import type { Lang } from './i18n.ts'

/**
 * YooKassa's cancellation_details.reason (docs/reference/yookassa.md 4.3) in the payer's words,
 * with what to do about it; the gateway's own expiry reads as an abandoned payment page.
 */
const REASONS: Record<string, { en: string; ru: string }> = {
  '3d_secure_failed': {
    en: 'the bank could not confirm it is you (3-D Secure). Try again, or use another card',
    ru: 'банк не подтвердил, что это вы (3-D Secure). Попробуйте снова или оплатите другой картой',
  },
  call_issuer: {
    en: 'the bank declined it: call the bank that issued the card',
    ru: 'банк отклонил платёж: позвоните в банк, выпустивший карту',
  },
  card_expired: { en: 'the card has expired', ru: 'срок действия карты истёк' },
  payment_method_limit_exceeded: {
    en: "the card's limit is reached",
    ru: 'превышен лимит по карте',
  },
  payment_method_restricted: {
    en: 'payments with this card are restricted',
    ru: 'оплата этой картой ограничена',
  },
  country_forbidden: {
    en: 'cards issued in this country are not accepted',
    ru: 'карты, выпущенные в этой стране, не принимаются',
  },
  general_decline: { en: 'the bank declined it', ru: 'банк отклонил платёж' },
  fraud_suspected: {
    en: 'the payment was stopped as suspicious',
    ru: 'платёж остановлен как подозрительный',
  },
  identification_required: {
    en: 'the wallet needs to be identified first',
    ru: 'кошелёк нужно сначала идентифицировать',
  },
  insufficient_funds: { en: 'not enough money on the card', ru: 'на карте недостаточно денег' },
  invalid_card_number: { en: 'the card number is wrong', ru: 'неверный номер карты' },
  invalid_csc: { en: 'the CVC/CVV code is wrong', ru: 'неверный код CVC/CVV' },
  issuer_unavailable: {
    en: 'the bank did not answer: try again in a few minutes',
    ru: 'банк не ответил: повторите через несколько минут',
  },
  canceled_by_merchant: { en: 'it was canceled by the shop', ru: 'платёж отменён магазином' },
  permission_revoked: {
    en: 'automatic payments from this card were revoked',
    ru: 'автоплатежи с этой карты отозваны',
  },
  internal_timeout: {
    en: 'a technical timeout at YooKassa: try again',
    ru: 'технический тайм-аут ЮKassa: попробуйте снова',
  },
  expired_on_confirmation: {
    en: 'the payment page was left unpaid and expired',
    ru: 'страница оплаты не была оплачена и устарела',
  },
  expired_on_capture: { en: 'the payment expired', ru: 'срок платежа истёк' },
  unsupported_mobile_operator: {
    en: 'this mobile operator is not supported',
    ru: 'этот мобильный оператор не поддерживается',
  },
  'confirmation window passed': {
    en: 'the payment page was left unpaid and expired',
    ru: 'страница оплаты не была оплачена и устарела',
  },
}

/** The reason in the payer's language; an unknown one is named as the bank's decline. */
export function declineReason(lang: Lang, reason: string | null): string {
  const known = reason ? REASONS[reason] : undefined
  return (known ?? REASONS.general_decline!)[lang]
}
