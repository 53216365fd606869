import { createSseMeter } from '../../src/pipeline/stream/sse-meter.ts'

/**
 * The SSE meter alone, in-process: a 200-event chat stream as OpenAI sends it when the gateway
 * forced include_usage (`"usage":null` on every chunk, then the usage-only chunk and [DONE]),
 * pushed through a fresh meter STREAMS times; CPU µs per stream, median of ROUNDS rounds.
 * Four cases: the client asked for usage (bytes pass, the meter reads) or not (the meter also
 * cuts), each with one event a chunk (a paced stream) and 16 KB chunks (an answer that arrived
 * at once). The delivered-output counter runs as in production; its tokenizer counts characters
 * here, so the numbers are the meter's and the SSE reading's, not the tokenizer's. Then the
 * same without the counter's reading (its window never fills, its tokens are not asked): the
 * framing, the usage search and the cutting alone.
 * The chunks are copied before each stream, outside the timing: the meter owns a chunk it is
 * given and may cut it in place. `npx tsx bench/scenarios/sse-meter-micro.ts`
 */
const STREAMS = Number(process.env.METER_STREAMS ?? 10_000)
const ROUNDS = Number(process.env.METER_ROUNDS ?? 5)
const EVENTS = 200

const chunk = (choices: unknown[], usage: unknown) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG', object: 'chat.completion.chunk', created: 1_750_000_000, model: 'gpt-4o-mini-2024-07-18', service_tier: 'default', system_fingerprint: 'fp_34a54ae93c', choices, usage, obfuscation: 'x1Zk' })}\n\n`
const words = ['The', ' quick', ' brown', ' fox', ' jumps', ' over', ' the', ' lazy', ' dog', '.']
const events = [
  chunk(
    [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
    null,
  ),
  ...Array.from({ length: EVENTS - 2 }, (_, i) =>
    chunk(
      [
        {
          index: 0,
          delta: { content: words[i % words.length] },
          logprobs: null,
          finish_reason: null,
        },
      ],
      null,
    ),
  ),
  chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }], null),
  chunk([], { prompt_tokens: 31, completion_tokens: EVENTS, total_tokens: 31 + EVENTS }),
  'data: [DONE]\n\n',
].map((event) => Buffer.from(event))

function inPieces(size: number): Buffer[] {
  const all = Buffer.concat(events)
  const pieces: Buffer[] = []
  for (let at = 0; at < all.length; at += size) pieces.push(all.subarray(at, at + size))
  return pieces
}

const countTokens = (text: string) => text.length

/** The counter's window never fills, so it reads nothing while the stream runs. */
const NEVER_READ = { windowBytes: Number.POSITIVE_INFINITY, countChars: 8192, lineChars: 1 << 20 }

/** CPU µs a stream (process.cpuUsage: the machine's other load does not count, as wall time would). */
function oneRound(chunks: Buffer[], dropUsageChunk: boolean, counted: boolean): number {
  const BATCH = 100
  let spent = 0
  let sink = 0
  for (let done = 0; done < STREAMS; done += BATCH) {
    const copies = Array.from({ length: BATCH }, () => chunks.map((c) => Buffer.from(c)))
    const start = process.cpuUsage()
    for (const stream of copies) {
      const deliveredLimits = counted ? undefined : NEVER_READ
      const meter = createSseMeter({ dropUsageChunk, countTokens, deliveredLimits })
      for (const c of stream) sink += meter.push(c).length
      sink += meter.end().length
      sink += meter.usage() === null ? 0 : 1
      if (counted) sink += meter.deliveredTokens()
    }
    const used = process.cpuUsage(start)
    spent += used.user + used.system
  }
  if (sink === 42) console.log('unlikely')
  return spent / STREAMS
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

const cases: Array<[string, Buffer[], boolean]> = [
  ['usage asked, event a chunk', events, false],
  ['usage cut, event a chunk', events, true],
  ['usage asked, 16 KB chunks', inPieces(16 * 1024), false],
  ['usage cut, 16 KB chunks', inPieces(16 * 1024), true],
]
console.log(
  `${EVENTS} events, ${Buffer.concat(events).length} bytes a stream, ${STREAMS} streams a round`,
)
for (const counted of [true, false]) {
  console.log(
    counted
      ? 'meter with the delivered-output counter:'
      : 'meter alone (the counter reads nothing):',
  )
  for (const [label, chunks, drop] of cases) {
    oneRound(chunks, drop, counted) // warm-up
    const rounds = Array.from({ length: ROUNDS }, () => oneRound(chunks, drop, counted))
    const all = rounds.map((r) => r.toFixed(1)).join(' ')
    console.log(`  ${label.padEnd(28)} ${median(rounds).toFixed(1)} µs a stream (rounds ${all})`)
  }
}
