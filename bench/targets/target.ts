/** Something the load is pointed at: a process (whose CPU and RSS are measured) and the headers to send. */
export interface Target {
  /** Short name in tables: direct, floor, sqlite, postgres, sqlite-key. */
  name: string
  kind: 'direct' | 'floor' | 'gateway'
  pid: number
  /** Origin, e.g. http://127.0.0.1:4321 */
  origin: string
  headers: Record<string, string>
  /** The process's inspector (127.0.0.1), used only to read the heap in the memory scenario. */
  inspectPort?: number
  /** PostgreSQL server processes serving this target, whose CPU is counted beside the target's. */
  dbPids?: () => Promise<number[]>
  /** Only these scenarios are run against it (the floor+ledger bounds); all when absent. */
  scenarios?: string[]
  /** One header set per distinct user, for the many-users scenario (gateways only). */
  userHeaders?: Array<Record<string, string>>
}

export const CHAT_PATH = '/v1/chat/completions'
export const UPSTREAM_KEY = 'sk-bench-upstream-key'
