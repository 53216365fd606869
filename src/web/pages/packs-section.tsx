import type { PackRow } from '../../../db/tables.ts'
import { METRICS } from '../../ledger/amounts.ts'
import type { UserPacks } from '../../ledger/packs/packs-view.ts'
import { DataTable } from '../data-table.tsx'
import type { WebContext } from '../env.ts'
import { formatDate, formatDateTime, formatMoney, formatNumber, type Lang, t } from '../i18n.ts'
import { Form } from '../layout.tsx'

/** A pack's name in the page's language. */
export function packName(lang: Lang, pack: Pick<PackRow, 'name' | 'name_ru'>) {
  return lang === 'ru' && pack.name_ru ? pack.name_ru : pack.name
}

/** /billing: the packs on sale (bought through YooKassa), then what the payer holds. */
export function PacksSection(props: {
  c: WebContext
  forSale: PackRow[]
  held: UserPacks
  paymentsEnabled: boolean
}) {
  const { c, forSale } = props
  const lang = c.get('lang')
  return (
    <section aria-labelledby="packs-h">
      <h2 id="packs-h">{t(lang, 'packs_title')}</h2>
      <p class="muted">{t(lang, 'packs_lead')}</p>
      {forSale.length === 0 ? (
        <p class="muted">{t(lang, 'packs_none_for_sale')}</p>
      ) : (
        <div class="grid three">
          {forSale.map((pack) => {
            const name = packName(lang, pack)
            const price = formatMoney(lang, Number(pack.price), pack.currency, true)
            return (
              <article class="card plan" aria-labelledby={`pack-${pack.id}`} data-pack={pack.id}>
                <h3 id={`pack-${pack.id}`}>{name}</h3>
                <p class="price">{price}</p>
                <p>
                  {t(lang, `metric_${pack.metric}`)}: {formatNumber(lang, Number(pack.amount))},{' '}
                  {t(lang, 'pack_valid_days', { days: pack.validity_days })}
                </p>
                {props.paymentsEnabled && (
                  <Form c={c} action="/billing/pay-pack">
                    <input type="hidden" name="pack_id" value={pack.id} />
                    <button type="submit">{t(lang, 'pack_buy', { pack: name, price })}</button>
                  </Form>
                )}
              </article>
            )
          })}
        </div>
      )}
      <HeldPacks lang={lang} held={props.held} level={3} />
    </section>
  )
}

/** The balance per metric, each pack with its expiry, and the latest entries: /billing and the console. */
export function HeldPacks(props: { lang: Lang; held: UserPacks; level: 2 | 3 }) {
  const { lang, held } = props
  const Heading = props.level === 2 ? 'h2' : 'h3'
  const withBalance = METRICS.filter((m) => held.balance[m] > 0)
  return (
    <>
      <Heading id="packs-balance-h">{t(lang, 'packs_balance')}</Heading>
      <dl class="facts" aria-labelledby="packs-balance-h" data-testid="pack-balance">
        {(withBalance.length > 0 ? withBalance : (['requests'] as const)).map((metric) => (
          <>
            <dt>{t(lang, `metric_${metric}`)}</dt>
            <dd data-metric={metric}>{formatNumber(lang, held.balance[metric])}</dd>
          </>
        ))}
      </dl>
      <Heading id="packs-held-h">{t(lang, 'packs_yours')}</Heading>
      <DataTable
        rows={held.packs}
        empty={t(lang, 'packs_none')}
        rowData={(pack) => ({ 'data-holding': pack.id })}
        columns={[
          { head: t(lang, 'col_pack'), rowHeader: true, cell: (pack) => pack.pack_id },
          { head: t(lang, 'col_metric'), cell: (pack) => t(lang, `metric_${pack.metric}`) },
          {
            head: t(lang, 'col_left'),
            num: true,
            cell: (pack) =>
              `${formatNumber(lang, pack.remaining)} / ${formatNumber(lang, pack.amount)}`,
          },
          { head: t(lang, 'col_expires'), cell: (pack) => formatDate(lang, pack.valid_until) },
          {
            head: t(lang, 'col_status'),
            cell: (pack) => t(lang, `pack_status_${pack.status}`),
          },
        ]}
      />
      <Heading id="packs-history-h">{t(lang, 'packs_history')}</Heading>
      <DataTable
        rows={held.history}
        empty={t(lang, 'packs_history_none')}
        columns={[
          { head: t(lang, 'col_date'), cell: (entry) => formatDateTime(lang, entry.created_at) },
          { head: t(lang, 'col_entry'), cell: (entry) => t(lang, `pack_entry_${entry.kind}`) },
          {
            head: t(lang, 'col_units'),
            num: true,
            cell: (entry) => formatNumber(lang, entry.amount),
          },
        ]}
      />
    </>
  )
}

/** The console's plans page: the packs on sale (defined in the configuration). */
export function PackDefinitions(props: { lang: Lang; packs: PackRow[] }) {
  const { lang } = props
  return (
    <section aria-labelledby="pack-defs-h">
      <h2 id="pack-defs-h">{t(lang, 'admin_packs')}</h2>
      <p class="muted">{t(lang, 'admin_packs_hint')}</p>
      <DataTable
        rows={props.packs}
        empty={t(lang, 'packs_none_for_sale')}
        rowData={(pack) => ({ 'data-pack': pack.id })}
        columns={[
          {
            head: t(lang, 'col_pack'),
            rowHeader: true,
            cell: (pack) => `${packName(lang, pack)} (${pack.id})`,
          },
          { head: t(lang, 'col_metric'), cell: (pack) => t(lang, `metric_${pack.metric}`) },
          {
            head: t(lang, 'col_amount_units'),
            num: true,
            cell: (pack) => formatNumber(lang, Number(pack.amount)),
          },
          {
            head: t(lang, 'col_price'),
            num: true,
            cell: (pack) => formatMoney(lang, Number(pack.price), pack.currency),
          },
          { head: t(lang, 'col_validity'), num: true, cell: (pack) => pack.validity_days },
          {
            head: t(lang, 'col_active'),
            cell: (pack) => t(lang, pack.is_active ? 'yes' : 'plan_inactive'),
          },
        ]}
      />
    </section>
  )
}
