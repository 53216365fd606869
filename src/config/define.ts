import type { GatewayConfigInput } from './schema.ts'

/** Identity function that gives gateway.config.ts its editor types. */
export function defineConfig(config: GatewayConfigInput): GatewayConfigInput {
  return config
}
