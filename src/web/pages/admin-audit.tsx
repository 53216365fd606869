import type { ConsoleAuditRow } from '../../../db/tables.ts'
import type { WebContext } from '../env.ts'
import { t } from '../i18n.ts'
import { renderPage } from '../layout.tsx'
import { AuditTable } from './admin-user-parts.tsx'
import { AdminNav } from './admin-users.tsx'

/** GET /admin/audit: every console action, newest first. */
export function renderAudit(c: WebContext, rows: ConsoleAuditRow[]) {
  const lang = c.get('lang')
  return renderPage(
    c,
    t(lang, 'admin_audit'),
    <>
      <AdminNav lang={lang} />
      <AuditTable lang={lang} rows={rows} />
    </>,
  )
}
