import { Hono } from 'hono'
import type { AppEnv } from '../../http/env.ts'
import { described } from '../openapi/describe.ts'
import {
  ChatCompletionBody,
  CompletionBody,
  EmbeddingBody,
  EXAMPLES,
  ResponseBody,
} from '../openapi/proxy-bodies.ts'
import { chatCompletions } from './chat-completions.ts'
import { completions } from './completions.ts'
import { embeddings } from './embeddings.ts'
import {
  audioSpeech,
  audioTranscriptions,
  audioTranslations,
  imageEdits,
  imageGenerations,
  moderations,
} from './media.ts'
import { messages, messagesCountTokens } from './messages.ts'
import { getModel, listModels } from './models.ts'
import { responses } from './responses.ts'

/** The proxied answer: the proxy passes the upstream's body through, so it has no schema here. */
const upstreamAnswer = (streams: boolean) => ({
  description: streams
    ? 'The upstream answer, untouched (JSON, or text/event-stream with stream: true)'
    : 'The upstream answer, untouched',
  content: { 'application/json': null, ...(streams ? { 'text/event-stream': null } : {}) },
})
const proxied = (streams: boolean) => ({
  '200': upstreamAnswer(streams),
  '400': 'Invalid request: malformed JSON, no model, or a bad field',
  '402': 'No usable plan (no_subscription)',
  '403': 'Model not in the plan (model_not_allowed)',
  '429': 'Quota exceeded (insufficient_quota)',
  '502': 'Upstream failed',
  '504': 'Upstream timed out',
})

/** The OpenAI-compatible surface, mounted at /v1 behind authentication (src/app.ts). */
export function createV1Routes() {
  return new Hono<AppEnv>()
    .post(
      '/chat/completions',
      described(
        {
          summary: 'OpenAI Chat Completions, stream and non-stream, within the plan quota',
          tag: 'openai',
          body: { schema: ChatCompletionBody, example: EXAMPLES.chat },
          responses: {
            ...proxied(true),
            '429': 'Quota exceeded (insufficient_quota); Retry-After = seconds to period end',
          },
        },
        chatCompletions,
      ),
    )
    .post(
      '/completions',
      described(
        {
          summary: 'OpenAI Completions',
          tag: 'openai',
          body: { schema: CompletionBody, example: EXAMPLES.completion },
          responses: proxied(true),
        },
        completions,
      ),
    )
    .post(
      '/embeddings',
      described(
        {
          summary: 'OpenAI Embeddings',
          tag: 'openai',
          body: { schema: EmbeddingBody, example: EXAMPLES.embedding },
          responses: proxied(false),
        },
        embeddings,
      ),
    )
    .post(
      '/responses',
      described(
        {
          summary: 'OpenAI Responses',
          tag: 'openai',
          body: { schema: ResponseBody, example: EXAMPLES.response },
          responses: proxied(true),
        },
        responses,
      ),
    )
    .post(
      '/messages',
      described(
        {
          summary:
            "Anthropic Messages, stream and non-stream, within the plan quota (Anthropic's error shape)",
          tag: 'anthropic',
          responses: proxied(true),
        },
        messages,
      ),
    )
    .post(
      '/messages/count_tokens',
      described(
        {
          summary: 'Anthropic token counting: free, never billed',
          tag: 'anthropic',
          responses: {
            '200': '{"input_tokens": N}',
            '400': 'Invalid request',
            '403': 'Model not in the plan',
          },
        },
        messagesCountTokens,
      ),
    )
    .post(
      '/images/generations',
      described(
        {
          summary: 'OpenAI image generation, billed per image',
          tag: 'openai',
          responses: proxied(true),
        },
        imageGenerations,
      ),
    )
    .post(
      '/images/edits',
      described(
        {
          summary: 'OpenAI image edits (multipart or JSON)',
          tag: 'openai',
          responses: proxied(true),
        },
        imageEdits,
      ),
    )
    .post(
      '/audio/speech',
      described(
        {
          summary: 'OpenAI text to speech, billed per input character',
          tag: 'openai',
          responses: proxied(true),
        },
        audioSpeech,
      ),
    )
    .post(
      '/audio/transcriptions',
      described(
        {
          summary: 'OpenAI transcription (multipart), billed by duration or tokens',
          tag: 'openai',
          responses: proxied(true),
        },
        audioTranscriptions,
      ),
    )
    .post(
      '/audio/translations',
      described(
        {
          summary: 'OpenAI translation to English (multipart), billed by duration',
          tag: 'openai',
          responses: proxied(false),
        },
        audioTranslations,
      ),
    )
    .post(
      '/moderations',
      described(
        {
          summary: 'OpenAI moderation: one request, no tokens',
          tag: 'openai',
          responses: proxied(false),
        },
        moderations,
      ),
    )
    .get(
      '/models',
      described(
        {
          summary: 'Models the plan allows',
          tag: 'openai',
          responses: { '200': 'OpenAI model list' },
        },
        listModels,
      ),
    )
    .get(
      '/models/:model{.+}',
      described(
        {
          summary: 'One model, if the plan allows it',
          tag: 'openai',
          responses: { '200': 'OpenAI model object', '404': 'Unknown or not in the plan' },
        },
        getModel,
      ),
    )
}
