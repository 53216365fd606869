import { expect } from 'vitest'
import { mintSignInLink } from '../../src/web/sign-in.ts'
import type { Harness } from './harness.ts'

/**
 * A browser's session without a browser: a sign-in link opened and its button
 * pressed over a real socket, the session cookie kept, and pages fetched and
 * forms posted as a same-site browser would (Origin of the gateway, the page's
 * CSRF token).
 */
export interface WebClient {
  cookie: string
  get(path: string, headers?: Record<string, string>): Promise<Response>
  /** A page's HTML, asserted 200. */
  page(path: string): Promise<string>
  /** The CSRF token of this session, read from a page's form. */
  csrf(): Promise<string>
  post(
    path: string,
    form: Record<string, string>,
    options?: { origin?: string | null; csrf?: string | null },
  ): Promise<Response>
}

export async function signInWeb(
  h: Harness,
  base: string,
  userId: string,
  options: { role?: 'admin' | 'user'; email?: string; lang?: 'en' | 'ru' } = {},
): Promise<WebClient> {
  const link = await mintSignInLink(h.deps, userId, {
    baseUrl: base,
    role: options.role,
    email: options.email,
  })
  // As a person does: open the link (a page with a button, nothing spent), press the button.
  const opened = await fetch(link.url, { redirect: 'manual' })
  expect(opened.status, await opened.text()).toBe(200)
  const res = await fetch(link.url, {
    method: 'POST',
    redirect: 'manual',
    headers: { origin: base },
  })
  expect(res.status, await res.text()).toBe(303)
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!
  const language = { 'accept-language': options.lang ?? 'en' }
  const client: WebClient = {
    cookie,
    get: (path, headers = {}) =>
      fetch(`${base}${path}`, { redirect: 'manual', headers: { cookie, ...language, ...headers } }),
    async page(path) {
      const response = await client.get(path)
      const html = await response.text()
      expect(response.status, html).toBe(200)
      return html
    },
    async csrf() {
      const html = await client.page('/billing')
      return /name="_csrf" value="([^"]+)"/.exec(html)![1]!
    },
    async post(path, form, { origin = base, csrf } = {}) {
      const token = csrf === undefined ? await client.csrf() : csrf
      const body = new URLSearchParams(form)
      if (token !== null) body.set('_csrf', token)
      return fetch(`${base}${path}`, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          cookie,
          ...language,
          'content-type': 'application/x-www-form-urlencoded',
          ...(origin !== null ? { origin } : {}),
        },
        body,
      })
    },
  }
  return client
}

/** The visible text of an HTML page (tags dropped, entities of numbers kept), for assertions. */
export function textOf(html: string): string {
  return html
    .replace(/<script[\s\S]*?<\/script>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;|\u00a0|\u202f/g, ' ')
    .replace(/\s+/g, ' ')
}
