/**
 * The console's messages (operator actions, the user's page, the audit log),
 * kept apart from the payer's so the two pages' catalogues grow without
 * meeting; messages.ts spreads them into the one catalogue.
 */
export const CONSOLE_MESSAGES = {
  admin_audit: { en: 'Audit log', ru: 'Журнал действий' },
  audit_empty: { en: 'No console actions recorded yet.', ru: 'Действий в консоли пока не было.' },
  col_actor: { en: 'Operator', ru: 'Оператор' },
  col_action: { en: 'Action', ru: 'Действие' },
  col_subject: { en: 'Subject', ru: 'Объект' },
  col_before: { en: 'Before', ru: 'До' },
  col_after: { en: 'After', ru: 'После' },
  audit_grant: { en: 'Plan granted', ru: 'Назначен тариф' },
  audit_refund: { en: 'Refund', ru: 'Возврат' },
  audit_plan_create: { en: 'Plan created', ru: 'Создан тариф' },
  audit_plan_edit: { en: 'Plan edited', ru: 'Изменён тариф' },
  audit_plan_active: { en: 'Plan (de)activated', ru: 'Тариф включён/выключен' },
  audit_plan_order: { en: 'Plans reordered', ru: 'Изменён порядок тарифов' },
  audit_plan_default: { en: 'Default plan changed', ru: 'Сменён тариф по умолчанию' },
  audit_key_create: { en: 'API key created', ru: 'Создан API-ключ' },
  audit_key_revoke: { en: 'API key revoked', ru: 'Отозван API-ключ' },
  audit_user_disable: { en: 'User disabled', ru: 'Пользователь отключён' },
  audit_user_enable: { en: 'User enabled', ru: 'Пользователь включён' },

  user_account: { en: 'Account', ru: 'Учётная запись' },
  user_role: { en: 'Role', ru: 'Роль' },
  user_signed_up: { en: 'Signed up', ru: 'Зарегистрирован' },
  user_state: { en: 'State', ru: 'Состояние' },
  user_enabled: { en: 'Enabled', ru: 'Включён' },
  user_disabled_since: { en: 'Disabled since {date}', ru: 'Отключён с {date}' },
  user_unknown: {
    en: 'This user has not called the gateway yet.',
    ru: 'Этот пользователь ещё не обращался к шлюзу.',
  },
  user_disable: { en: 'Disable this user', ru: 'Отключить пользователя' },
  user_disable_hint: {
    en: 'Their API keys, tokens and sessions are refused (403) at once, on every replica within {seconds} s.',
    ru: 'Их API-ключи, токены и сессии отклоняются (403) сразу, на всех репликах — в пределах {seconds} с.',
  },
  user_enable: { en: 'Enable this user', ru: 'Включить пользователя' },
  notice_user_disabled: { en: 'User disabled.', ru: 'Пользователь отключён.' },
  notice_user_enabled: { en: 'User enabled.', ru: 'Пользователь включён.' },
  view_billing_as: {
    en: 'View billing as this user',
    ru: 'Открыть страницу оплаты глазами пользователя',
  },
  billing_as_banner: {
    en: 'Read-only: the billing page as {user} sees it. Its buttons are removed.',
    ru: 'Только просмотр: страница оплаты так, как её видит {user}. Кнопки убраны.',
  },

  user_keys: { en: 'API keys', ru: 'API-ключи' },
  keys_none: { en: 'No live API keys.', ru: 'Действующих API-ключей нет.' },
  col_expires: { en: 'Expires', ru: 'Истекает' },
  never_expires: { en: 'never', ru: 'никогда' },
  admin_key_revoke: { en: 'Revoke {name}', ru: 'Отозвать {name}' },
  key_new_name: { en: 'New key name', ru: 'Название нового ключа' },
  key_expires_days: {
    en: 'Expires in days (empty: never)',
    ru: 'Истекает через, дней (пусто — никогда)',
  },
  key_create_for_user: { en: 'Create a key for this user', ru: 'Создать ключ для пользователя' },
  notice_key_created_admin: {
    en: 'Key created. Give it to the user now: it is shown only once.',
    ru: 'Ключ создан. Передайте его пользователю сейчас: он показывается один раз.',
  },

  user_requests: { en: 'Last requests', ru: 'Последние запросы' },
  requests_none: { en: 'No requests yet.', ru: 'Запросов пока нет.' },
  requests_note: {
    en: 'One line per metered request, and the requests refused at admission (402, 403, 429) with their reason: the first {n} of each user per minute on each server. Latency: from the quota reservation to the settle.',
    ru: 'Строка на каждый учтённый запрос и на запросы, отклонённые при допуске (402, 403, 429), с причиной: первые {n} в минуту на каждом сервере. Задержка — от резервирования квоты до списания.',
  },
  col_latency: { en: 'Latency', ru: 'Задержка' },
  unit_ms: { en: 'ms', ru: 'мс' },
  refused_because: { en: 'refused:', ru: 'отклонён:' },
  col_request: { en: 'Request', ru: 'Запрос' },
  col_counted: { en: 'Counted by, or refused', ru: 'Подсчёт или отказ' },
  counted_upstream: { en: 'upstream', ru: 'провайдер' },
  counted_estimated: { en: 'estimated', ru: 'оценка шлюза' },
  user_audit: { en: 'Console actions on this user', ru: 'Действия консоли с пользователем' },

  grant_choose: { en: 'Choose a plan…', ru: 'Выберите тариф…' },
  grant_review: { en: 'Review the grant', ru: 'Проверить назначение' },
  grant_confirm_title: { en: 'Confirm the grant', ru: 'Подтвердите назначение' },
  grant_extend: {
    en: '"{plan}" paid until {from} is extended to {to} ({periods} more). The current period and its usage stay.',
    ru: '«{plan}», оплаченный до {from}, продлевается до {to} (ещё {periods}). Текущий период и расход сохраняются.',
  },
  grant_replace_paid: {
    en: '"{current}" paid until {date} ends now; usage resets. "{plan}" starts now, paid until {until}.',
    ru: '«{current}», оплаченный до {date}, заканчивается сейчас; расход обнуляется. «{plan}» начинается сейчас, оплачен до {until}.',
  },
  grant_replace: {
    en: '"{current}" ends now; usage resets. "{plan}" starts now, paid until {until}.',
    ru: '«{current}» заканчивается сейчас; расход обнуляется. «{plan}» начинается сейчас, оплачен до {until}.',
  },
  grant_new: {
    en: '"{plan}" starts now, paid until {until}.',
    ru: '«{plan}» начинается сейчас, оплачен до {until}.',
  },
  grant_to_default_paid: {
    en: '"{current}" paid until {date} ends now, without a refund. The user goes back to "{plan}" and its usage.',
    ru: '«{current}», оплаченный до {date}, заканчивается сейчас, без возврата денег. Пользователь возвращается на «{plan}» с его расходом.',
  },
  grant_to_default: {
    en: '"{current}" ends now. The user goes back to "{plan}" and its usage.',
    ru: '«{current}» заканчивается сейчас. Пользователь возвращается на «{plan}» с его расходом.',
  },
  grant_unchanged: {
    en: 'The user already has "{plan}": nothing changes.',
    ru: 'У пользователя уже «{plan}»: ничего не изменится.',
  },
  grant_confirm: { en: 'Confirm: grant "{plan}"', ru: 'Подтвердить: назначить «{plan}»' },
  cancel: { en: 'Cancel', ru: 'Отмена' },
  interval_n_day: { en: '{n} day(s)', ru: 'дней: {n}' },
  interval_n_week: { en: '{n} week(s)', ru: 'недель: {n}' },
  interval_n_month: { en: '{n} month(s)', ru: 'месяцев: {n}' },
  interval_n_year: { en: '{n} year(s)', ru: 'лет: {n}' },

  search_users_payments: {
    en: 'User id, email or YooKassa payment id',
    ru: 'Id пользователя, email или id платежа ЮKassa',
  },
  payment_search: { en: 'Find a payment', ru: 'Найти платёж' },
  payment_search_label: {
    en: 'YooKassa payment id or transaction id',
    ru: 'Id платежа ЮKassa или id транзакции',
  },
  payment_not_found: {
    en: 'No payment with the id "{id}".',
    ru: 'Платежа с id «{id}» нет.',
  },
  col_provider_id: { en: 'YooKassa id', ru: 'Id в ЮKassa' },
  col_transaction: { en: 'Transaction', ru: 'Транзакция' },
  tx_partly_refunded: { en: 'Partly refunded', ru: 'Частично возвращён' },
  tx_refund_done: { en: 'Refund made', ru: 'Возврат выполнен' },
  tx_refund_pending: { en: 'Refund pending', ru: 'Возврат в обработке' },
  tx_refund_canceled: { en: 'Refund failed', ru: 'Возврат не выполнен' },

  plan_affects: {
    en: '{n} active subscriber(s) are on this plan: a change of its quotas reaches them from their next period, or now if you choose so below.',
    ru: 'Активных подписчиков на этом тарифе: {n}. Изменение квот дойдёт до них со следующего периода или сразу, если выбрать это ниже.',
  },
  plan_apply: { en: 'Apply quota changes', ru: 'Когда применить изменения квот' },
  plan_apply_next: {
    en: 'From each subscriber’s next period (their current period keeps its limits)',
    ru: 'Со следующего периода каждого подписчика (текущий период сохраняет лимиты)',
  },
  plan_apply_now: { en: 'Now, also in the current period', ru: 'Сейчас, и в текущем периоде' },
  plan_subscribers: { en: '{n} active', ru: 'активных: {n}' },
  plan_default_badge: { en: 'Default plan', ru: 'Тариф по умолчанию' },
  plan_default_locked: {
    en: 'This is the default plan: to deactivate it, choose on the plans page the plan that becomes the default in its place.',
    ru: 'Это тариф по умолчанию: чтобы выключить его, выберите на странице тарифов тариф, который станет тарифом по умолчанию вместо него.',
  },
  plan_make_default: { en: 'Make default', ru: 'Сделать тарифом по умолчанию' },
  // Starts with the visible text, so speech input finds the link by what it shows.
  plan_make_default_aria: {
    en: 'Make default: {plan}',
    ru: 'Сделать тарифом по умолчанию: {plan}',
  },
  plan_new_default: { en: 'New default plan', ru: 'Новый тариф по умолчанию' },
  plan_new_default_choose: { en: 'Choose…', ru: 'Выберите…' },
  plan_deactivate_default: {
    en: 'Deactivate and switch the default',
    ru: 'Выключить и сменить тариф по умолчанию',
  },
  default_confirm_title: {
    en: 'Make {plan} the default plan',
    ru: 'Сделать «{plan}» тарифом по умолчанию',
  },
  default_effect: {
    en: 'New sign-ups and users whose subscription ends will fall to {plan} instead of {current}.',
    ru: 'Новые пользователи и те, чья подписка закончится, перейдут на «{plan}» вместо «{current}».',
  },
  default_effect_kept: {
    en: 'Users on {current} now keep it, and {current} stays active.',
    ru: 'Те, кто сейчас на «{current}», остаются на нём; «{current}» остаётся включённым.',
  },
  default_unchanged: {
    en: '{plan} is the default plan already.',
    ru: '«{plan}» уже тариф по умолчанию.',
  },
  default_confirm: {
    en: 'Confirm: make {plan} the default',
    ru: 'Подтвердить: «{plan}» по умолчанию',
  },
  default_inactive: {
    en: 'Only an active plan can be the default: activate {plan} first.',
    ru: 'Тарифом по умолчанию может быть только включённый тариф: сначала включите «{plan}».',
  },
  default_review_first: {
    en: 'Review the change of the default plan before confirming it',
    ru: 'Проверьте смену тарифа по умолчанию, прежде чем подтверждать её',
  },
  notice_default_saved: { en: 'Default plan changed.', ru: 'Тариф по умолчанию изменён.' },
} as const satisfies Record<string, { en: string; ru: string }>
