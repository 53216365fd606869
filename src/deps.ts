import type { AuthDeps } from './auth/auth-deps.ts'
import type { NotifyRoomDeps } from './notify/notify-deps.ts'
import type { PaymentsDeps } from './payments/payments-deps.ts'
import type { PipelineDeps } from './pipeline/pipeline-deps.ts'

/**
 * Everything the app needs, passed in explicitly: only the entries read the environment and
 * build these (createDeps in boot.ts); tests build them with a temp database, a test clock and
 * loopback servers for the outside world.
 *
 * Each room declares what it calls (auth/auth-deps.ts, billing/billing-deps.ts,
 * payments/payments-deps.ts, pipeline/pipeline-deps.ts) and takes a Pick of that; this type
 * is their union, read only by the entries, the Hono env (http/env.ts) and the surfaces that
 * hand it down (routes/, web/). A field two rooms declare has one type in both, or this
 * interface fails to compile.
 */
export interface Deps extends AuthDeps, NotifyRoomDeps, PaymentsDeps, PipelineDeps {}
