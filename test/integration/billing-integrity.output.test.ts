import { countTokens } from 'gpt-tokenizer/encoding/o200k_base'
import { afterEach, describe, expect, it } from 'vitest'
import { AUDIO_OUTPUT_BYTES_PER_TOKEN } from '../../src/pipeline/estimate/output-text.ts'
import { type ProxyFixture, startProxyFixture } from '../helpers/proxy-fixture.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

/**
 * A stream the client cuts is billed the output it was delivered
 * (docs/billing-integrity.md), whatever the modality: audio (its transcript
 * and its data) as well as text. The fake upstream streams pcm16 audio deltas
 * as OpenAI does; the client leaves mid-audio, before the usage chunk.
 */
let f: ProxyFixture | undefined
afterEach(async () => {
  await f?.close()
  f = undefined
})

function gate() {
  let open: () => void = () => {}
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  return { opened, open }
}

interface AudioDelta {
  transcript?: string
  data?: string
}

describe(`billing integrity: output delivered in audio (${TEST_DIALECT})`, () => {
  it('a stream the client cuts mid-audio is billed its delivered transcript and audio, not 0', async () => {
    f = await startProxyFixture()
    const held = gate()
    // One second of pcm16 (24 kHz, 2 bytes a sample) per event; the usage would say 2,020.
    f.upstream.once({
      text: 'Golden retrievers are gentle, patient family dogs.',
      chunks: 4,
      audioBytesPerChunk: 48_000,
      usage: { input: 20, output: 2020 },
      beforeChunk: (i) => (i === 2 ? held.opened : undefined),
    })
    const controller = new AbortController()
    const response = await f.fetch('listener', '/v1/chat/completions', {
      method: 'POST',
      json: {
        model: 'gpt-4o-mini',
        modalities: ['text', 'audio'],
        audio: { voice: 'alloy', format: 'pcm16' },
        messages: [{ role: 'user', content: 'Is a golden retriever a good family dog?' }],
        stream: true,
      },
      signal: controller.signal,
    })
    expect(response.status).toBe(200)
    // Read until two audio events arrived, then leave.
    const reader = response.body!.getReader()
    const decoder = new TextDecoder()
    let sse = ''
    const deltas: AudioDelta[] = []
    while (deltas.length < 2) {
      const { value, done } = await reader.read()
      if (done) break
      sse += decoder.decode(value, { stream: true })
      const events = sse.split('\n\n')
      sse = events.pop()!
      for (const event of events) {
        if (!event.startsWith('data: {')) continue
        const audio = JSON.parse(event.slice(6)).choices?.[0]?.delta?.audio as AudioDelta
        if (audio) deltas.push(audio)
      }
    }
    controller.abort()
    expect(deltas.length).toBe(2)
    const transcript = deltas.map((d) => d.transcript ?? '').join('')
    const audioBytes = deltas.reduce(
      (sum, d) => sum + Buffer.from(d.data ?? '', 'base64').length,
      0,
    )
    expect(audioBytes).toBe(96_000)
    const delivered = countTokens(transcript) + Math.ceil(audioBytes / AUDIO_OUTPUT_BYTES_PER_TOKEN)

    const ledger = await f.settled('listener', 5000)
    held.open() // only now: the third event must not leave before the gateway saw the client go
    expect(ledger.used.requests, JSON.stringify(ledger)).toBe(1)
    // Before: 0 (only delta.content was counted).
    expect(ledger.used.tokens_output, JSON.stringify(ledger)).toBe(delivered)
    expect(ledger.used.tokens_output).toBeGreaterThan(80)
    const output = ledger.usage.find((row) => row.metric === 'tokens_output')
    expect(output?.estimated).toBe(1)
    expect(ledger.reserved).toEqual({ requests: 0, tokens_input: 0, tokens_output: 0 })
  })
})
