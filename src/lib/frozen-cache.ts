/**
 * `build(key)` computed once per frozen key (config is frozen once loaded) and kept as long
 * as the key lives; a key that is not frozen may change, so it is built again on each call.
 * For what the request path derives from config on every request (compiled model patterns).
 */
export function oncePerFrozen<K extends object, V>(build: (key: K) => V): (key: K) => V {
  const cache = new WeakMap<K, V>()
  return (key) => {
    if (!Object.isFrozen(key)) return build(key)
    let value = cache.get(key)
    if (value === undefined) {
      value = build(key)
      cache.set(key, value)
    }
    return value
  }
}
