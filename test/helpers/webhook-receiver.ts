import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * The host application's end of the outgoing webhooks, on 127.0.0.1: records each delivery
 * (headers and raw body) and answers the statuses it is told, one per delivery, then 200.
 */
export interface WebhookReceiver {
  url: string
  received: Array<{ headers: IncomingHttpHeaders; body: string }>
  /** The statuses of the next deliveries, in order (e.g. [500, 503]); 200 after them. */
  answer(statuses: number[]): void
  close(): Promise<void>
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: WebhookReceiver['received'] = []
  let statuses: number[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') })
      res.statusCode = statuses.shift() ?? 200
      res.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}/hooks/gateway`,
    received,
    answer: (next) => {
      statuses = [...next]
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
