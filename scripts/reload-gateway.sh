#!/usr/bin/env bash
# Reloads the compose gateway (nginx re-resolves the service names, e.g. after a scale or a
# restart), retrying a failed reload. Run it where you run `docker compose` for the stack;
# COMPOSE_PROJECT_NAME / COMPOSE_FILE / COMPOSE_PROFILES select the stack as they do for compose.
#
# Why retry: nginx resolves `finance`, `hr`, `support` while it reloads. Right after a container
# has been added or restarted, the engine's DNS can fail those lookups for a while (podman's
# aardvark-dns did in about 1 reload in 6 here, each failure after ~40 s of lookup timeouts);
# nginx then keeps its previous configuration and `nginx -s reload` exits 1 with "host not found
# in upstream". A reload changes nothing until it succeeds, so trying again is safe.
#
#   RELOAD_ATTEMPTS (default 5), RELOAD_TIMEOUT seconds per attempt (default 60)
set -uo pipefail
attempts=${RELOAD_ATTEMPTS:-5}
for ((i = 1; i <= attempts; i++)); do
  if timeout "${RELOAD_TIMEOUT:-60}" docker compose exec -T nginx nginx -s reload; then
    [ "$i" -gt 1 ] && echo "reload-gateway: reloaded on attempt $i" >&2
    exit 0
  fi
  echo "reload-gateway: attempt $i of $attempts failed (the old configuration keeps serving)" >&2
  [ "$i" -lt "$attempts" ] && sleep 2
done
echo "reload-gateway: nginx did not reload after $attempts attempts" >&2
exit 1
