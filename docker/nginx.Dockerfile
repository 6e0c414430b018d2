# The gateway image for docker-compose: nginx with the configuration rendered from
# nginx/arc.conf.template and nginx/compose.json (the same template and renderer as the local
# cluster; no rendered copy lives in the repository). Build context = the repository root.

FROM node:20-bookworm-slim AS render
WORKDIR /src
COPY nginx/ ./nginx/
RUN node nginx/render.cjs nginx/compose.json --out /src/arc.conf

FROM nginx:1.27
COPY --from=render /src/arc.conf /etc/nginx/conf.d/default.conf
EXPOSE 80
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1/health"]
