import { describe, expect, it } from 'vitest'
import { globMatch, isModelAllowed } from '../../src/pipeline/model-access.ts'

/** The shipped mapping (API.md). */
const features = {
  gpt35_access: ['gpt-3.5-*'],
  gpt4_access: ['gpt-4*', 'o1*', 'o3*', 'o4*'],
  claude_access: ['claude-*'],
}

describe('model gating', () => {
  it('lets a plan use the models its features grant and refuses gated ones it lacks', () => {
    expect(isModelAllowed(features, ['gpt4_access'], 'gpt-4o-mini')).toBe(true)
    expect(isModelAllowed(features, ['gpt4_access'], 'o3-mini')).toBe(true)
    expect(isModelAllowed(features, ['gpt35_access'], 'gpt-4o')).toBe(false)
    expect(isModelAllowed(features, [], 'claude-3-opus')).toBe(false)
    expect(isModelAllowed(features, ['claude_access'], 'claude-3-opus')).toBe(true)
  })

  it('leaves a model no pattern matches open to every plan', () => {
    expect(isModelAllowed(features, [], 'llama-3-70b')).toBe(true)
    expect(isModelAllowed({}, [], 'gpt-4o')).toBe(true)
  })

  it('accepts any one of several features that match the same model', () => {
    const overlapping = { ...features, premium: ['gpt-4o*'] }
    expect(isModelAllowed(overlapping, ['premium'], 'gpt-4o')).toBe(true)
    expect(isModelAllowed(overlapping, ['gpt4_access'], 'gpt-4o')).toBe(true)
    expect(isModelAllowed(overlapping, ['gpt35_access'], 'gpt-4o')).toBe(false)
  })

  it('cannot be slipped past by changing the case of the model name', () => {
    expect(isModelAllowed(features, [], 'GPT-4o')).toBe(false)
    expect(isModelAllowed(features, [], 'Claude-3-Opus')).toBe(false)
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
