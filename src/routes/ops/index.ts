import { Hono } from 'hono'
import type { RouterRoute } from 'hono/types'
import { migrationStatus } from '../../../db/migrate.ts'
import type { AppEnv } from '../../http/env.ts'
import { describe } from '../openapi/describe.ts'
import { openApiDocument } from '../openapi/document.ts'
import { createDocsPage } from './docs-page.ts'

/**
 * Operational routes: liveness, readiness, API docs (public), Prometheus metrics
 * (metricsAccess in app.ts). `appRoutes` is read when /openapi.json is first
 * asked for, when every route of the app is mounted.
 */
export function createOpsRoutes(appRoutes: () => readonly RouterRoute[]) {
  let document: ReturnType<typeof openApiDocument> | undefined
  return new Hono<AppEnv>()
    .get(
      '/healthz',
      describe({
        summary: 'Process up',
        tag: 'ops',
        public: true,
        responses: { '200': 'ok' },
      }),
      (c) => c.json({ status: 'ok' }),
    )
    .get(
      '/readyz',
      describe({
        summary: 'Database reachable, migrations applied',
        tag: 'ops',
        public: true,
        responses: { '200': 'ready', '503': 'not ready' },
      }),
      async (c) => {
        const { database, logger } = c.get('deps')
        try {
          const { pending } = await migrationStatus(database.db)
          if (pending.length > 0) return c.json({ status: 'migrations_pending', pending }, 503)
          return c.json({ status: 'ready', database: database.dialect })
        } catch (error) {
          logger.warn({ err: error }, 'readiness check failed: database unreachable')
          return c.json({ status: 'database_unreachable' }, 503)
        }
      },
    )
    .get('/openapi.json', (c) => {
      document ??= openApiDocument(appRoutes(), c.get('deps').config.server.publicUrl)
      return c.json(document)
    })
    .route('/', createDocsPage())
    .get(
      '/metrics',
      describe({
        summary: 'Prometheus metrics (Bearer METRICS_TOKEN or an admin credential)',
        tag: 'ops',
        responses: {
          '200': { description: 'text/plain exposition', content: { 'text/plain': null } },
          '401': 'No or a wrong token',
          '403': 'Not an admin',
        },
      }),
      async (c) => {
        const { registry } = c.get('deps').metrics
        return c.body(await registry.metrics(), 200, { 'content-type': registry.contentType })
      },
    )
}
