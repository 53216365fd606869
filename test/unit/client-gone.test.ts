import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Pool } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ClientGoneSignal } from '../../src/pipeline/request/client-gone.ts'

/** An upstream that answers its headers at once and its body never: only an abort ends the call. */
let server: Server
let pool: Pool
beforeAll(async () => {
  server = createServer((_req, res) => {
    if (_req.url === '/slow-headers') return
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write('data: one\n\n')
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
})
afterAll(async () => {
  await pool.destroy()
  server.closeAllConnections()
  server.close()
})

const request = (path: string, signal: ClientGoneSignal) =>
  pool.request({ method: 'GET', path, signal: signal as unknown as AbortSignal })

describe('ClientGoneSignal (the client-gone signal handed to undici)', () => {
  it('aborts an upstream call waiting for its headers, with the reason given', async () => {
    const signal = new ClientGoneSignal()
    const pending = request('/slow-headers', signal)
    setTimeout(() => signal.abort(new Error('Client connection closed')), 20)
    await expect(pending).rejects.toThrow('Client connection closed')
  })

  it('ends an upstream body being read', async () => {
    const signal = new ClientGoneSignal()
    const response = await request('/stream', signal)
    const reading = (async () => {
      for await (const _chunk of response.body) signal.abort(new Error('gone mid-stream'))
    })()
    await expect(reading).rejects.toThrow('gone mid-stream')
  })

  it('refuses at once a call whose client already left', async () => {
    const signal = new ClientGoneSignal()
    signal.abort(new Error('left before'))
    await expect(request('/stream', signal)).rejects.toThrow('left before')
  })

  it('runs each listener once, in order, not after removal; a throwing one does not stop the rest', async () => {
    const signal = new ClientGoneSignal()
    const calls: string[] = []
    const a = () => calls.push('a')
    const b = () => calls.push('b')
    const thrower = () => {
      throw new Error('listener bug')
    }
    signal.addEventListener('abort', a)
    signal.addEventListener('abort', a)
    signal.addEventListener('abort', thrower)
    signal.addEventListener('abort', b)
    signal.addEventListener('abort', () => calls.push('removed'))
    const removed = () => calls.push('never')
    signal.addEventListener('abort', removed)
    signal.removeEventListener('abort', removed)
    const uncaught = new Promise<unknown>((resolve) => process.once('uncaughtException', resolve))
    signal.abort('first')
    signal.abort('second')
    expect(calls).toEqual(['a', 'b', 'removed'])
    expect(signal.aborted).toBe(true)
    expect(signal.reason).toBe('first')
    expect(await uncaught).toMatchObject({ message: 'listener bug' })
  })
})
