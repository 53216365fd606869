import { parseArgs } from 'node:util'
import { createDb } from '../db/client.ts'
import { migrationStatus } from '../db/migrate.ts'
import { createApiKey } from './auth/api-keys.service.ts'
import { upsertUser } from './auth/users.repo.ts'
import { createDeps, createRootLogger, loadFromEnvironment, openDatabase } from './boot.ts'
import { runPlansCommand } from './cli/plans.ts'
import { mintToken } from './cli/token.ts'
import type { Deps } from './deps.ts'
import { nowSeconds } from './lib/clock.ts'
import { mintSignInLink } from './web/sign-in.ts'

/** The CLI's answers are its output, not log lines: they go to stdout/stderr as plain text. */
const print = (line: string) => process.stdout.write(`${line}\n`)
const printError = (line: string) => process.stderr.write(`${line}\n`)

const USAGE = `usage: gateway <command>
  start                         start the gateway (same as npm start)
  migrate                       apply pending migrations
  db status                     list applied and pending migrations
  plans sync                    upsert the plans of gateway.config.ts
  plans import FILE.json        upsert the plans in a JSON array file
  plans export                  print all plans as JSON
  token --sub ID [--role admin] [--email E] [--ttl SECONDS]
                                mint a JWT signed with JWT_SECRET
  keys create --user ID --name NAME [--role admin] [--admin] [--acts-for-users]
              [--expires-in-days N]
                                create a gateway API key for a user (shown once);
                                --admin: an admin key (the user must have role admin);
                                --acts-for-users: a trusted service key (docs/open-webui.md)
  link --user ID [--role admin] [--email E]
                                print a one-time sign-in link to the pages (/billing, /admin)`

async function withDeps<T>(run: (deps: Deps) => Promise<T>): Promise<T> {
  const loaded = await loadFromEnvironment(process.env)
  const logger = createRootLogger(loaded)
  const database = await openDatabase(loaded, logger)
  const deps = createDeps({ ...loaded, database, logger })
  try {
    return await run(deps)
  } finally {
    await deps.upstreams.close()
    await database.close()
  }
}

/** A status command changes nothing: it opens the database without migrating it. */
async function printMigrationStatus() {
  const loaded = await loadFromEnvironment(process.env)
  const database = createDb(loaded.config.database.url)
  try {
    const status = await migrationStatus(database.db)
    for (const m of status.applied) print(`applied  ${m.name}  ${m.executedAt.toISOString()}`)
    for (const name of status.pending) print(`pending  ${name}`)
    print(`${status.applied.length} applied, ${status.pending.length} pending`)
  } finally {
    await database.close()
  }
}

async function main(argv: string[]) {
  const [command, ...rest] = argv
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      sub: { type: 'string' },
      role: { type: 'string' },
      email: { type: 'string' },
      ttl: { type: 'string' },
      user: { type: 'string' },
      name: { type: 'string' },
      admin: { type: 'boolean' },
      'acts-for-users': { type: 'boolean' },
      'expires-in-days': { type: 'string' },
    },
  })
  switch (command) {
    case 'start':
      await import('./main.ts')
      return
    case 'migrate':
      await withDeps(async () => {})
      return
    case 'db':
      if (positionals[0] !== 'status') break
      await printMigrationStatus()
      return
    case 'plans':
      await withDeps((deps) => runPlansCommand(deps, positionals))
      return
    case 'token': {
      const loaded = await loadFromEnvironment(process.env)
      print(await mintToken(loaded.secrets, values))
      return
    }
    case 'keys':
      if (positionals[0] !== 'create' || !values.user || !values.name) break
      await withDeps(async (deps) => {
        const user = values.user!
        const role = values.role === 'admin' ? 'admin' : 'user'
        await upsertUser(deps.database.db, {
          id: user,
          email: values.email ?? null,
          role,
          now: nowSeconds(deps.clock),
        })
        // The operator at the console may give any flag: the CLI acts as an administrator.
        const operator = {
          userId: user,
          email: null,
          role: 'admin' as const,
          via: { kind: 'jwt' as const },
        }
        const days = values['expires-in-days']
        if (days !== undefined && !/^[1-9]\d{0,3}$/.test(days)) {
          throw new Error('--expires-in-days takes a whole number of days (1 to 3650)')
        }
        const created = await createApiKey(deps, operator, {
          name: values.name!,
          admin: values.admin,
          actsForUsers: values['acts-for-users'],
          expiresInDays: days === undefined ? undefined : Number(days),
        })
        print(JSON.stringify(created, null, 2))
      })
      return
    case 'link':
      if (!values.user) break
      await withDeps(async (deps) => {
        const role =
          values.role === undefined ? undefined : values.role === 'admin' ? 'admin' : 'user'
        const link = await mintSignInLink(deps, values.user!, { role, email: values.email })
        print(link.url)
        printError(`single use, valid until ${new Date(link.expiresAt * 1000).toISOString()}`)
      })
      return
  }
  printError(USAGE)
  process.exitCode = 2
}

main(process.argv.slice(2)).catch((error) => {
  printError(`gateway: ${(error as Error).message}`)
  process.exitCode = 1
})
