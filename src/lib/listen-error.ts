/**
 * The one line a person needs when the port is taken, instead of a stack trace:
 * which port, and how to start on another (`command` is how they started, e.g. `npm start`).
 * null for any other error, which keeps its stack.
 */
export function addressInUseHint(error: unknown, command: string): string | null {
  const failure = error as { code?: unknown; port?: unknown } | null
  if (failure?.code !== 'EADDRINUSE') return null
  const port = typeof failure.port === 'number' ? failure.port : null
  const next = port === null ? 3001 : port + 1
  const which = port === null ? 'The port' : `Port ${port}`
  return `${which} is already in use (another gateway or demo running?): stop it, or start on another port: PORT=${next} ${command}`
}
