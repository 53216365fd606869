import type { Plan } from '../billing/plan.ts'
import { RATE_WINDOWS } from '../ledger/quotas.ts'
import { formatNumber, type Lang, t } from './i18n.ts'

/**
 * A plan's rate windows as short phrases ("20 requests a minute"), the day's zone last
 * when it is not UTC (docs/quotas.md, "Rate windows"); none for a plan without windows.
 */
export function rateWindowPhrases(lang: Lang, plan: Pick<Plan, 'quotas'>): string[] {
  const phrases = RATE_WINDOWS.flatMap((kind) => {
    const limit = plan.quotas[kind]
    return limit == null ? [] : [t(lang, `window_${kind}`, { n: formatNumber(lang, limit) })]
  })
  const zone = plan.quotas.window_time_zone
  const daily = plan.quotas.requests_per_day != null || plan.quotas.tokens_per_day != null
  if (daily && zone && zone !== 'UTC') phrases.push(t(lang, 'window_time_zone', { zone }))
  return phrases
}

/** The plan's rate windows as list items of the plan's card (/billing). */
export function RateWindowItems({ lang, plan }: { lang: Lang; plan: Pick<Plan, 'quotas'> }) {
  return (
    <>
      {rateWindowPhrases(lang, plan).map((phrase) => (
        <li data-rate-window>{phrase}</li>
      ))}
    </>
  )
}
