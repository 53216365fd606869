import { describe, expect, it } from 'vitest'
import shipped from '../../gateway.config.ts'
import { globMatch } from '../../src/lib/glob.ts'
import {
  isModelAllowed,
  isModelName,
  MODEL_NAME,
} from '../../src/pipeline/admission/model-access.ts'

/** The seed's mapping (docs/reference/API.md), nothing open to every plan. */
const grants = {
  features: {
    gpt35_access: ['gpt-3.5-*'],
    gpt4_access: ['gpt-4*', 'o1*', 'o3*', 'o4*'],
    claude_access: ['claude-*'],
  },
  openModels: [],
}
const features = grants

describe('model gating', () => {
  it('lets a plan use the models its features grant and refuses gated ones it lacks', () => {
    expect(isModelAllowed(features, ['gpt4_access'], 'gpt-4o-mini')).toBe(true)
    expect(isModelAllowed(features, ['gpt4_access'], 'o3-mini')).toBe(true)
    expect(isModelAllowed(features, ['gpt35_access'], 'gpt-4o')).toBe(false)
    expect(isModelAllowed(features, [], 'claude-3-opus')).toBe(false)
    expect(isModelAllowed(features, ['claude_access'], 'claude-3-opus')).toBe(true)
  })

  it('refuses a model no pattern matches, whatever the plan', () => {
    expect(isModelAllowed(features, ['gpt4_access', 'claude_access'], 'llama-3-70b')).toBe(false)
    expect(isModelAllowed(features, ['gpt4_access'], 'openai/gpt-4o')).toBe(false)
    expect(isModelAllowed(features, ['gpt4_access'], 'ft:gpt-4o-mini:org::id')).toBe(false)
    expect(isModelAllowed({ features: {}, openModels: [] }, [], 'gpt-4o')).toBe(false)
    expect(isModelAllowed(features, ['no_such_feature'], 'gpt-4o')).toBe(false)
  })

  it('lets a feature grant everything with `*`, and openModels open a model to every plan', () => {
    const all = { features: { everything: ['*'] }, openModels: [] }
    expect(isModelAllowed(all, ['everything'], 'anything-at-all')).toBe(true)
    expect(isModelAllowed(all, [], 'anything-at-all')).toBe(false)
    const open = { ...grants, openModels: ['llama-3*'] }
    expect(isModelAllowed(open, [], 'Llama-3-70b')).toBe(true)
    expect(isModelAllowed(open, [], 'gpt-4o')).toBe(false)
  })

  it('accepts any one of several features that match the same model', () => {
    const overlapping = { ...grants, features: { ...grants.features, premium: ['gpt-4o*'] } }
    expect(isModelAllowed(overlapping, ['premium'], 'gpt-4o')).toBe(true)
    expect(isModelAllowed(overlapping, ['gpt4_access'], 'gpt-4o')).toBe(true)
    expect(isModelAllowed(overlapping, ['gpt35_access'], 'gpt-4o')).toBe(false)
  })

  it('cannot be slipped past by changing the case of the model name', () => {
    expect(isModelAllowed(features, [], 'GPT-4o')).toBe(false)
    expect(isModelAllowed(features, [], 'Claude-3-Opus')).toBe(false)
    expect(isModelAllowed(features, ['gpt35_access'], 'GPT-3.5-TURBO')).toBe(true)
  })
})

describe('model names', () => {
  it("pass in OpenAI's and providers' spellings, never with spaces, controls or look-alikes", () => {
    for (const name of [
      'gpt-4o-2024-08-06',
      'ft:gpt-4o-mini:org::id',
      'ft:gpt-4o-mini-2024-07-18:my-org:custom:9abc',
      'openai/gpt-4o',
      'meta-llama/Llama-3.1-8B-Instruct',
      'claude-3-opus@20240229',
      'o3',
    ]) {
      expect(MODEL_NAME.test(name), name).toBe(true)
    }
    for (const name of [
      '',
      ' gpt-4o',
      'gpt-4o ',
      '\tgpt-4o',
      'gpt-4o\n',
      'gpt 4o',
      'g\u0440t-4o',
      'gpt\u20114o',
      'gpt-4o\u0000',
      '-gpt-4o',
      'x'.repeat(257),
    ]) {
      expect(MODEL_NAME.test(name), JSON.stringify(name)).toBe(false)
    }
    expect(MODEL_NAME.test('x'.repeat(256))).toBe(true)
  })
})

describe('glob', () => {
  it('matches * as any run of characters, anchored at both ends', () => {
    expect(globMatch('gpt-4*', 'gpt-4')).toBe(true)
    expect(globMatch('gpt-4*', 'xgpt-4o')).toBe(false)
    expect(globMatch('*-mini', 'o3-mini')).toBe(true)
    expect(globMatch('*-mini', 'o3-mini-high')).toBe(false)
    expect(globMatch('a*b*c', 'abc')).toBe(true)
    expect(globMatch('a*b*c', 'acb')).toBe(false)
    expect(globMatch('a*bb*b', 'abb')).toBe(false)
    expect(globMatch('a*bb*b', 'abbb')).toBe(true)
    expect(globMatch('a*bb*b', 'abbxb')).toBe(true)
    expect(globMatch('*', 'anything')).toBe(true)
    expect(globMatch('exact', 'exact')).toBe(true)
  })
})

describe('a pattern matches one name, not a path or a name with a suffix', () => {
  it("`*` never runs across '/', ':', '@' or '..'; `**` does, and a literal separator matches itself", () => {
    for (const name of [
      'gpt-3.5-turbo/../gpt-4o',
      'gpt-3.5-turbo/gpt-4o',
      'gpt-3.5-turbo:gpt-4o',
      'gpt-3.5-turbo@gpt-4o',
      'gpt-3.5-turbo..gpt-4o',
    ]) {
      expect(globMatch('gpt-3.5-*', name), name).toBe(false)
      expect(globMatch('gpt-3.5-**', name), name).toBe(true)
    }
    expect(globMatch('*', 'openai/gpt-4o')).toBe(false)
    expect(globMatch('**', 'openai/gpt-4o')).toBe(true)
    expect(globMatch('openai/*', 'openai/gpt-4o')).toBe(true)
    expect(globMatch('openai/*', 'openai/x/gpt-4o')).toBe(false)
    expect(globMatch('ft:gpt-4o-mini-*:*:*:*', 'ft:gpt-4o-mini-2024-07-18:acme:tuned:9abc')).toBe(
      true,
    )
    expect(globMatch('claude-*@*', 'claude-3-opus@20240229')).toBe(true)
    expect(globMatch('gpt-3.5-*', 'gpt-3.5-turbo-0125')).toBe(true)
  })

  it('`#` is one digit: a dated snapshot, never a suffixed variant', () => {
    expect(globMatch('gpt-4o-mini-20##-##-##', 'gpt-4o-mini-2024-07-18')).toBe(true)
    expect(globMatch('gpt-4o-mini-20##-##-##', 'gpt-4o-mini-2099-search')).toBe(false)
    expect(globMatch('gpt-4o-mini-20##-##-##', 'gpt-4o-mini-2024-07-18-search')).toBe(false)
    expect(globMatch('gpt-4o-mini-20##-##-##', 'gpt-4o-mini-20ab-cd-ef')).toBe(false)
  })

  it('matches in time linear in the name, whatever the pattern', () => {
    const pattern = 'a*a*a*a*a*a*b'
    const name = 'a'.repeat(256)
    const start = performance.now()
    for (let i = 0; i < 100; i++) expect(globMatch(pattern, name)).toBe(false)
    expect(performance.now() - start).toBeLessThan(200)
  })
})

describe('model names the gateway refuses before any pattern is tried', () => {
  it('a path step, an empty segment or a dot run is not a model name', () => {
    for (const name of [
      'gpt-3.5-turbo/../gpt-4o',
      'gpt-3.5-turbo/./gpt-4o',
      'gpt-3.5-turbo//gpt-4o',
      'gpt-3.5-turbo/',
      'gpt-3.5..turbo',
      'openai/.hidden',
    ]) {
      expect(isModelName(name), name).toBe(false)
    }
    expect(isModelName('meta-llama/Llama-3.1-8B-Instruct')).toBe(true)
  })
})

describe('the shipped config grants what it prices', () => {
  const pro = shipped.plans!.find((plan) => plan.id === 'pro')!
  const free = shipped.plans!.find((plan) => plan.id === 'free')!
  const grantsOf = { features: shipped.features!, openModels: shipped.openModels ?? [] }
  const allowed = (plan: typeof pro, model: string) =>
    isModelAllowed(grantsOf, plan.features ?? [], model)

  it("Pro opens the GPT-4 family's text models and the o-series, not the variants priced apart", () => {
    for (const model of [
      'gpt-4o',
      'gpt-4o-2024-08-06',
      'gpt-4o-mini',
      'gpt-4.1',
      'gpt-4.1-mini-2025-04-14',
      'gpt-4-turbo',
      'gpt-4-turbo-2024-04-09',
      'gpt-4',
      'gpt-4-0613',
      'o1',
      'o3-mini',
      'o4-mini-2025-04-16',
      'gpt-3.5-turbo',
    ]) {
      expect(allowed(pro, model), model).toBe(true)
    }
    for (const model of [
      'gpt-4o-search-preview',
      'gpt-4o-mini-search-preview',
      'gpt-4o-audio-preview',
      'gpt-4o-audio-preview-2024-12-17',
      'gpt-4o-realtime-preview',
      'gpt-4o-mini-realtime-preview',
      'gpt-4o-transcribe',
      'gpt-4o-mini-transcribe',
      'gpt-4o-mini-tts',
      'o1-pro',
      'o3-pro',
      'o3-deep-research',
      'o4-mini-deep-research',
      'gpt-4.5-preview',
      'gpt-4o-2024-08-06-search',
      'gpt-4o-mini-2099-search',
      'gpt-3.5-turbo/../gpt-4o',
      'gpt-3.5-turbo:gpt-4o',
    ]) {
      expect(allowed(pro, model), model).toBe(false)
    }
  })

  it('Free opens gpt-3.5 and gpt-4o-mini with its snapshots, nothing that rides on their names', () => {
    for (const model of [
      'gpt-3.5-turbo',
      'gpt-3.5-turbo-0125',
      'gpt-4o-mini',
      'gpt-4o-mini-2024-07-18',
    ]) {
      expect(allowed(free, model), model).toBe(true)
    }
    for (const model of [
      'gpt-3.5-turbo/../gpt-4o',
      'gpt-3.5-turbo:gpt-4o',
      'gpt-3.5-turbo@gpt-4o',
      'gpt-4o-mini-2099-search',
      'gpt-4o-mini-search-preview',
      'gpt-4o-mini-tts',
      'gpt-4o',
    ]) {
      expect(allowed(free, model), model).toBe(false)
    }
  })
})
