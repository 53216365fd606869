import type { z } from 'zod'
import type { Plan } from '../billing/plan.ts'
import { METRICS } from '../ledger/amounts.ts'
import { formatMoney } from '../lib/money.ts'
import type { Lang } from './i18n.ts'
import { issueMessage } from './validation-messages.ts'

/** The plan form's fields as strings (what the browser sends and what the form shows back). */
export type PlanFormValues = Record<string, string>

/** A stored plan as form values, for the edit page. */
export function planToForm(plan: Plan): PlanFormValues {
  const values: PlanFormValues = {
    id: plan.id,
    name: plan.name,
    name_ru: plan.name_ru ?? '',
    description: plan.description ?? '',
    description_ru: plan.description_ru ?? '',
    price: formatMoney(plan.price),
    currency: plan.currency,
    interval: plan.interval,
    features: plan.features.join(', '),
    is_active: plan.is_active ? 'on' : '',
    display_order: String(plan.display_order),
  }
  for (const m of METRICS)
    values[`quota_${m}`] = plan.quotas[m] === null ? '' : String(plan.quotas[m])
  return values
}

/**
 * Form values -> the API's plan body, handed to the API's own schema (plan.schema.ts),
 * so the console accepts exactly what POST/PATCH /plans accept. Numbers that are not
 * integers stay strings, and the schema names the field.
 */
export function formToPlanBody(form: PlanFormValues, options: { withId: boolean }) {
  const text = (key: string) => (form[key] ?? '').trim()
  const optional = (key: string) => (text(key) === '' ? null : text(key))
  const integer = (value: string) => (/^-?\d+$/.test(value) ? Number(value) : value)
  const body: Record<string, unknown> = {
    name: text('name'),
    name_ru: optional('name_ru'),
    description: optional('description'),
    description_ru: optional('description_ru'),
    price: text('price'),
    currency: text('currency').toUpperCase(),
    interval: text('interval'),
    quotas: Object.fromEntries(
      METRICS.map((m) => [m, text(`quota_${m}`) === '' ? null : integer(text(`quota_${m}`))]),
    ),
    features: text('features')
      .split(',')
      .map((f) => f.trim())
      .filter(Boolean),
    is_active: form.is_active === 'on',
    display_order: integer(text('display_order') || '0'),
  }
  if (options.withId && text('id') !== '') body.id = text('id')
  return body
}

/** Zod issues -> a message per form field (quotas.requests -> quota_requests). */
export function fieldErrors(error: z.ZodError, lang: Lang = 'en'): Record<string, string> {
  const errors: Record<string, string> = {}
  for (const issue of error.issues) {
    const [head, sub] = issue.path.map(String)
    const field = head === 'quotas' && sub ? `quota_${sub}` : (head ?? 'name')
    errors[field] ??= issueMessage(lang, issue)
  }
  return errors
}
