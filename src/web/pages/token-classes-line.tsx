import type { ClassTotals } from '../../ledger/usage.repo.ts'
import { formatNumber, type Lang, t } from '../i18n.ts'

/** Each class's label, by the column (and /me) name, in the order a reader looks for them. */
const LABELS = {
  cached_input: 'class_cached_input',
  cache_write: 'class_cache_write',
  reasoning: 'class_reasoning',
  audio_input: 'class_audio_input',
  audio_output: 'class_audio_output',
  image_tokens: 'class_image',
} as const

/**
 * The period's token classes under the meters (docs/metering.md, "Token classes"), as /me's
 * `token_classes`: "of which: cached 1,024 · reasoning 64". Only the classes the upstream
 * reported; nothing at all when none was.
 */
export function TokenClassesLine(props: { lang: Lang; classes: ClassTotals | null }) {
  const { lang, classes } = props
  const text = classes && classesText(lang, classes)
  if (!text) return null
  return (
    <p class="muted" data-token-classes>
      {t(lang, 'token_classes_of_which', { classes: text })}
    </p>
  )
}

/** The non-zero classes, "cached 1,024 · reasoning 64"; empty when there are none. */
export function classesText(lang: Lang, classes: ClassTotals): string {
  return (Object.keys(LABELS) as Array<keyof typeof LABELS>)
    .filter((name) => classes[name] > 0)
    .map((name) => `${t(lang, LABELS[name])} ${formatNumber(lang, classes[name])}`)
    .join(' · ')
}
