# syntax=docker/dockerfile:1
# Two stages from the same image family (Debian bookworm, glibc, Node 24, the
# current LTS; CI tests Node 20 and 24): the build stage compiles src/ into
# dist/ (npm run build) and the native addon better-sqlite3, then drops the dev
# dependencies; the runtime stage gets dist/ and the production node_modules.

ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# node-gyp needs these when better-sqlite3 has no prebuilt binary for the platform.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# All dependencies: the build needs esbuild (a devDependency).
RUN npm ci --no-audit --no-fund
COPY . .
# Prune keeps the compiled addon and leaves what `dependencies` names (tsx among them:
# it loads the operator's gateway.config.ts at start).
RUN npm run build \
  && npm prune --omit=dev --no-audit --no-fund \
  && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    DATABASE_URL=sqlite:/app/data/gateway.db
WORKDIR /app
# Code and dependencies stay root-owned (read-only to the gateway); only /app/data is writable.
# The sources are not shipped, but gateway.config.ts (read at start, so an operator may mount
# another) and the src/config/ it imports its types and defineConfig from.
COPY --from=build /app/package.json /app/package-lock.json /app/gateway.config.ts /app/
COPY --from=build /app/node_modules /app/node_modules
COPY --from=build /app/dist /app/dist
COPY --from=build /app/src/config /app/src/config
# The SQLite file (and its -wal/-shm) lives on a volume owned by the non-root user.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
VOLUME ["/app/data"]
EXPOSE 3000
# The slim image has no curl: ask node itself.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "require('http').get('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz',r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"]
# node directly (not npm start, which builds first) so SIGTERM reaches the gateway and it
# drains in-flight requests. The CLI: docker exec <container> node dist/cli.js <command>.
CMD ["node", "--enable-source-maps", "dist/main.js"]
