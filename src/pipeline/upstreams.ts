// Placeholder: the proxy work defines one undici Pool per configured upstream here.
export interface Upstreams {
  close(): Promise<void>
}
