import type { Amounts } from '../../ledger/amounts.ts'
import { noClasses } from '../../ledger/amounts.ts'
import { release, settle } from '../../ledger/service.ts'
import type { Admission } from '../admission/admit.ts'
import { type Prices, priceClasses, weighClasses } from '../estimate/weights.ts'
import type { PipelineDeps } from '../pipeline-deps.ts'
import { type CountedUsage, type RawUsage, validUsage } from './usage.ts'

export interface Outcome {
  /**
   * Credits the upstream's usage; when there is none, or it is negative or
   * absurd (refused and logged, never credited), the prompt estimate plus
   * `countOutput()` tokens, marked estimated. Returns at once what it credits:
   * the database write goes on after the answer (tracked in
   * deps.pendingSettles, which the user's usage reads wait for).
   */
  settle(usage: RawUsage | null, countOutput: () => number, reason?: string): Amounts
  /** Returns the whole reservation: the request is not billed. Written after the answer too. */
  release(reason: string): void
  /** The upstream that answered, when failover (upstream/failover.ts) went past the first. */
  answeredBy(upstream: string): void
  /** The HTTP status the client was answered with (a settle without one records 499: the client left). */
  answeredWith(status: number): void
  readonly ended: boolean
}

/**
 * Every reservation ends exactly once: the first call to settle or release
 * wins, later ones (an abort racing the end of a stream) do nothing. Answer
 * first, settle right after: the amounts are decided here, at once, and the
 * write runs while the answer leaves, so the client never waits for its
 * round trip (about 0.3-1 ms on PostgreSQL, a commit on SQLite). The write is
 * tracked per user until it ends: the user's own usage reads and a refused
 * reservation wait for it, graceful shutdown too. A ledger failure is logged,
 * never thrown into a response already on its way; the ledger keeps it and
 * this process's sweeper retries it. A settle records the usage even when the
 * reservation was swept meanwhile (ledger/service.ts).
 */
export type OutcomeDeps = Pick<
  PipelineDeps,
  | 'clock'
  | 'config'
  | 'database'
  | 'ids'
  | 'instance'
  | 'ledger'
  | 'logger'
  | 'metrics'
  | 'pendingSettles'
>

export function createOutcome(
  deps: OutcomeDeps,
  admission: Admission,
  context: { requestId: string; endpoint: string; upstream: string },
): Outcome {
  let ended = false
  // The console's last requests show the status and the latency; the clock starts at the reservation.
  const startedMs = performance.now()
  let answerStatus: number | undefined
  const identity = {
    userId: admission.userId,
    subscriptionId: admission.subscriptionId,
    periodStart: admission.periodStart,
    modelId: admission.model,
    chatId: admission.chatId,
  }
  // What every log line about this request's reservation names.
  const fields = {
    requestId: context.requestId,
    ledgerId: admission.ledgerId === context.requestId ? undefined : admission.ledgerId,
    userId: admission.userId,
    model: admission.model,
    chatId: admission.chatId ?? undefined,
    endpoint: context.endpoint,
    upstream: context.upstream,
  }

  /** The settle's write, then its metrics and log line; never rejects. */
  async function record(
    actual: Amounts,
    options: Parameters<typeof settle>[3],
    raw: Amounts,
    reason: string | undefined,
  ): Promise<void> {
    const estimated = options?.estimated ?? false
    let recorded: boolean
    try {
      recorded = await settle(deps, admission.ledgerId, actual, options)
    } catch (error) {
      deps.logger.error({ ...fields, err: error }, 'Settling the reservation failed; retried later')
      return
    }
    if (!recorded) {
      deps.logger.warn(
        { ...fields, ...actual, estimated, reason },
        'Usage of this request was already recorded: nothing more billed',
      )
      return
    }
    // Built only when it will be written: this runs once per proxied request.
    if (deps.logger.isLevelEnabled('info')) {
      deps.logger.info(
        { ...fields, ...actual, raw, estimated, reason },
        `Tracked ${actual.tokens_input} tokens_input + ${actual.tokens_output} tokens_output for user ${admission.userId} model ${admission.model}`,
      )
    }
  }

  return {
    get ended() {
      return ended
    },
    answeredBy(upstream) {
      fields.upstream = upstream
    },
    answeredWith(status) {
      answerStatus = status
    },
    settle(usage, countOutput, reason) {
      if (ended) return { requests: 0, tokens_input: 0, tokens_output: 0 }
      ended = true
      const max = deps.config.quota.maxTokensPerRequest
      let counted: CountedUsage | null = usage ? validUsage(usage, max) : null
      if (usage && !counted) {
        deps.logger.warn(
          { ...fields, usage },
          'Refused invalid usage from the upstream; counting instead',
        )
      }
      let estimated = !counted
      counted ??= {
        input: admission.inputEstimate,
        output: Math.min(countOutput(), max),
        classes: noClasses(),
      }
      if (!estimated && usage?.outputPending) {
        // The upstream's input is exact, its output unknown: the output is counted, as a cut stream's.
        const output = Math.max(counted.output, Math.min(countOutput(), max))
        counted = { ...counted, output }
        estimated = true
      }
      // raw: the upstream's tokens; actual (what counts): weighted, plus the hosted tools'
      // surcharge, which is in the quota's unit already (admit.ts).
      const raw: Amounts = {
        requests: 1,
        tokens_input: counted.input,
        tokens_output: counted.output,
      }
      // Each token class at its own weight (docs/weights.md), rounded up once per total.
      const weighed = weighClasses(counted, admission.weights)
      const actual: Amounts = {
        requests: 1,
        tokens_input: weighed.input + admission.surchargeTokens,
        tokens_output: weighed.output,
      }
      const detail = {
        raw,
        cost: admission.prices ? upstreamCost(counted, admission.prices) : undefined,
        classes: counted.classes,
        // Settled before any answer was given: the client left (nginx's 499).
        status: answerStatus ?? CLIENT_CLOSED,
        latencyMs: Math.round(performance.now() - startedMs),
      }
      // The upstream's tokens (raw), not the weighted amounts the quota counts: what the upstream
      // spent, counted with the answer (the write that bills them follows, retried if refused).
      const model = deps.metrics.modelLabel(admission.model)
      const { tokens } = deps.metrics
      tokens.add(`in ${model}`, { metric: 'tokens_input', model }, raw.tokens_input)
      tokens.add(`out ${model}`, { metric: 'tokens_output', model }, raw.tokens_output)
      const write = record(actual, { estimated, identity, detail }, raw, reason)
      deps.pendingSettles.track(admission.userId, write)
      return actual
    },
    release(reason) {
      if (ended) return
      ended = true
      const write = release(deps, admission.ledgerId).then(
        () => deps.logger.info({ ...fields, reason }, `Released the reservation: ${reason}`),
        (error) =>
          deps.logger.error({ ...fields, err: error, reason }, 'Releasing the reservation failed'),
      )
      deps.pendingSettles.track(admission.userId, write)
    },
  }
}

const CLIENT_CLOSED = 499

/** Each token class at its own price (docs/weights.md), rounded up once per total. */
function upstreamCost(counted: CountedUsage, prices: Prices): Amounts {
  const cost = priceClasses(counted, prices)
  return { requests: 0, tokens_input: cost.input, tokens_output: cost.output }
}
