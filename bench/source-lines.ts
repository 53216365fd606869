import { readdirSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * Maps a position in code that tsx ran back to the .ts source line. tsx minifies whitespace
 * (a whole module on one line), so a cpuprofile's line numbers say nothing for src/ files; the
 * transformed code and its source map sit in tsx's cache (<tmpdir>/tsx-<uid>/), one JSON file
 * per transform. The newest entry for a source path is the one the profiled process ran, as
 * long as the file was not edited after it started.
 */
type Segment = [genColumn: number, sourceLine: number]

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

/** Decodes a v3 source map's mappings into [generated column, source line] per generated line. */
function decodeMappings(mappings: string): Segment[][] {
  const lines: Segment[][] = []
  let sourceLine = 0
  for (const line of mappings.split(';')) {
    const segments: Segment[] = []
    let column = 0
    for (const segment of line.split(',')) {
      if (!segment) continue
      const values: number[] = []
      let value = 0
      let shift = 0
      for (const char of segment) {
        const digit = B64.indexOf(char)
        value += (digit & 31) << shift
        if (digit & 32) shift += 5
        else {
          values.push(value & 1 ? -(value >>> 1) : value >>> 1)
          value = 0
          shift = 0
        }
      }
      column += values[0] ?? 0
      if (values.length >= 4) {
        sourceLine += values[2]!
        segments.push([column, sourceLine])
      }
    }
    lines.push(segments)
  }
  return lines
}

export interface SourceLines {
  /** 1-based source line of a 0-based generated line and column, or null when unknown. */
  lineOf(path: string, line: number, column: number): number | null
}

export function createSourceLines(): SourceLines {
  const cacheDir = join(tmpdir(), `tsx-${process.getuid?.() ?? 0}`)
  let index: Map<string, { file: string; mtime: number }> | null = null
  const maps = new Map<string, Segment[][] | null>()

  function buildIndex() {
    index = new Map()
    let files: string[] = []
    try {
      files = readdirSync(cacheDir)
    } catch {
      return
    }
    for (const name of files) {
      const file = join(cacheDir, name)
      try {
        const text = readFileSync(file, 'utf8')
        const match = /"sources":\["([^"]+)"\]/.exec(text)
        if (!match) continue
        const mtime = statSync(file).mtimeMs
        const seen = index.get(match[1]!)
        if (!seen || seen.mtime < mtime) index.set(match[1]!, { file, mtime })
      } catch {
        // not a transform entry
      }
    }
  }

  function mapFor(path: string): Segment[][] | null {
    if (maps.has(path)) return maps.get(path)!
    if (!index) buildIndex()
    const entry = index!.get(path)
    let decoded: Segment[][] | null = null
    if (entry) {
      const { map } = JSON.parse(readFileSync(entry.file, 'utf8')) as { map?: { mappings: string } }
      if (map) decoded = decodeMappings(map.mappings)
    }
    maps.set(path, decoded)
    return decoded
  }

  return {
    lineOf(path, line, column) {
      const segments = mapFor(path)?.[line]
      if (!segments || segments.length === 0) return null
      let found: Segment | undefined
      for (const segment of segments) {
        if (segment[0] > column) break
        found = segment
      }
      return (found ?? segments[0]!)[1] + 1
    },
  }
}
