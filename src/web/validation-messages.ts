import { type ZodError, z } from 'zod'
import type { Lang } from './i18n.ts'

/** The schema's own messages (config/plan.schema.ts), in Russian. */
const OWN_MESSAGES_RU: Record<string, string> = {
  'must be a number or a decimal string': 'должно быть числом или десятичной строкой',
  'must be a non-negative amount with at most two decimals':
    'должно быть неотрицательной суммой, не более двух знаков после запятой',
}

const ruLocale = z.locales.ru()

/**
 * An issue's message in the page's language. The API answers in English (its schema's words);
 * the pages show the same rule in Russian: the schema's own messages from the table above, zod's
 * built-in ones from zod's Russian locale (without "получено ...": the finished issue no longer
 * holds the input, and the form shows it beside the message anyway).
 */
export function issueMessage(lang: Lang, issue: ZodError['issues'][number]): string {
  if (lang === 'en') return issue.message
  const own = OWN_MESSAGES_RU[issue.message]
  if (own) return own
  // biome-ignore lint/suspicious/noExplicitAny: zod's locale takes the raw issue; the finished one has its fields
  const text = (ruLocale.localeError as any)(issue)
  const message = typeof text === 'string' ? text : (text?.message ?? issue.message)
  return message.replace(/, получено .*$/, '')
}
