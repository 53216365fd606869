// Placeholder: the YooKassa work defines the typed API client here.
export interface YooKassaClient {
  readonly shopId: string
}
