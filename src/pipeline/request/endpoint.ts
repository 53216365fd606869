/**
 * The proxied endpoints, by the shape of their bodies (`messages`: Anthropic's Messages API). Its own file because the estimate
 * (estimate.ts) counts the answers a request asks for (answers.ts), and both read it.
 */
export type Endpoint = 'chat' | 'completions' | 'embeddings' | 'responses' | 'messages'
