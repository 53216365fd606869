import { Hono } from 'hono'
import type { AppEnv } from '../../http/env.ts'
import { chatCompletions } from './chat-completions.ts'
import { completions } from './completions.ts'
import { embeddings } from './embeddings.ts'
import { getModel, listModels } from './models.ts'
import { responses } from './responses.ts'

/** The OpenAI-compatible surface, mounted at /v1 behind authentication (src/app.ts). */
export function createV1Routes() {
  return new Hono<AppEnv>()
    .post('/chat/completions', chatCompletions)
    .post('/completions', completions)
    .post('/embeddings', embeddings)
    .post('/responses', responses)
    .get('/models', listModels)
    .get('/models/:model{.+}', getModel)
}
