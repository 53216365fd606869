import { defineConfig } from './src/config/define.ts'

/**
 * The operator's file. Every environment variable of API.md overrides what is
 * here; secrets (JWT_SECRET, UPSTREAM_API_KEY, YOOKASSA_SECRET_KEY, ...) are
 * read from the environment only and cannot be written in this file.
 */
export default defineConfig({
  upstreams: [
    // UPSTREAM_BASE_URL replaces this base URL; the key comes from UPSTREAM_API_KEY (or OPENAI_API_KEY).
    { name: 'default', baseUrl: 'https://api.openai.com/v1', apiKeyEnv: 'UPSTREAM_API_KEY' },
  ],

  // A plan may use exactly the models its features' patterns match (case-insensitive, `*` any
  // run of characters); any other model is 403 model_not_allowed. docs/access.md has the rules.
  features: {
    gpt35_access: ['gpt-3.5-*'],
    gpt4_access: ['gpt-4*', 'o1*', 'o3*', 'o4*'],
    claude_access: ['claude-*'],
    // The README's first call uses gpt-4o-mini on the free plan: the model and its dated
    // snapshots, not the -search / -tts / -realtime variants priced apart.
    gpt4o_mini_access: ['gpt-4o-mini', 'gpt-4o-mini-20*'],
    embeddings_access: ['text-embedding-*'],
  },
  // Patterns every plan may use whatever its features, e.g. ['llama-3*']; none here.
  openModels: [],

  // Upserted at every start (and by `npm run gateway -- plans sync`): the seed's two plans.
  plans: [
    {
      id: 'free',
      name: 'Free',
      name_ru: 'Бесплатный',
      description: 'Basic access to AI models',
      description_ru: 'Базовый доступ к AI моделям',
      price: 0,
      currency: 'RUB',
      interval: 'month',
      quotas: { tokens_input: 100_000, tokens_output: 50_000, requests: 1_000 },
      features: ['gpt35_access', 'gpt4o_mini_access', 'embeddings_access'],
      is_active: true,
      display_order: 0,
    },
    {
      id: 'pro',
      name: 'Pro',
      name_ru: 'Профессиональный',
      description: 'Advanced features and higher quotas',
      description_ru: 'Расширенные возможности и увеличенные квоты',
      price: 990,
      currency: 'RUB',
      interval: 'month',
      quotas: { tokens_input: 1_000_000, tokens_output: 500_000, requests: 10_000 },
      features: ['gpt4_access', 'claude_access', 'embeddings_access'],
      is_active: true,
      display_order: 1,
    },
  ],

  billing: { defaultPlanId: 'free' },

  quota: {
    defaultOutputReserve: 4096,
    maxOutputReserve: 32_768,
    disconnectPolicy: 'cancel',
  },
})
