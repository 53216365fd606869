import { createInterface } from 'node:readline'

/**
 * What the demo does while it runs, at a key press: `l` prints fresh sign-in links (each link
 * works once, so a newcomer who used theirs needs another). On a terminal one key is enough
 * (raw mode, so Ctrl+C is passed on as SIGINT by hand); from a pipe, a line `l` does it.
 */
export function listenForCommands(
  input: NodeJS.ReadStream,
  commands: { links: () => Promise<void> },
  onError: (error: unknown) => void,
): () => void {
  const run = (command: string) => {
    if (command === 'l' || command === 'links') commands.links().catch(onError)
  }
  if (input.isTTY) {
    input.setRawMode(true)
    const onData = (chunk: Buffer) => {
      const key = chunk.toString('utf8')
      if (key === '\u0003') process.kill(process.pid, 'SIGINT')
      else run(key.trim().toLowerCase())
    }
    input.on('data', onData)
    input.resume()
    return () => {
      input.off('data', onData)
      input.setRawMode(false)
      input.pause()
    }
  }
  const lines = createInterface({ input })
  lines.on('line', (line) => run(line.trim().toLowerCase()))
  return () => lines.close()
}
