import type { ClientConnection } from './proxy-request.ts'

/**
 * "The client went away": the part of AbortSignal the proxy and undici use (undici
 * takes any object with addEventListener as a request's signal). An AbortSignal is
 * one; on the hot path it is the lighter ClientGoneSignal below.
 */
export interface ClientGone {
  readonly aborted: boolean
  readonly reason: unknown
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void
  removeEventListener(type: 'abort', listener: () => void): void
}

/**
 * A signal that aborts when the client goes away before the answer is
 * complete, to pass to undici so the upstream call stops too.
 */
export function clientGoneSignal(connection: ClientConnection): ClientGone {
  // Without a socket (app.request()), the Request's own signal.
  if (!connection.node) return connection.web.signal
  const signal = new ClientGoneSignal()
  const { outgoing } = connection.node
  if (outgoing.destroyed) signal.abort(new Error('Client connection closed'))
  else
    outgoing.once('close', () => {
      if (!outgoing.writableFinished) signal.abort(new Error('Client connection closed'))
    })
  return signal
}

/**
 * An abort signal without EventTarget: an AbortController and its AbortSignal cost
 * a proxied request about as much as its three prom-client metrics. Listeners run
 * once, in the order added; one that throws is reported as an uncaught exception
 * after the others ran, as an EventTarget does.
 */
export class ClientGoneSignal implements ClientGone {
  aborted = false
  reason: unknown = undefined
  #listeners: Array<() => void> = []

  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.aborted && !this.#listeners.includes(listener)) this.#listeners.push(listener)
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const at = this.#listeners.indexOf(listener)
    if (at !== -1) this.#listeners.splice(at, 1)
  }

  abort(reason: unknown): void {
    if (this.aborted) return
    this.aborted = true
    this.reason = reason
    const listeners = this.#listeners
    this.#listeners = []
    for (const listener of listeners) {
      try {
        listener()
      } catch (error) {
        process.nextTick(() => {
          throw error
        })
      }
    }
  }
}
