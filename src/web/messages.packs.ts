/**
 * The prepaid packs' messages (/billing and the console): messages.ts spreads
 * them into the one catalogue.
 */
export const PACK_MESSAGES = {
  packs_title: { en: 'Prepaid packs', ru: 'Пакеты' },
  packs_lead: {
    en: 'A pack is spent only once your plan’s quota for its metric is used up, the pack that expires first first.',
    ru: 'Пакет расходуется, только когда квота тарифа по его метрике исчерпана; сначала тот, что истекает раньше.',
  },
  packs_for_sale: { en: 'Packs on sale', ru: 'Пакеты в продаже' },
  packs_none_for_sale: { en: 'No packs are on sale.', ru: 'Пакетов в продаже нет.' },
  pack_valid_days: { en: 'valid {days} days', ru: 'действует {days} дн.' },
  pack_buy: { en: 'Buy {pack} for {price}', ru: 'Купить «{pack}» за {price}' },
  packs_balance: { en: 'Pack balance', ru: 'Остаток пакетов' },
  packs_yours: { en: 'Your packs', ru: 'Ваши пакеты' },
  packs_none: { en: 'No packs bought yet.', ru: 'Пакетов пока нет.' },
  packs_history: { en: 'Pack history', ru: 'История пакетов' },
  packs_history_none: { en: 'No pack entries yet.', ru: 'Движений по пакетам пока нет.' },
  col_pack: { en: 'Pack', ru: 'Пакет' },
  col_metric: { en: 'Metric', ru: 'Метрика' },
  col_left: { en: 'Left', ru: 'Осталось' },
  col_expires: { en: 'Expires', ru: 'Истекает' },
  col_entry: { en: 'Entry', ru: 'Операция' },
  col_units: { en: 'Units', ru: 'Единицы' },
  col_validity: { en: 'Validity, days', ru: 'Срок, дней' },
  col_amount_units: { en: 'Amount', ru: 'Объём' },
  pack_status_active: { en: 'active', ru: 'действует' },
  pack_status_expired: { en: 'expired', ru: 'истёк' },
  pack_status_refunded: { en: 'refunded', ru: 'возвращён' },
  pack_status_used: { en: 'used up', ru: 'израсходован' },
  pack_entry_credit: { en: 'bought', ru: 'покупка' },
  pack_entry_spend: { en: 'spent', ru: 'расход' },
  pack_entry_refund: { en: 'refunded', ru: 'возврат' },
  pack_entry_expiry: { en: 'expired', ru: 'истечение' },
  admin_packs: { en: 'Prepaid packs on sale', ru: 'Пакеты в продаже' },
  admin_packs_hint: {
    en: 'Packs are defined in the configuration (packs) next to the plans and synced at start.',
    ru: 'Пакеты задаются в конфигурации (packs) рядом с тарифами и синхронизируются при запуске.',
  },
} as const satisfies Record<string, { en: string; ru: string }>
