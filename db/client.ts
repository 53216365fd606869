import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import SqliteDatabase from 'better-sqlite3'
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  PostgresDialect,
  type PostgresPool,
  type PostgresPoolClient,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
} from 'kysely'
import pg from 'pg'
import { namedStatements } from './prepared.ts'
import type { DB } from './tables.ts'

export type Dialect = 'sqlite' | 'postgres'

export interface Database {
  db: Kysely<DB>
  dialect: Dialect
  /**
   * SQLite only: the connection Kysely runs on, for the ledger's synchronous
   * transactions (src/ledger/store.sqlite.ts). Whoever uses it must not run while
   * a Kysely transaction is open on it (Kysely's own spans awaits): see sqliteExclusive.
   */
  sqlite?: SqliteHandle
  close(): Promise<void>
}

export type SqliteHandle = SqliteDatabase.Database

export interface DbOptions {
  /** PostgreSQL schema to use (tests give each run its own). */
  schema?: string
  /** PostgreSQL pool size. */
  poolSize?: number
}

/**
 * Opens the database named by a DATABASE_URL: `postgres://...` (shared by
 * replicas), else `sqlite:PATH` or a plain path (embedded). The only place
 * that knows which dialect is in use.
 */
export function createDb(url: string, options: DbOptions = {}): Database {
  if (/^postgres(ql)?:\/\//.test(url)) return openPostgres(url, options)
  return openSqlite(url.replace(/^sqlite:(\/\/)?/, ''))
}

function openSqlite(path: string): Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const handle = new SqliteDatabase(path)
  handle.pragma('journal_mode = WAL')
  // Another process (the CLI, a second gateway) may hold the write lock briefly: wait, don't fail.
  handle.pragma('busy_timeout = 5000')
  handle.pragma('synchronous = NORMAL')
  handle.pragma('foreign_keys = ON')
  const db = new Kysely<DB>({
    dialect: new ImmediateSqliteDialect(
      { database: withStatementCache(handle) },
      () => handle.inTransaction,
    ),
  })
  return { db, dialect: 'sqlite', sqlite: handle, close: () => db.destroy() }
}

function openPostgres(url: string, { schema, poolSize = 10 }: DbOptions): Database {
  // int8 (bigint) columns hold epoch seconds, kopecks and token counts: all far below 2^53.
  const types = {
    getTypeParser: (oid: number, format?: 'text' | 'binary') =>
      oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format as 'text'),
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    // A server that accepts no connection (restarting, full) fails the request in 10 s with a 503
    // (src/http/on-error.ts) instead of queueing it without bound.
    connectionTimeoutMillis: 10_000,
    types,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  })
  // An idle client whose backend dies (server restart, pg_terminate_backend) is emitted as an
  // 'error' on the pool; unheard, it would kill the process. The pool drops that client by itself
  // and the next query opens a new one (test/reliability/database-outage.test.ts).
  pool.on('error', () => {})
  // Checked out, a client has no pool listener: a backend terminated between two statements
  // would be an unheard 'error' that kills the process; the statement in flight fails (503).
  // The listener goes on at birth ('connect', before the pool hands the client out), not at
  // checkout: a termination that arrives in the same TCP read as the connection's first
  // ReadyForQuery is parsed before the checkout's promise continues, and killed a gateway
  // under backends terminated every 150 ms (test/integration/pg-terminated-at-connect.test.ts).
  pool.on('connect', (client) => client.on('error', () => {}))
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: withNamedStatements(pool) }) })
  return { db, dialect: 'postgres', close: () => db.destroy() }
}

/**
 * Kysely sends every query unnamed, so PostgreSQL parses and plans it on each
 * call. The pool's clients are wrapped so that the hot queries (prepared(),
 * db/prepared.ts) go as named statements: pg prepares each once per
 * connection and afterwards only binds and executes it.
 */
function withNamedStatements(pool: pg.Pool): PostgresPool {
  const wrapped = new WeakMap<pg.PoolClient, PostgresPoolClient>()
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    // Kysely passes (sql, parameters), or a cursor object for streamed queries.
    const query = (sql: string | pg.Submittable, values?: unknown[]) => {
      const name = typeof sql === 'string' ? namedStatements.get(sql) : undefined
      if (name) return client.query({ name, text: sql as string, values })
      return typeof sql === 'string' ? client.query(sql, values) : client.query(sql)
    }
    return {
      query: query as unknown as PostgresPoolClient['query'],
      release: (destroy?: boolean) => client.release(destroy),
    }
  }
  return {
    async connect() {
      const client = await pool.connect()
      let adapter = wrapped.get(client)
      if (!adapter) {
        adapter = wrap(client)
        wrapped.set(client, adapter)
      }
      return adapter
    },
    end: () => pool.end(),
  }
}

/** How many distinct SQL texts keep their prepared statement (the app has a few dozen). */
const STATEMENT_CACHE_SIZE = 500

/**
 * Kysely prepares every query anew; with better-sqlite3 that is most of a
 * small query's cost. The hot path repeats a handful of SQL texts, so their
 * statements are prepared once and reused (safe: Kysely runs one query at a
 * time on the single connection).
 */
function withStatementCache(handle: SqliteDatabase.Database): SqliteDialectConfig['database'] {
  const statements = new Map<string, SqliteDatabase.Statement>()
  return {
    close: () => handle.close(),
    prepare(sql: string) {
      let statement = statements.get(sql)
      if (!statement) {
        if (statements.size >= STATEMENT_CACHE_SIZE) statements.clear()
        statement = handle.prepare(sql)
        statements.set(sql, statement)
      }
      return statement
    },
  } as SqliteDialectConfig['database']
}

/**
 * Transactions that take the write lock when they begin (BEGIN IMMEDIATE).
 * With plain BEGIN, a transaction that reads first and writes later cannot wait
 * for another process's write lock: SQLite fails it at once with SQLITE_BUSY,
 * busy_timeout or not. Immediate ones simply queue for the lock (a second
 * gateway process, or the CLI, on the same file).
 */
class ImmediateSqliteDialect extends SqliteDialect {
  readonly #options: SqliteDialectConfig
  readonly #inTransaction: () => boolean

  constructor(options: SqliteDialectConfig, inTransaction: () => boolean) {
    super(options)
    this.#options = options
    this.#inTransaction = inTransaction
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#options, this.#inTransaction)
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  readonly #inTransaction: () => boolean

  constructor(options: SqliteDialectConfig, inTransaction: () => boolean) {
    super(options)
    this.#inTransaction = inTransaction
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'))
  }

  /**
   * SQLite rolls a transaction back by itself when a write or the COMMIT fails
   * with SQLITE_IOERR, SQLITE_FULL or SQLITE_BUSY (a read-only or full disk); a
   * ROLLBACK then fails with "no transaction is active", and that error would
   * replace the real one (a 500 instead of the 503 for a database that cannot
   * write, test/reliability/sqlite-readonly.test.ts). Nothing is left to undo.
   */
  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if (!this.#inTransaction()) return
    await super.rollbackTransaction(connection)
  }
}

/**
 * Runs `work` (synchronous: it may BEGIN and COMMIT on the handle itself) on
 * SQLite's one connection while no Kysely transaction is open there. Kysely's
 * SqliteDriver serializes users of the connection with a mutex held from
 * acquireConnection to releaseConnection; a transaction holds it from before its
 * BEGIN until after its COMMIT or ROLLBACK, across every await in between, and
 * between those two the handle reports inTransaction. So when the handle is in
 * no transaction, nothing can interleave with `work` (it never yields) and it
 * runs at once; otherwise it waits for the connection through Kysely
 * (db.connection()), which it gets only after that transaction has ended.
 */
export function onSqliteConnection<T>(
  db: Kysely<DB>,
  handle: SqliteHandle,
  work: () => T,
): Promise<T> {
  if (handle.inTransaction) return db.connection().execute(async () => work())
  try {
    return Promise.resolve(work())
  } catch (error) {
    return Promise.reject(error)
  }
}
