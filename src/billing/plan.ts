import type { PlanRow } from '../../db/tables.ts'
import { moneyToNumber } from '../lib/money.ts'
import { METRICS, type Metric } from './metrics.ts'

export type Interval = PlanRow['interval']

/** A plan as the code uses it: parsed JSON, kopecks, booleans. */
export interface Plan {
  id: string
  name: string
  name_ru: string | null
  description: string | null
  description_ru: string | null
  /** Kopecks. */
  price: number
  currency: string
  interval: Interval
  /** null = unlimited. */
  quotas: Record<Metric, number | null>
  features: string[]
  is_active: boolean
  display_order: number
  created_at: number
  updated_at: number
}

export function planFromRow(row: PlanRow): Plan {
  const stored = JSON.parse(row.quotas) as Partial<Record<Metric, number | null>>
  const quotas = Object.fromEntries(METRICS.map((m) => [m, stored[m] ?? null])) as Plan['quotas']
  return {
    ...row,
    price: Number(row.price),
    quotas,
    features: JSON.parse(row.features) as string[],
    is_active: Boolean(row.is_active),
  }
}

/** The plan as the API shows it: price as a JSON number (the seed's shape), exact to the kopeck. */
export function planToJson(plan: Plan) {
  return {
    id: plan.id,
    name: plan.name,
    name_ru: plan.name_ru,
    description: plan.description,
    description_ru: plan.description_ru,
    price: moneyToNumber(plan.price),
    currency: plan.currency,
    interval: plan.interval,
    quotas: plan.quotas,
    features: plan.features,
    is_active: plan.is_active,
    display_order: plan.display_order,
    created_at: plan.created_at,
    updated_at: plan.updated_at,
  }
}
