import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { freePort, startProcess } from '../helpers/spawn-gateway.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'
import { audit } from './audit.ts'
import {
  type Answer,
  type Cluster,
  chat,
  JWT_SECRET,
  planConfig,
  sleep,
  startCluster,
  untilNothingReserved,
} from './cluster.ts'

/**
 * SQLite's file turns read-only. Root ignores file modes (CAP_DAC_OVERRIDE: a
 * chmod 0444 file still opens for writing) and tests often run as root, so the
 * file is made immutable (`chattr +i`: refused even to root, on ext4, xfs and
 * btrfs; it needs CAP_LINUX_IMMUTABLE). A non-root run uses chmod 0444, which
 * is enough for a process that opens the file afterwards but not for one that
 * has it open already; where neither applies the case is skipped with the reason.
 *
 * - Under traffic: the database file and its WAL are made immutable for 3 s
 *   while 8 clients send (half streams). Every write fails at once
 *   (SQLITE_IOERR_WRITE; no lock to wait for): requests get 200 or the 503
 *   `service_unavailable` envelope, never a 500 or a hang; the gateway recovers
 *   by itself when the file is writable again, and the audit holds.
 * - A gateway started on a read-only file (SQLite opens it read-only, every
 *   write is SQLITE_READONLY) stops at once with the reason: it cannot record
 *   anything, so it must not serve.
 */
const BOUND_MS = 10_000
const READ_ONLY_MS = 3_000

type Protection = { kind: 'chattr' | 'chmod'; undo(): void } | { kind: 'none'; reason: string }

/** Makes the files read-only for this process's user (root included); `undo` restores them. */
function protect(paths: string[], needsOpenFilesRefused: boolean): Protection {
  const files = paths.filter((p) => existsSync(p))
  if (process.getuid?.() !== 0) {
    if (needsOpenFilesRefused) {
      return { kind: 'none', reason: 'chmod does not stop a process that has the file open' }
    }
    for (const f of files) chmodSync(f, 0o444)
    return {
      kind: 'chmod',
      undo: () => {
        for (const f of files) chmodSync(f, 0o644)
      },
    }
  }
  try {
    execFileSync('chattr', ['+i', ...files], { stdio: 'pipe' })
  } catch (error) {
    return { kind: 'none', reason: `root, and chattr +i failed: ${(error as Error).message}` }
  }
  return {
    kind: 'chattr',
    undo: () => execFileSync('chattr', ['-i', ...files], { stdio: 'pipe' }),
  }
}

describe.skipIf(TEST_DIALECT !== 'sqlite')('reliability: a read-only SQLite file', () => {
  let cluster: Cluster | undefined
  let undo: (() => void) | undefined
  afterEach(async () => {
    // Immutable files cannot be removed: restore them before the database is dropped.
    undo?.()
    undo = undefined
    await cluster?.close()
    cluster = undefined
  })

  it('turned read-only under traffic: 200 or a clear 503 at once, recovery by itself, the audit holds', async (ctx) => {
    cluster = await startCluster(
      planConfig(
        { requests: 100_000 },
        { quota: { heartbeatIntervalMs: 200, ownerDeadAfterSeconds: 2 } },
      ),
      1,
    )
    const [replica] = cluster.replicas as [Cluster['replicas'][0]]
    const path = cluster.database.url.replace(/^sqlite:/, '')
    const token = await cluster.token('readonly')
    const ok = await chat(replica.base, token)
    expect('status' in ok && ok.status, JSON.stringify(ok)).toBe(200)

    let running = true
    const answers: Array<Answer | Error> = []
    const clients = Array.from({ length: 8 }, async (_, i) => {
      while (running) {
        answers.push(
          await chat(replica.base, token, {
            stream: i % 2 === 0,
            signal: AbortSignal.timeout(BOUND_MS),
          }),
        )
      }
    })
    await sleep(500)
    // The WAL is where writes go; the shared-memory index (-shm) is left alone: it is mapped
    // into memory, and a write fault on an immutable mapping would kill the process (SIGBUS).
    const protection = protect([path, `${path}-wal`], true)
    if (protection.kind === 'none') {
      running = false
      await Promise.all(clients)
      ctx.skip(protection.reason)
      return
    }
    undo = protection.undo
    await sleep(READ_ONLY_MS)
    protection.undo()
    undo = undefined
    running = false
    await Promise.all(clients)

    const statuses = answers.map((a) => ('status' in a ? a.status : a.message))
    const byStatus = Object.fromEntries(
      [...new Set(statuses)].map((s) => [s, statuses.filter((x) => x === s).length]),
    )
    const unavailable = answers.filter((a): a is Answer => 'status' in a && a.status === 503)
    expect(
      statuses.every((s) => s === 200 || s === 503),
      `${JSON.stringify(byStatus)} ${replica.gateway.output().slice(-3000)}`,
    ).toBe(true)
    expect(unavailable.length, JSON.stringify(byStatus)).toBeGreaterThan(0)
    for (const answer of unavailable) {
      expect(JSON.parse(answer.text).error.code).toBe('service_unavailable')
    }
    const slowest = Math.max(...answers.map((a) => ('ms' in a ? a.ms : BOUND_MS)))
    expect(slowest).toBeLessThan(BOUND_MS)

    const after = await Promise.all(Array.from({ length: 10 }, () => chat(replica.base, token)))
    expect(after.map((a) => ('status' in a ? a.status : a.message))).toEqual(Array(10).fill(200))

    await untilNothingReserved(cluster.db, 20_000)
    const served = cluster.upstream.requests.length
    const report = await audit(cluster.db.db, {
      served: { requests: served, tokens_input: served * 12, tokens_output: served * 7 },
    })
    expect(report.violations, replica.gateway.output().slice(-3000)).toEqual([])
    process.stdout.write(
      `[reliability sqlite read-only] ${answers.length} requests, file and WAL read-only (${protection.kind}) for ${READ_ONLY_MS} ms: ${JSON.stringify(byStatus)}, slowest ${slowest} ms; upstream served ${served}, billed ${report.billed.requests}; audit ok\n`,
    )
  }, 240_000)

  it('a gateway started on a read-only file stops at once with the reason', async (ctx) => {
    cluster = await startCluster(planConfig({ requests: 100 }), 1)
    const path = cluster.database.url.replace(/^sqlite:/, '')
    // A clean stop checkpoints the WAL into the file and removes it.
    const [first] = cluster.replicas.splice(0) as [Cluster['replicas'][0]]
    await first.gateway.stop('SIGTERM')
    const protection = protect([path, `${path}-wal`], false)
    if (protection.kind === 'none') {
      ctx.skip(protection.reason)
      return
    }
    undo = protection.undo

    const startedAt = Date.now()
    const gateway = startProcess('src/main.ts', [], {
      DATABASE_URL: cluster.database.url,
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      JWT_SECRET,
      GATEWAY_CONFIG: `${cluster.database.dir}/reliability.config.ts`,
      UPSTREAM_BASE_URL: cluster.upstream.url,
      UPSTREAM_API_KEY: 'sk-upstream-reliability',
    })
    const timer = setTimeout(() => gateway.child.kill('SIGKILL'), 60_000)
    const code = await gateway.exited
    clearTimeout(timer)
    const ms = Date.now() - startedAt
    expect(code, gateway.output()).toBe(1)
    expect(gateway.output()).toMatch(/gateway failed to start: .*(readonly|read-only)/is)
    process.stdout.write(
      `[reliability sqlite read-only] a gateway started on a read-only file (${protection.kind}) exited ${code} after ${ms} ms: ${gateway.output().split('\n')[0]!.slice(0, 200)}\n`,
    )
  }, 120_000)
})
