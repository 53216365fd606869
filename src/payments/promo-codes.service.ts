import type { PromoCodeRow, PromoKind } from '../../db/tables.ts'
import type { Principal } from '../auth/principal.ts'
import { findPack } from '../billing/packs.repo.ts'
import { planFromRow } from '../billing/plan.ts'
import { grantPlanDays, type PlanDaysOutcome } from '../billing/plan-days.ts'
import { findPlan } from '../billing/plans.repo.ts'
import { creditPack } from '../ledger/packs/holdings.repo.ts'
import { nowSeconds } from '../lib/clock.ts'
import { DomainError } from '../lib/errors.ts'
import { inTransaction } from './apply-helpers.ts'
import type { PaymentsDeps } from './payments-deps.ts'
import {
  codeHint,
  generateCode,
  hashCode,
  MAX_CODE_LENGTH,
  MIN_CODE_LENGTH,
  normaliseCode,
} from './promo-code-text.ts'
import {
  findPromoCodeByHash,
  insertPromoCode,
  insertRedemption,
  takeUse,
} from './promo-codes.repo.ts'

type PromoDeps = Pick<
  PaymentsDeps,
  'clock' | 'config' | 'database' | 'defaultPlan' | 'entitlements' | 'ids' | 'logger'
>

export interface NewPromoCode {
  /** The operator's own text; a random 80-bit code when absent. */
  code?: string
  label: string
  kind: PromoKind
  planId?: string
  /** The prepaid pack a `pack` code grants. */
  packId?: string
  days?: number
  percentOff?: number
  maxUses?: number | null
  expiresAt?: number | null
}

/**
 * An operator creates a code. The answer holds the code's text once: only its
 * hash is stored, so it cannot be shown again.
 */
export async function createPromoCode(
  deps: Pick<PaymentsDeps, 'clock' | 'database' | 'ids' | 'logger'>,
  actor: Principal,
  input: NewPromoCode,
): Promise<{ code: string; row: PromoCodeRow }> {
  const text = input.code ?? generateCode()
  const normalised = normaliseCode(text)
  if (normalised.length < MIN_CODE_LENGTH || normalised.length > MAX_CODE_LENGTH) {
    throw new DomainError(
      'invalid_request',
      `A code has ${MIN_CODE_LENGTH} to ${MAX_CODE_LENGTH} characters besides spaces and dashes`,
      { param: 'code' },
    )
  }
  const { db } = deps.database
  if (input.kind === 'plan_days') {
    if (!input.planId || !input.days) {
      throw new DomainError('invalid_request', 'A plan_days code names plan_id and days', {
        param: input.planId ? 'days' : 'plan_id',
      })
    }
  } else if (input.kind === 'pack') {
    if (!input.packId) {
      throw new DomainError('invalid_request', 'A pack code names pack_id', { param: 'pack_id' })
    }
    if (!(await findPack(db, input.packId))) {
      throw new DomainError('not_found', `No pack with id "${input.packId}"`, { param: 'pack_id' })
    }
  } else if (!input.percentOff) {
    throw new DomainError('invalid_request', 'A discount code names percent_off', {
      param: 'percent_off',
    })
  }
  if (input.planId && !(await findPlan(db, input.planId))) {
    throw new DomainError('not_found', `No plan with id "${input.planId}"`, { param: 'plan_id' })
  }
  const codeHash = hashCode(normalised)
  if (await findPromoCodeByHash(db, codeHash)) {
    throw new DomainError('conflict', 'That code exists already', { param: 'code' })
  }
  const row: PromoCodeRow = {
    id: deps.ids.next(),
    code_hash: codeHash,
    hint: codeHint(normalised),
    label: input.label,
    kind: input.kind,
    plan_id: input.kind === 'pack' ? null : (input.planId ?? null),
    pack_id: input.kind === 'pack' ? (input.packId ?? null) : null,
    days: input.kind === 'plan_days' ? (input.days ?? null) : null,
    percent_off: input.kind === 'discount' ? (input.percentOff ?? null) : null,
    max_uses: input.maxUses ?? null,
    uses: 0,
    expires_at: input.expiresAt ?? null,
    disabled_at: null,
    created_by: actor.userId,
    created_at: nowSeconds(deps.clock),
  }
  await insertPromoCode(db, row)
  deps.logger.info(
    { codeId: row.id, kind: row.kind, planId: row.plan_id, by: actor.userId },
    'BILLING promo code created',
  )
  return { code: text, row }
}

export type Redeemed =
  | { kind: 'plan_days'; planId: string; days: number; paidUntil: number }
  | { kind: 'discount'; percentOff: number; planId: string | null }
  | { kind: 'pack'; packId: string; validUntil: number }

/**
 * A payer redeems a code: at most once per user, within the code's uses, before
 * its expiry. The redemption row, the use taken and the plan days granted commit
 * together or not at all. Every refusal names no more than the payer needs: an
 * unknown, disabled and expired code read the same.
 */
export async function redeemPromoCode(
  deps: PromoDeps,
  principal: Principal,
  text: string,
): Promise<Redeemed> {
  const { db } = deps.database
  const code = await findPromoCodeByHash(db, hashCode(normaliseCode(text)))
  const now = nowSeconds(deps.clock)
  if (!code || code.disabled_at !== null || (code.expires_at !== null && code.expires_at <= now)) {
    throw new DomainError('not_found', 'No such promo code, or it has expired', { param: 'code' })
  }
  const plan = code.plan_id ? await findPlan(db, code.plan_id) : undefined
  if (code.plan_id && !plan) {
    throw new DomainError('not_found', 'No such promo code, or it has expired', { param: 'code' })
  }
  const outcome = await inTransaction(deps, async (trx) => {
    const inserted = await insertRedemption(trx, {
      id: deps.ids.next(),
      code_id: code.id,
      user_id: principal.userId,
      redeemed_at: now,
      transaction_id: null,
      spent_at: code.kind === 'discount' ? null : now,
    })
    if (!inserted) return 'already' as const
    if (!(await takeUse(trx, code.id, now))) throw new UsedUp()
    if (code.kind === 'discount') return null
    if (code.kind === 'pack') return await grantPack(deps, trx, code, principal.userId, now)
    const granted = await grantPlanDays(deps, trx, {
      userId: principal.userId,
      plan: planFromRow(plan!),
      days: code.days!,
      now,
    })
    if (granted.kind === 'on_other_paid_plan') throw new OnOtherPaidPlan(granted)
    return {
      kind: 'plan_days' as const,
      planId: code.plan_id!,
      days: code.days!,
      paidUntil: granted.subscription.paid_until!,
    }
  }).catch((error: unknown) => {
    if (error instanceof PackGone) {
      throw new DomainError('not_found', 'No such promo code, or it has expired', { param: 'code' })
    }
    if (error instanceof UsedUp) {
      throw new DomainError('conflict', 'This promo code has been used up', { param: 'code' })
    }
    if (error instanceof OnOtherPaidPlan) {
      throw new DomainError(
        'conflict',
        `This code gives days of plan "${plan!.name}"; your plan "${error.outcome.planId}" is paid until ${new Date(error.outcome.paidUntil * 1000).toISOString().slice(0, 10)}, redeem it after that`,
        { param: 'code' },
      )
    }
    throw error
  })
  if (outcome === 'already') {
    throw new DomainError('conflict', 'You have redeemed this promo code already', {
      param: 'code',
    })
  }
  deps.logger.info(
    { codeId: code.id, userId: principal.userId, kind: code.kind },
    'BILLING promo code redeemed',
  )
  if (outcome === null) {
    return { kind: 'discount', percentOff: code.percent_off!, planId: code.plan_id }
  }
  deps.entitlements.invalidate(principal.userId)
  return outcome
}

/**
 * A `pack` code's pack, credited in the redemption's transaction at no price
 * (no payment names it): the redemption row, unique per user and code, is what
 * makes it once. The pack as it is sold now; a pack taken off sale since still grants.
 */
async function grantPack(
  deps: PromoDeps,
  trx: Parameters<typeof creditPack>[0],
  code: PromoCodeRow,
  userId: string,
  now: number,
) {
  const pack = code.pack_id ? await findPack(trx, code.pack_id) : undefined
  if (!pack) throw new PackGone()
  const sold = {
    id: pack.id,
    metric: pack.metric,
    amount: Number(pack.amount),
    price: 0,
    currency: pack.currency,
    validity_days: pack.validity_days,
  }
  const input = { holdingId: deps.ids.next(), entryId: deps.ids.next(), userId, now }
  await creditPack(trx, { ...input, pack: sold, transactionId: null })
  const validUntil = now + pack.validity_days * 86_400
  return { kind: 'pack' as const, packId: pack.id, validUntil }
}

/** The code's pack was deleted: the code reads as unknown, and nothing is taken. */
class PackGone extends Error {}

/** Rolls the redemption back when the code's last use went to someone else meanwhile. */
class UsedUp extends Error {}

class OnOtherPaidPlan extends Error {
  constructor(readonly outcome: Extract<PlanDaysOutcome, { kind: 'on_other_paid_plan' }>) {
    super('on another paid plan')
  }
}
