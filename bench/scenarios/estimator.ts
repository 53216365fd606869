import { performance } from 'node:perf_hooks'
import { median } from '../proc/stats.ts'
import type { EstimatorTiming } from '../report/checks.ts'
import { bodies, MODEL } from './payloads.ts'

type Estimate = (body: Record<string, unknown>) => number

/**
 * Times the gateway's own prompt estimate on the ~8,000-token body, in this process before any
 * load runs: the first call (cold JIT) and the median of 30 warm ones. The module is imported
 * by path at run time so that the bench still runs while the gateway's files move; when it is
 * missing, the exact gpt-tokenizer count is timed instead and named as such.
 */
export async function timeEstimator(): Promise<EstimatorTiming | null> {
  let estimate: Estimate
  let source: string
  try {
    const path = '../../src/pipeline/estimate/estimate.ts'
    const module = (await import(path)) as {
      estimateInputTokens: (
        endpoint: 'chat',
        model: string,
        body: Record<string, unknown>,
      ) => number
    }
    estimate = (body) => module.estimateInputTokens('chat', MODEL, body)
    source = 'src/pipeline/estimate/estimate.ts estimateInputTokens'
  } catch {
    try {
      const { countTokens } = await import('gpt-tokenizer/encoding/o200k_base')
      estimate = (body) => countTokens(JSON.stringify(body.messages))
      source = 'gpt-tokenizer o200k_base countTokens (exact)'
    } catch {
      return null
    }
  }
  // Parsing is part of each call: the gateway sees a fresh body every request.
  const once = () => {
    const t0 = performance.now()
    const tokens = estimate(JSON.parse(bodies.long) as Record<string, unknown>)
    return { tokens, ms: performance.now() - t0 }
  }
  const cold = once()
  const warm: number[] = []
  for (let i = 0; i < 30; i++) warm.push(once().ms)
  return { source, tokens: cold.tokens, coldMs: cold.ms, warmMedianMs: median(warm) }
}
