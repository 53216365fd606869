import type { PackRow, PromoCodeRow } from '../../../db/tables.ts'
import type { Plan } from '../../billing/plan.ts'
import type { RedemptionView } from '../../payments/promo-codes.repo.ts'
import { DataTable } from '../data-table.tsx'
import type { WebContext } from '../env.ts'
import { formatDate, formatDateTime, type Lang, planName, t } from '../i18n.ts'
import { Form, renderPage } from '../layout.tsx'
import { AdminNav } from './admin-users.tsx'
import { packName } from './packs-section.tsx'

/** What a code gives, in words: "7 days of «Pro»", "15 % off «Pro»", "15 % off", "A pack: «1M tokens»". */
export function promoGives(
  lang: Lang,
  code: Pick<PromoCodeRow, 'kind' | 'plan_id' | 'pack_id' | 'days' | 'percent_off'>,
  plans: ReadonlyMap<string, string>,
  packs: ReadonlyMap<string, string> = new Map(),
): string {
  if (code.kind === 'pack') {
    return `${t(lang, 'promo_kind_pack')}: «${packs.get(code.pack_id ?? '') ?? code.pack_id}»`
  }
  const plan = code.plan_id ? `«${plans.get(code.plan_id) ?? code.plan_id}»` : ''
  if (code.kind === 'plan_days') {
    return `${t(lang, 'promo_kind_plan_days')}: ${code.days} · ${plan}`
  }
  return `${code.percent_off} %${plan ? ` · ${plan}` : ''}`
}

function RedemptionState({ lang, row }: { lang: Lang; row: RedemptionView }) {
  if (row.spent_at !== null) return <span class="badge ok">{t(lang, 'promo_spent')}</span>
  if (row.transaction_id !== null) return <span class="badge warn">{t(lang, 'promo_held')}</span>
  return <span class="badge">{t(lang, 'promo_unused')}</span>
}

/**
 * GET /admin/promo: codes, the form that creates one, and the latest
 * redemptions. A new code's text is shown once, on the page the form returns.
 */
export function renderPromoCodes(
  c: WebContext,
  data: {
    codes: PromoCodeRow[]
    redemptions: RedemptionView[]
    plans: Plan[]
    packs: PackRow[]
    created?: string
    error?: string
  },
) {
  const lang = c.get('lang')
  const names = new Map(data.plans.map((p) => [p.id, planName(lang, p)]))
  const packNames = new Map(data.packs.map((p) => [p.id, packName(lang, p)]))
  const paid = data.plans.filter((p) => p.price > 0)
  return renderPage(
    c,
    t(lang, 'admin_promo'),
    <>
      <AdminNav lang={lang} />
      {data.created && (
        <p class="notice" role="status" data-testid="promo-created">
          {t(lang, 'promo_created', { code: data.created })}
        </p>
      )}
      {data.error && (
        <p class="notice error" role="alert">
          {data.error}
        </p>
      )}
      <h2>{t(lang, 'admin_promo')}</h2>
      <DataTable
        rows={data.codes}
        empty={t(lang, 'promo_empty')}
        rowData={(row) => ({ 'data-code': row.id })}
        columns={[
          { head: t(lang, 'col_label'), rowHeader: true, cell: (row) => row.label },
          { head: t(lang, 'col_code'), cell: (row) => <code>{row.hint}</code> },
          { head: t(lang, 'col_gives'), cell: (row) => promoGives(lang, row, names, packNames) },
          {
            head: t(lang, 'col_uses'),
            num: true,
            cell: (row) => `${row.uses}${row.max_uses === null ? '' : ` / ${row.max_uses}`}`,
          },
          {
            head: t(lang, 'col_valid_until'),
            cell: (row) => (row.expires_at === null ? '—' : formatDate(lang, row.expires_at)),
          },
          {
            head: '',
            cell: (row) =>
              row.disabled_at !== null ? (
                <span class="badge bad">{t(lang, 'promo_disabled')}</span>
              ) : (
                <Form
                  c={c}
                  action={`/admin/promo/${encodeURIComponent(row.id)}/disable`}
                  class="inline"
                >
                  <button
                    type="submit"
                    class="secondary"
                    aria-label={`${t(lang, 'promo_disable')} ${row.label}`}
                  >
                    {t(lang, 'promo_disable')}
                  </button>
                </Form>
              ),
          },
        ]}
      />
      <h2>{t(lang, 'promo_redemptions')}</h2>
      <DataTable
        rows={data.redemptions}
        empty={t(lang, 'promo_redemptions_empty')}
        columns={[
          { head: t(lang, 'col_time'), cell: (row) => formatDateTime(lang, row.redeemed_at) },
          {
            head: t(lang, 'col_user'),
            cell: (row) => (
              <a href={`/admin/users/${encodeURIComponent(row.user_id)}`}>{row.user_id}</a>
            ),
          },
          { head: t(lang, 'col_label'), cell: (row) => `${row.label} (${row.hint})` },
          { head: t(lang, 'col_gives'), cell: (row) => promoGives(lang, row, names, packNames) },
          { head: t(lang, 'status'), cell: (row) => <RedemptionState lang={lang} row={row} /> },
        ]}
      />
      <section aria-labelledby="promo-new-h" class="panel">
        <h2 id="promo-new-h">{t(lang, 'promo_create')}</h2>
        <Form c={c} action="/admin/promo" class="stack" label={t(lang, 'promo_create')}>
          <label for="promo-label">{t(lang, 'promo_label')}</label>
          <input id="promo-label" name="label" required maxlength={200} />
          <label for="promo-code">{t(lang, 'promo_own_code')}</label>
          <input id="promo-code" name="code" maxlength={128} autocomplete="off" />
          <label for="promo-kind">{t(lang, 'promo_kind')}</label>
          <select id="promo-kind" name="kind">
            <option value="discount">{t(lang, 'promo_kind_discount')}</option>
            <option value="plan_days">{t(lang, 'promo_kind_plan_days')}</option>
            {data.packs.length > 0 && <option value="pack">{t(lang, 'promo_kind_pack')}</option>}
          </select>
          <label for="promo-plan">{t(lang, 'promo_plan')}</label>
          <select id="promo-plan" name="plan_id">
            <option value="">{t(lang, 'promo_any_plan')}</option>
            {paid.map((p) => (
              <option value={p.id}>{planName(lang, p)}</option>
            ))}
          </select>
          {data.packs.length > 0 && (
            <>
              <label for="promo-pack">{t(lang, 'promo_pack')}</label>
              <select id="promo-pack" name="pack_id">
                <option value="">—</option>
                {data.packs.map((p) => (
                  <option value={p.id}>{packName(lang, p)}</option>
                ))}
              </select>
            </>
          )}
          <label for="promo-percent">{t(lang, 'promo_percent')}</label>
          <input id="promo-percent" name="percent_off" type="number" min={1} max={95} />
          <label for="promo-days">{t(lang, 'promo_days')}</label>
          <input id="promo-days" name="days" type="number" min={1} max={3660} />
          <label for="promo-uses">{t(lang, 'promo_max_uses')}</label>
          <input id="promo-uses" name="max_uses" type="number" min={1} />
          <label for="promo-expires">{t(lang, 'promo_expires')}</label>
          <input id="promo-expires" name="expires_on" type="date" />
          <button type="submit">{t(lang, 'promo_create')}</button>
        </Form>
      </section>
    </>,
  )
}

/** The payer's promo code form on /billing, with the discount waiting for their next payment. */
export function PromoSection(props: {
  c: WebContext
  waiting: RedemptionView[]
  plans: ReadonlyMap<string, string>
}) {
  const lang = props.c.get('lang')
  return (
    <section aria-labelledby="promo-h" class="card">
      <h2 id="promo-h">{t(lang, 'promo_title')}</h2>
      {props.waiting.map((d) => (
        <p class="notice" data-testid="promo-waiting">
          {t(lang, 'promo_waiting', {
            percent: d.percent_off ?? 0,
            plan: d.plan_id
              ? t(lang, 'promo_waiting_plan', { plan: props.plans.get(d.plan_id) ?? d.plan_id })
              : '',
          })}
        </p>
      ))}
      <Form c={props.c} action="/billing/promo" class="inline" label={t(lang, 'promo_title')}>
        <div>
          <label for="promo-input">{t(lang, 'promo_code')}</label>
          <input id="promo-input" name="code" required maxlength={128} autocomplete="off" />
        </div>
        <button type="submit">{t(lang, 'promo_redeem')}</button>
      </Form>
    </section>
  )
}
