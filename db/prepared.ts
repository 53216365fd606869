import { CompiledQuery, type Kysely, PostgresAdapter, type QueryResult } from 'kysely'

/**
 * The SQL texts of prepared() queries on PostgreSQL, each with a statement
 * name. db/client.ts runs these as named statements, so each connection
 * parses and plans them once instead of on every call (planning alone was
 * about 0.16 ms of server CPU per hot statement). Only these: they are a
 * bounded set, while other queries' texts vary (IN lists) and a named
 * statement lives as long as its connection.
 */
export const namedStatements = new Map<string, string>()

/** A query builder or a sql`` template: both compile (the template needs the db). */
interface Compilable<Row> {
  compile(db: Kysely<any>): CompiledQuery<Row>
}

/**
 * A query built and compiled once per dialect, then run with fresh values.
 * Kysely otherwise rebuilds and recompiles the same SQL on every call, which
 * on the proxy's hot path costs more than SQLite takes to run it.
 *
 * `build` receives one placeholder per argument and must use each where the
 * value goes; the compiled SQL's parameters are mapped back to arguments by
 * those placeholders, so any Kysely query (builder or sql``) works unchanged.
 */
/** A prepared() query: run it through Kysely, or take its compiled text to run elsewhere. */
export interface PreparedQuery<Args extends unknown[], Row> {
  (db: Kysely<any>, ...args: Args): Promise<QueryResult<Row>>
  /**
   * The SQL text for `db`'s dialect and, per parameter, the index of the argument it
   * binds: what a raw better-sqlite3 statement needs (src/ledger/store.sqlite.ts).
   */
  compiled(db: Kysely<any>, arity: number): { sql: string; order: number[] }
}

export function prepared<Args extends unknown[], Row>(
  build: (db: Kysely<any>, ...args: Args) => Compilable<Row>,
): PreparedQuery<Args, Row> {
  const compiled = new Map<unknown, { sql: string; order: number[] }>()

  function compile(db: Kysely<any>, arity: number) {
    const dialect = db.getExecutor().adapter.constructor
    let entry = compiled.get(dialect)
    if (!entry) {
      const markers = Array.from({ length: arity }, (_, i) => `\u0000arg${i}\u0000`)
      const query = build(db, ...(markers as Args)).compile(db)
      const order = query.parameters.map((value) => {
        const index = markers.indexOf(value as string)
        if (index === -1) throw new Error(`prepared query has a constant parameter: ${query.sql}`)
        return index
      })
      entry = { sql: query.sql, order }
      compiled.set(dialect, entry)
      if (db.getExecutor().adapter instanceof PostgresAdapter && !namedStatements.has(query.sql)) {
        namedStatements.set(query.sql, `gateway_${namedStatements.size + 1}`)
      }
    }
    return entry
  }

  const run = async (db: Kysely<any>, ...args: Args): Promise<QueryResult<Row>> => {
    const { sql, order } = compile(db, args.length)
    return db.executeQuery<Row>(
      CompiledQuery.raw(
        sql,
        order.map((i) => args[i]),
      ),
    )
  }
  return Object.assign(run, { compiled: compile })
}
