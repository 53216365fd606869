import pino, { type DestinationStream, type Logger } from 'pino'

export type { Logger }

/**
 * Paths pino blanks out wherever they appear. The code never logs a token,
 * key or card on purpose; this is the second line of defence.
 */
const REDACT = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  '*.authorization',
  // Anthropic's key header (the operator's upstream key, or a client's gateway key).
  'headers["x-api-key"]',
  '*.headers["x-api-key"]',
  '*["x-api-key"]',
  'token',
  '*.token',
  'apiKey',
  '*.apiKey',
  'api_key',
  '*.api_key',
  'key',
  '*.key',
  'secret',
  '*.secret',
  'secretKey',
  '*.secretKey',
  'password',
  '*.password',
  'payment_method_id',
  '*.payment_method_id',
  'card',
  '*.card',
]

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  )
}
