import type { DestinationStream } from 'pino'
import pretty from 'pino-pretty'

export type LogFormatSetting = 'auto' | 'json' | 'pretty'

/** `auto` is pretty only for a person at a terminal; pipes and collectors get JSON lines. */
export function resolveLogFormat(setting: LogFormatSetting, isTty: boolean): 'json' | 'pretty' {
  if (setting === 'auto') return isTty ? 'pretty' : 'json'
  return setting
}

/**
 * pino-pretty as an in-process stream, not a worker transport: formatting runs
 * only for a person at a terminal (never the JSON path of production), and
 * `sync` keeps log lines in order with what the entry writes to stdout itself
 * (the demo's banner). Colors only when stdout is a terminal.
 */
export function prettyDestination(options: { colorize: boolean }): DestinationStream {
  return pretty({
    colorize: options.colorize,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    singleLine: true,
    sync: true,
    destination: 1,
  })
}
