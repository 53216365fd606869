/**
 * Cuts bytes at the given fractions of their length (anywhere: inside a UTF-8 sequence too),
 * as a network may split a body. Each part is a copy: the SSE meter may compact a chunk in
 * place, as it does undici's, and must not change the bytes a test compares against.
 */
export function cutAt(bytes: Buffer, fractions: number[]): Buffer[] {
  const points = [...new Set(fractions.map((f) => Math.floor(f * bytes.length)))].sort(
    (a, b) => a - b,
  )
  const parts: Buffer[] = []
  let at = 0
  for (const point of [...points, bytes.length]) {
    if (point <= at) continue
    parts.push(Buffer.from(bytes.subarray(at, point)))
    at = point
  }
  return parts
}
