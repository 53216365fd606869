import { syncConfiguredPlans } from '../billing/plans.sync.ts'
import type { Deps } from '../deps.ts'

// The plans work extends this with `plans import FILE.json` and `plans export`.
export async function runPlansCommand(deps: Deps, args: string[]): Promise<void> {
  if (args[0] === 'sync') return syncConfiguredPlans(deps)
  throw new Error(`unknown plans command: ${args.join(' ')}`)
}
