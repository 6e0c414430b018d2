# The gateway image for docker-compose: nginx with the configuration rendered from
# nginx/arc.conf.template and services/manifest.json (the same template and renderer as the local
# cluster; no rendered copy lives in the repository). Build context = the repository root.

FROM node:20-bookworm-slim AS render
WORKDIR /src
COPY nginx/ ./nginx/
COPY services/manifest.json ./services/manifest.json
# The image's own main context, to set its worker limits (render.cjs WORKER) in place of its
# `worker_connections 1024`; the render fails if that file no longer looks as expected.
COPY --from=nginx:1.27 /etc/nginx/nginx.conf ./image-nginx.conf
# The per-address request ceiling (docs/security.md): "off" or "<n>r/s [burst=<m>]"; empty: the default.
ARG GATEWAY_REQ_LIMIT=""
RUN node nginx/render.cjs --compose --out /src/arc.conf \
    && node nginx/render.cjs --image-main /src/image-nginx.conf --out /src/nginx.conf

FROM nginx:1.27
COPY --from=render /src/nginx.conf /etc/nginx/nginx.conf
COPY --from=render /src/arc.conf /etc/nginx/conf.d/default.conf
EXPOSE 80
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1/health"]
