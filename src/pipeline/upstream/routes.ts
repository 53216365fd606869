import type { Config } from '../../config/schema.ts'
import { compileGlob } from '../../lib/glob.ts'
import { withModel } from './model-rename.ts'
import type { Upstream, UpstreamKey } from './upstream.types.ts'

/** One place a model can be served (config `routes[].deployments[]`). */
export interface Deployment {
  upstream: Upstream
  /** The model name sent there; null when it is the name the client asked for. */
  model: string | null
  /** Lower is tried first. */
  priority: number
  weight: number
}

/** One key of one deployment: what a single attempt is sent with. */
export interface Candidate {
  deployment: Deployment
  key: UpstreamKey
}

/** Where a model may go: every key of every deployment, lowest priority first. */
export interface Route {
  candidates: readonly Candidate[]
}

/**
 * The router: a model's route, decided once per model name (the set of names in use is small).
 * The first configured route whose pattern matches the model gives its deployments; a model
 * no route names goes to the upstream `forModel` picks, as one deployment under its own name,
 * which is the single-upstream configuration of before.
 */
export function createRouter(
  routes: Config['routes'],
  upstreams: readonly Upstream[],
  forModel: (model: string) => Upstream,
): (model: string) => Route {
  const byName = new Map(upstreams.map((u) => [u.name, u]))
  const compiled = routes.map((route) => ({
    matches: compileGlob(route.model.toLowerCase()),
    deployments: route.deployments
      .map(
        (d): Deployment => ({
          // The schema checks each name against the upstreams (schema.ts, superRefine).
          upstream: byName.get(d.upstream)!,
          model: d.model ?? null,
          priority: d.priority,
          weight: d.weight,
        }),
      )
      // A stable sort: deployments of one priority keep their configured order.
      .sort((a, b) => a.priority - b.priority),
  }))
  const cache = new Map<string, Route>()
  return (model) => {
    let route = cache.get(model)
    if (!route) {
      const lower = model.toLowerCase()
      const deployments = compiled.find((r) => r.matches(lower))?.deployments ?? [
        { upstream: forModel(model), model: null, priority: 0, weight: 1 },
      ]
      route = {
        candidates: deployments.flatMap((deployment) =>
          deployment.upstream.keys.map((key) => ({ deployment, key })),
        ),
      }
      if (cache.size < 10_000) cache.set(model, route)
    }
    return route
  }
}

/**
 * The body with the deployment's model name in place of the client's, every other byte
 * kept (model-rename.ts); the common route, which renames nothing, sends the bytes as received.
 */
export function bodyForDeployment(raw: Buffer, deployment: Deployment): Buffer {
  return deployment.model === null ? raw : withModel(raw, deployment.model)
}
