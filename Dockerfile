# syntax=docker/dockerfile:1
# Two stages from the same image family (Debian bookworm, glibc, Node 24, the
# current LTS; CI tests Node 20 and 24): the native addon better-sqlite3 is
# compiled in the build stage and runs unchanged in the runtime stage. No TypeScript build: tsx runs the sources at start.

ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# node-gyp needs these when better-sqlite3 has no prebuilt binary for the platform.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# tsx is a runtime dependency (it runs src/main.ts), so production deps suffice.
RUN npm ci --omit=dev --no-audit --no-fund \
  && npm cache clean --force
COPY . .

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    DATABASE_URL=sqlite:/app/data/gateway.db
WORKDIR /app
# Code and dependencies stay root-owned (read-only to the gateway); only /app/data is writable.
COPY --from=build /app /app
# The SQLite file (and its -wal/-shm) lives on a volume owned by the non-root user.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
VOLUME ["/app/data"]
EXPOSE 3000
# The slim image has no curl: ask node itself.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "require('http').get('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz',r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"]
# node directly (not npm start) so SIGTERM reaches the gateway and it drains in-flight requests.
CMD ["node", "--import", "tsx", "src/main.ts"]
