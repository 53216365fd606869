import type { Interval } from '../billing/plan.ts'
import { MESSAGES, type MessageKey } from './messages.ts'

/** The pages speak Russian and English; the seed's plans carry name_ru and description_ru. */
export type Lang = 'en' | 'ru'
export const LANG_COOKIE = 'lang'

/**
 * The language of a request: the `lang` cookie (set by the switch link), else the
 * first of Accept-Language's ranges (by q) that names ru or en, else English.
 */
export function pickLang(cookie: string | undefined, acceptLanguage: string | undefined): Lang {
  if (cookie === 'ru' || cookie === 'en') return cookie
  const ranges = (acceptLanguage ?? '')
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().toLowerCase().split(';')
      const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find(Boolean)
      return { base: tag.split('-')[0], q: q === undefined ? 1 : Number(q), index }
    })
    .filter((r) => r.q > 0 && (r.base === 'ru' || r.base === 'en'))
    .sort((a, b) => b.q - a.q || a.index - b.index)
  return ranges[0]?.base === 'ru' ? 'ru' : 'en'
}

/** A message of the catalogue, with {name} placeholders filled in. */
export function t(lang: Lang, key: MessageKey, vars: Record<string, string | number> = {}) {
  const text: string = MESSAGES[key][lang]
  return text.replace(/\{(\w+)\}/g, (_, name: string) => String(vars[name] ?? `{${name}}`))
}

const LOCALES: Record<Lang, string> = { en: 'en-US', ru: 'ru-RU' }

/** 1000000 -> "1,000,000" (en) or "1 000 000" (ru, with no-break spaces). */
export function formatNumber(lang: Lang, value: number): string {
  return new Intl.NumberFormat(LOCALES[lang], { maximumFractionDigits: 0 }).format(value)
}

/** Kopecks -> "RUB 990.00" (en) or "990,00 ₽" (ru); `short` drops ",00" from whole amounts. */
export function formatMoney(lang: Lang, kopecks: number, currency: string, short = false) {
  const whole = kopecks % 100 === 0
  return new Intl.NumberFormat(LOCALES[lang], {
    style: 'currency',
    currency,
    currencyDisplay: lang === 'en' ? 'code' : 'symbol',
    minimumFractionDigits: short && whole ? 0 : 2,
    maximumFractionDigits: 2,
  }).format(kopecks / 100)
}

/** Epoch seconds -> a date in UTC ("Jan 15, 2026" / "15 янв. 2026 г."). */
export function formatDate(lang: Lang, seconds: number | null): string {
  if (seconds === null) return '—'
  return new Intl.DateTimeFormat(LOCALES[lang], { dateStyle: 'medium', timeZone: 'UTC' }).format(
    seconds * 1000,
  )
}

/** Epoch seconds -> date and time in UTC, for histories. */
export function formatDateTime(lang: Lang, seconds: number | null): string {
  if (seconds === null) return '—'
  const text = new Intl.DateTimeFormat(LOCALES[lang], {
    dateStyle: 'medium',
    timeStyle: 'short',
    timeZone: 'UTC',
  }).format(seconds * 1000)
  return `${text} UTC`
}

/** The plan's name in the language, falling back to the English one. */
export function planName(lang: Lang, plan: { name: string; name_ru: string | null }): string {
  return lang === 'ru' && plan.name_ru ? plan.name_ru : plan.name
}

export function planDescription(
  lang: Lang,
  plan: { description: string | null; description_ru: string | null },
): string | null {
  return lang === 'ru' && plan.description_ru ? plan.description_ru : plan.description
}

/** "month" -> "/month" or "/мес" after a price. */
export function perInterval(lang: Lang, interval: Interval): string {
  return t(lang, `per_${interval}`)
}
