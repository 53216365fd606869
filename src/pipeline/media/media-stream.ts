import { counterForModel } from '../estimate/tokenizer.ts'
import { openClientStream } from '../stream/client-stream.ts'
import { sseErrorEvent } from '../stream/respond.ts'
import { createSseMeter } from '../stream/sse-meter.ts'
import { pumpMeteredStream } from '../stream/stream-body.ts'
import { failureKind, type UpstreamResponse, upstreamFailure } from '../upstream/forward.ts'
import { headersOf, type MediaCall } from './media-call.ts'

/**
 * A streamed media answer (GPT image models' partial images, gpt-4o-mini-tts
 * with stream_format "sse", streamed transcriptions): passed through untouched
 * by the text proxy's SSE pump, its usage read from the final event
 * (`image_generation.completed`, `speech.audio.done`, `transcript.text.done`
 * all carry `usage` with input_tokens / output_tokens). A stream that ends or
 * breaks without usage, or whose client leaves, is billed its reservation:
 * partial images and audio say nothing of what the upstream spent.
 */
export function relayMediaStream(call: MediaCall, response: UpstreamResponse): Response {
  const { client, deps, outcome, admission } = call
  const meter = createSseMeter({
    dropUsageChunk: false,
    countTokens: counterForModel(admission.model),
  })
  const reserve = () => admission.rawOutputReserve
  const { body } = response
  outcome.answeredWith(response.statusCode)
  const opened = openClientStream(
    client.connection,
    client.requestId,
    response.statusCode,
    headersOf(call, response, null),
    body.readableLength > 0,
  )
  pumpMeteredStream({
    body,
    meter,
    sink: opened.sink,
    drainTimeoutMs: call.link.drainTimeoutMs,
    onEnd: () => {
      outcome.settle(meter.usage(), reserve)
    },
    onFailure: (error) => {
      const kind = failureKind(error)
      deps.metrics.upstreamErrors.inc({ upstream: call.upstream.name, kind })
      outcome.settle(meter.usage(), reserve, `upstream ${kind} mid-stream`)
      return sseErrorEvent('chat', upstreamFailure(error), null)
    },
    onClientGone: () => {
      outcome.settle(meter.usage(), reserve, 'the client disconnected mid-stream')
    },
  }).catch((error) => {
    deps.logger.error({ err: error, requestId: client.requestId }, 'The stream failed')
    outcome.settle(meter.usage(), reserve, 'the stream failed in the gateway')
    opened.sink.end(new Uint8Array(0))
  })
  return opened.response
}
