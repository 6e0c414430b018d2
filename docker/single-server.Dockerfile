# The single server image: finance, hr and support agents and the supervisor in one process on
# :8000 (POST /arc).
# Build context = the repository root:
#   docker build -f docker/single-server.Dockerfile -t arc-single-server .
# Same shape as services/<name>/Dockerfile; ships the single server, the agents' packages
# (finance, hr, support, supervisor), arc-core, the built web inspector (/inspector/, on by
# default here) and production dependencies.

# 1. Cut the workspace down to @arc/single-server and what it depends on.
FROM node:20-bookworm-slim AS pruner
ENV TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
WORKDIR /repo
RUN npm install --global --no-audit --no-fund turbo@2.11.9
COPY package.json package-lock.json turbo.json ./
COPY packages ./packages
COPY services ./services
RUN turbo prune @arc/single-server --docker --out-dir /pruned

# 2. Install from the pruned lockfile (manifests first, for the layer cache), build, and drop
#    the dev dependencies.
FROM node:20-bookworm-slim AS builder
ENV TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
WORKDIR /repo
COPY --from=pruner /pruned/json/ ./
RUN npm ci --no-audit --no-fund
COPY --from=pruner /pruned/full/ ./
COPY tsconfig.base.json ./
RUN npx turbo run build --filter=@arc/single-server... --output-logs=errors-only \
 && npm prune --omit=dev --no-audit --no-fund \
 && find node_modules -mindepth 1 -maxdepth 1 -type d -empty -delete

# 3. Runtime: manifests, production node_modules, compiled code; not root.
FROM node:20-bookworm-slim AS runner
ENV NODE_ENV=production \
    PORT=8000 \
    HOST=0.0.0.0 \
    SERVER_ID=multi-agent-server \
    LOG_LEVEL=info
WORKDIR /app
COPY --from=builder /repo/package.json ./
COPY --from=builder /repo/node_modules ./node_modules
COPY --from=builder /repo/packages/arc-core/package.json ./packages/arc-core/
COPY --from=builder /repo/packages/arc-core/dist ./packages/arc-core/dist
COPY --from=builder /repo/packages/arc-inspector/package.json /repo/packages/arc-inspector/index.cjs ./packages/arc-inspector/
COPY --from=builder /repo/packages/arc-inspector/dist ./packages/arc-inspector/dist
COPY --from=builder /repo/services/finance/package.json ./services/finance/
COPY --from=builder /repo/services/finance/dist ./services/finance/dist
COPY --from=builder /repo/services/hr/package.json ./services/hr/
COPY --from=builder /repo/services/hr/dist ./services/hr/dist
COPY --from=builder /repo/services/support/package.json ./services/support/
COPY --from=builder /repo/services/support/dist ./services/support/dist
COPY --from=builder /repo/services/supervisor/package.json ./services/supervisor/
COPY --from=builder /repo/services/supervisor/dist ./services/supervisor/dist
COPY --from=builder /repo/services/single-server/package.json ./services/single-server/
COPY --from=builder /repo/services/single-server/dist ./services/single-server/dist
COPY docker/healthcheck.cjs ./docker/
USER node
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["node", "/app/docker/healthcheck.cjs"]
# PID 1 is node itself (the base entrypoint execs it): the server handles SIGTERM/SIGINT and
# drains; run with an init (`init: true` in compose, `docker run --init`) to reap and forward.
CMD ["node", "services/single-server/dist/index.js"]
