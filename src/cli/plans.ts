import { readFile } from 'node:fs/promises'
import type { BillingDeps } from '../billing/billing-deps.ts'
import { planToJson } from '../billing/plan.ts'
import { listAllPlans, upsertPlans } from '../billing/plans.service.ts'
import { parsePlanSeeds, syncConfiguredPlans } from '../billing/plans.sync.ts'

type Write = (text: string) => void
const stdout: Write = (text) => process.stdout.write(text)

/**
 * `gateway plans sync | import FILE.json | export` (what the seed's
 * setup_plans.py did). export prints every plan, inactive ones too, in the
 * POST /plans shape, so `plans export > f.json` then `plans import f.json`
 * on another database reproduces them.
 */
export async function runPlansCommand(
  deps: Pick<
    BillingDeps,
    'clock' | 'config' | 'database' | 'defaultPlan' | 'entitlements' | 'ids' | 'logger'
  >,
  args: string[],
  write = stdout,
): Promise<void> {
  const [command, file] = args
  if (command === 'sync') {
    const result = await syncConfiguredPlans(deps)
    write(`${JSON.stringify(result)}\n`)
    return
  }
  if (command === 'import' && file) {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as unknown
    // An array of plans, or an object holding one ({"plans": [...]} or {"data": [...]}).
    const entries = Array.isArray(parsed)
      ? parsed
      : ((parsed as { plans?: unknown; data?: unknown } | null)?.plans ??
        (parsed as { data?: unknown } | null)?.data)
    const result = await upsertPlans(deps, parsePlanSeeds(entries, file))
    write(`${JSON.stringify(result)}\n`)
    return
  }
  if (command === 'export') {
    // What each plan itself sets (no gateway defaults), so an import elsewhere keeps its own.
    const plans = (await listAllPlans(deps)).map((plan) => planToJson(plan))
    write(`${JSON.stringify(plans, null, 2)}\n`)
    return
  }
  throw new Error(`unknown plans command: ${args.join(' ')} (sync | import FILE.json | export)`)
}
