import { swaggerUI } from '@hono/swagger-ui'
import { Hono } from 'hono'
import { migrationStatus } from '../../../db/migrate.ts'
import type { AppEnv } from '../../http/env.ts'
import { openApiDocument } from './openapi.ts'

/** Operational routes: liveness, readiness, API docs (public), Prometheus metrics (metricsAccess in app.ts). */
export function createOpsRoutes() {
  return new Hono<AppEnv>()
    .get('/healthz', (c) => c.json({ status: 'ok' }))
    .get('/readyz', async (c) => {
      const { database, logger } = c.get('deps')
      try {
        const { pending } = await migrationStatus(database.db)
        if (pending.length > 0) return c.json({ status: 'migrations_pending', pending }, 503)
        return c.json({ status: 'ready', database: database.dialect })
      } catch (error) {
        logger.warn({ err: error }, 'readiness check failed: database unreachable')
        return c.json({ status: 'database_unreachable' }, 503)
      }
    })
    .get('/openapi.json', (c) => c.json(openApiDocument(c.get('deps').config.server.publicUrl)))
    .get('/docs', swaggerUI({ url: '/openapi.json' }))
    .get('/metrics', async (c) => {
      const { registry } = c.get('deps').metrics
      return c.body(await registry.metrics(), 200, { 'content-type': registry.contentType })
    })
}
