# syntax=docker/dockerfile:1
# Tessera server image: `docker build -t tessera .` then
# `docker run -p 3000:3000 -v tessera-data:/data tessera` (SQLite in /data), or see compose.yaml for
# PostgreSQL + Redis. Multi-stage: build tools (for better-sqlite3) stay in the first stage.

FROM node:20-bookworm-slim AS deps
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY sdk/package.json sdk/package.json
COPY scripts ./scripts
COPY src ./src
# npm ci compiles src/ to dist/ (the prepare script needs TypeScript, a dev dependency); the dev
# dependencies are then dropped.
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    TESSERA_HOST=0.0.0.0 \
    TESSERA_PORT=3000 \
    TESSERA_DATABASE_URL=sqlite:/data/tessera.db
WORKDIR /app
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --chown=node:node package.json ./
COPY --chown=node:node bin ./bin
COPY --from=deps --chown=node:node /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.TESSERA_PORT||3000)+'/api/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Run with `docker run --init` (or `init: true` in compose) so that tini is PID 1 and passes SIGTERM
# on; the server drains requests in flight for TESSERA_SHUTDOWN_TIMEOUT_SECONDS (default 10).
CMD ["node", "bin/tessera.js", "start"]
