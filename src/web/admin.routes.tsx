import { Hono } from 'hono'
import type { WebEnv } from './env.ts'

export function createAdminPages() {
  return new Hono<WebEnv>().get('/', (c) => c.text('admin'))
}
