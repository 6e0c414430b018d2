#!/usr/bin/env bash
# npm run test:containers: the docker-compose deployment for real. Sets up the container engine
# (../shared/tools/containers-setup.sh: podman behind the Docker API, local base images), builds
# the images, brings the stack up (plus the single server and redis), runs
# tests/e2e/compose.test.ts against the published ports (conversations across the finance
# replicas included), scales finance to 4 (+ nginx reload) and checks the spreading, runs the
# observability profile's Prometheus (every replica scraped), checks the chat keys in redis and
# that a chat survives a redis restart, checks the images from inside and a graceful SIGTERM
# stop, restarts the stack with auth and rate limits from a copy of docker/security.env
# (tests/e2e/compose-security.test.ts), and always tears everything down.
#
#   ARC_HTTP_PORT / ARC_SINGLE_PORT / ARC_PROMETHEUS_PORT   published ports (default: free ones from the OS)
#   CONTAINERS_SETUP                  path of containers-setup.sh (default ../shared/tools/)
#   KEEP_STACK=1                      leave the stack running (no down/stop) to poke at it
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SETUP=${CONTAINERS_SETUP:-$ROOT/../shared/tools/containers-setup.sh}
PROJECT=${COMPOSE_PROJECT_NAME:-arc-containers-test}
# @arc/devkit's freePort, loaded by path (it needs no installed dependency).
free_port() { node -e 'require(process.argv[1]).freePort().then((p) => console.log(p))' "$ROOT/packages/devkit/index.cjs"; }
export ARC_HTTP_PORT=${ARC_HTTP_PORT:-$(free_port)}
export ARC_SINGLE_PORT=${ARC_SINGLE_PORT:-$(free_port)}
export ARC_PROMETHEUS_PORT=${ARC_PROMETHEUS_PORT:-$(free_port)}

if [ ! -f "$SETUP" ]; then
  echo "test:containers: $SETUP not found (expected shared/tools beside the repository; or set CONTAINERS_SETUP)" >&2
  exit 1
fi

declare -a TIMES=()
CURRENT_STEP=""
step() { # step <label> <command...>: runs and times a step
  local label=$1 t0=$SECONDS; shift
  CURRENT_STEP=$label
  echo ">>> $label"
  "$@"
  TIMES+=("$(printf '%-34s %4ss' "$label" $((SECONDS - t0)))")
  CURRENT_STEP=""
}

# The stack, for every `docker compose` below and in scripts/reload-gateway.sh.
export COMPOSE_PROJECT_NAME=$PROJECT COMPOSE_FILE=$ROOT/docker-compose.yml COMPOSE_PROFILES=single
compose() { docker compose "$@"; }
reload_gateway() { "$ROOT/scripts/reload-gateway.sh"; } # nginx -s reload, retried

finish() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$rc" -ne 0 ] && docker info >/dev/null 2>&1; then
    echo ">>> FAILED (exit $rc); last logs:" >&2
    compose ps -a >&2 || true
    compose logs --no-color --tail=40 >&2 || true
  fi
  if [ "${KEEP_STACK:-0}" = 1 ]; then
    echo ">>> KEEP_STACK=1: the stack stays up on :$ARC_HTTP_PORT (docker compose -p $PROJECT down -v; $SETUP stop)"
  else
    echo ">>> teardown"
    compose --profile single --profile observability down -v --remove-orphans --timeout 15 || true
    "$SETUP" stop || true
  fi
  echo ">>> timings"
  printf '    %s\n' "${TIMES[@]}"
  echo "    total                              ${SECONDS}s (exit $rc)"
  # Last, so that it is what a truncated CI log still shows.
  [ "$rc" -eq 0 ] || echo "test:containers: FAILED (exit $rc)${CURRENT_STEP:+ in step \"$CURRENT_STEP\"}; the step's output and the containers' logs are above" >&2
  exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT TERM

host_build() { # the checks run on the host with @arc/core's client
  node "$ROOT/scripts/ensure-installed.mjs"
  (cd "$ROOT" && node_modules/.bin/turbo run build --filter=@arc/core --output-logs=errors-only)
}
step "host install + build" host_build
step "engine setup" "$SETUP" setup
step "engine start" "$SETUP" start
eval "$("$SETUP" env)"
docker compose version >/dev/null 2>&1 || { echo "test:containers: the compose v2 plugin is missing (containers-setup.sh setup installs it)" >&2; exit 1; }

step "build images" compose build
step "up --wait" compose up -d --wait

echo ">>> stack: gateway http://127.0.0.1:$ARC_HTTP_PORT, single server http://127.0.0.1:$ARC_SINGLE_PORT"
compose ps

# With CONTAINERS_JEST_DIR set (.ci/run does), every jest run writes its JSON report there.
jest_report() { [ -n "${CONTAINERS_JEST_DIR:-}" ] && echo "--json --outputFile=$CONTAINERS_JEST_DIR/$1.json"; }

# The supervisor calls the specialists through the gateway (http://nginx:80). Right after its
# container or nginx's was (re)created, the engine's DNS can leave lookups of `nginx` hanging for
# a while (podman's aardvark-dns; see scripts/reload-gateway.sh): wait, bounded, until the
# supervisor's container reaches the gateway, as nginx's reload waits for its upstream names.
supervisor_reaches_gateway() {
  local deadline=$((SECONDS + 90))
  until compose exec -T supervisor node -e \
    'fetch("http://nginx:80/health", { signal: AbortSignal.timeout(3000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))'; do
    [ $SECONDS -lt $deadline ] || { echo "test:containers: the supervisor cannot reach http://nginx:80 after 90 s" >&2; return 1; }
    sleep 2
  done
}

compose_checks() {
  supervisor_reaches_gateway
  cd "$ROOT" && ARC_COMPOSE_URL="http://127.0.0.1:$ARC_HTTP_PORT" ARC_SINGLE_URL="http://127.0.0.1:$ARC_SINGLE_PORT" \
    node_modules/.bin/jest --selectProjects e2e --runTestsByPath tests/e2e/compose.test.ts $(jest_report checks)
}
step "checks through nginx (jest)" compose_checks

scale_finance() {
  # docs/distributed.md's scaling recipe: more replicas, then an nginx reload to resolve them.
  compose up -d --wait --scale finance=4
  reload_gateway
  sleep 1
  cd "$ROOT" && ARC_COMPOSE_URL="http://127.0.0.1:$ARC_HTTP_PORT" ARC_FINANCE_REPLICAS=4 \
    node_modules/.bin/jest --selectProjects e2e --runTestsByPath tests/e2e/compose.test.ts -t 'spreads finance|across the finance replicas' $(jest_report scaled)
}
step "scale finance to 4 + reload" scale_finance

observability() {
  # The `observability` profile: Prometheus finds every replica through Docker's DNS (the four
  # finance ones included) and scrapes each one's /metrics; the checks above left traffic to count.
  compose --profile observability up -d --build --wait --no-deps prometheus
  local expected=0 svc
  for svc in $(node -e 'console.log(require(process.argv[1]).manifest.services.map((s) => s.id).join(" "))' "$ROOT/packages/devkit/index.cjs"); do
    expected=$((expected + $(compose ps -q "$svc" | wc -l)))
  done
  local url="http://127.0.0.1:$ARC_PROMETHEUS_PORT" up="" deadline=$((SECONDS + 60))
  while [ $SECONDS -lt $deadline ]; do
    up=$(curl -fsS "$url/api/v1/targets?state=active" 2>/dev/null |
      node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>{const t=JSON.parse(s).data.activeTargets;console.log(t.filter((x)=>x.health==="up").length+"/"+t.length)})' || true)
    [ "$up" = "$expected/$expected" ] && break
    sleep 2
  done
  echo "prometheus: targets up $up (expected $expected)"
  [ "$up" = "$expected/$expected" ] || { curl -sS "$url/api/v1/targets" || true; return 1; }
  local served
  served=$(curl -fsS "$url/api/v1/query" --data-urlencode 'query=sum(arc_requests_total{agent="finance-agent",code="ok"})' | json_get data.result.0.value.1)
  echo "prometheus: sum(arc_requests_total{agent=\"finance-agent\",code=\"ok\"}) = $served"
  [ "${served:-0}" -gt 0 ]
  compose --profile observability rm -sf prometheus
}

arc_post() { # arc_post <method> <params JSON>: one finance request through the gateway; prints the answer
  curl -sS -X POST -H 'Content-Type: application/arc+json' "http://127.0.0.1:$ARC_HTTP_PORT/arc/finance" --data \
    "{\"arc\":\"1.0\",\"id\":\"ct-1\",\"method\":\"$1\",\"requestAgent\":\"containers-test\",\"targetAgent\":\"finance-agent\",\"params\":$2}"
}
json_get() { node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>{const v=process.argv[1].split(".").reduce((o,k)=>o?.[k],JSON.parse(s));console.log(v??"")})' "$1"; }
step "observability profile (prometheus)" observability

redis_state() {
  # The chats are in the compose redis under the documented key, and survive a restart of redis
  # (append-only file in the named volume); the services reconnect by themselves.
  local answer chat key status ttl
  answer=$(arc_post chat.start '{"initialMessage":{"role":"user","parts":[{"type":"text","content":"invoice"}]}}')
  chat=$(json_get result.chat.chatId <<<"$answer")
  [ -n "$chat" ] || { echo "chat.start failed: $answer" >&2; return 1; }
  key="arc:chat:finance-agent:$chat"
  status=$(compose exec -T redis redis-cli hget "$key" status | tr -d '\r')
  ttl=$(compose exec -T redis redis-cli ttl "$key" | tr -d '\r')
  # Active chats expire after CHAT_IDLE_TTL_SECONDS (24 h by default) without use.
  [ "$status" = ACTIVE ] && [ "$ttl" -gt 86000 ] && [ "$ttl" -le 86400 ] \
    || { echo "$key: status '$status', ttl '$ttl' (expected ACTIVE, about 86400)" >&2; return 1; }
  echo "$key: ACTIVE, expires after ${ttl}s without use"

  compose restart redis
  # Each service reconnects by itself, each replica on its own schedule: wait until every
  # service container is ready again (its own /health: 200 only with redis answering), then
  # continue the chat through the gateway. The DNS for `redis` may stall for a while after the
  # restart, hence the long bound.
  local t0=$SECONDS reply="" pending
  while :; do
    pending=""
    for service in finance hr support; do
      local id
      # By container id: replica numbers need not run from 1 (a scale down may remove #1).
      for id in $(compose ps -q "$service"); do
        docker exec "$id" node /app/docker/healthcheck.cjs >/dev/null 2>&1 || pending+=" $service:${id:0:12}"
      done
    done
    [ -z "$pending" ] && break
    [ $((SECONDS - t0)) -lt 90 ] || { echo "not ready ${SECONDS}s after the redis restart:$pending" >&2; return 1; }
    sleep 1
  done
  echo "after 'compose restart redis': every finance, hr and support container ready again after $((SECONDS - t0))s"
  answer=$(arc_post chat.message "{\"chatId\":\"$chat\",\"message\":{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":\"INV-7\"}]}}")
  reply=$(json_get result.chat.message.parts.0.content <<<"$answer")
  [ "$reply" = "Processing your request: INV-7" ] || { echo "the chat did not survive the redis restart: $answer" >&2; return 1; }
  echo "the chat is answered again: $reply"

  answer=$(arc_post chat.end "{\"chatId\":\"$chat\"}")
  [ "$(json_get result.chat.status <<<"$answer")" = CLOSED ] || { echo "chat.end failed: $answer" >&2; return 1; }
  ttl=$(compose exec -T redis redis-cli ttl "$key" | tr -d '\r')
  [ "$ttl" -gt 86000 ] && [ "$ttl" -le 86400 ] || { echo "$key: TTL $ttl after chat.end, expected about 86400" >&2; return 1; }
  echo "$key: CLOSED, TTL ${ttl}s; $(compose exec -T redis redis-cli --scan --pattern 'arc:chat:*' | wc -l) chat keys in redis"
}
step "chat state in redis (+ restart)" redis_state

rolling_restart() {
  # docs/scale-out.md's recipe under a load of conversations: one finance container at a time.
  cd "$ROOT" && ARC_COMPOSE_URL="http://127.0.0.1:$ARC_HTTP_PORT" ARC_FINANCE_REPLICAS=4 ARC_COMPOSE_PROJECT="$PROJECT" \
    node_modules/.bin/jest --selectProjects e2e --runTestsByPath tests/e2e/compose.test.ts -t 'restarts the finance replicas' $(jest_report rolling-restart)
}
step "rolling restart of finance" rolling_restart

security_env() {
  # docs/security.md: auth and shared limits from one env file. A copy of docker/security.env
  # with a caller limit whose window (30 s) outlasts the test's burst, so the count is exact.
  local env_file="$SECURITY_TMP/security.env"
  sed -e 's|^RATE_LIMIT_CALLER=.*|RATE_LIMIT_CALLER=20/30s|' "$ROOT/docker/security.env" >"$env_file"
  grep -q '^RATE_LIMIT_CALLER=20/30s$' "$env_file" || { echo "docker/security.env sets no RATE_LIMIT_CALLER" >&2; return 1; }
  compose --env-file "$env_file" up -d --wait --scale finance=3
  reload_gateway
  supervisor_reaches_gateway
  sleep 1
  cd "$ROOT" && ARC_COMPOSE_URL="http://127.0.0.1:$ARC_HTTP_PORT" ARC_COMPOSE_ENV_FILE="$env_file" \
    node_modules/.bin/jest --selectProjects e2e --runTestsByPath tests/e2e/compose-security.test.ts $(jest_report security)
}
SECURITY_TMP=$(mktemp -d)
step "auth + shared limits (security.env)" security_env

check_images() {
  # Non-root, and only the service's own code plus production dependencies in the image.
  # A finance container by id: after the security.env step's `--scale finance=3` the replicas
  # left need not include #1 (compose may remove any of them).
  local id uid
  id=$(compose ps -q finance | head -n 1)
  [ -n "$id" ] || { echo "no finance container is running" >&2; return 1; }
  uid=$(docker exec "$id" id -u)
  [ "$uid" = 1000 ] || { echo "finance runs as uid $uid, not node (1000)" >&2; return 1; }
  docker exec "$id" sh -c '
    set -e
    test -d /app/services/finance/dist && test -d /app/packages/arc-core/dist
    for p in /app/services/hr /app/services/support /app/services/single-server /app/packages/arc-core/src \
             /app/node_modules/typescript /app/node_modules/jest /app/node_modules/turbo /app/node_modules/dockerfilelint; do
      if [ -e "$p" ]; then echo "unexpected in the finance image: $p" >&2; exit 1; fi
    done'
  # PID 1 is the init compose adds (init: true), node runs under it.
  local pid1
  pid1=$(docker exec "$id" sh -c 'tr "\0" " " < /proc/1/cmdline')
  case "$pid1" in node*) echo "PID 1 is node itself ($pid1), expected an init" >&2; return 1;; esac
  echo "finance: uid $uid, PID 1: $pid1, no other service or dev dependency"
}
step "image checks" check_images

graceful_stop() {
  # SIGTERM reaches node through the init and the service drains and exits 0 (no SIGKILL).
  local t0=$SECONDS
  compose stop --timeout 20 hr
  echo "compose stop hr took $((SECONDS - t0))s"
  local logs code
  logs=$(compose logs --no-color --no-log-prefix hr)
  code=$(docker inspect --format '{{.State.ExitCode}}' "$(compose ps -a -q hr)")
  grep -q '"message":"shutting down"' <<<"$logs" && grep -q '"signal":"SIGTERM"' <<<"$logs" && grep -q '"message":"stopped"' <<<"$logs" \
    || { echo "hr did not log a graceful SIGTERM shutdown:" >&2; echo "$logs" | tail -5 >&2; return 1; }
  [ "$code" = 0 ] || { echo "hr exited with $code after SIGTERM" >&2; return 1; }
  echo "hr: drained on SIGTERM and exited 0:"
  grep -E '"message":"(shutting down|stopped)"' <<<"$logs" | sed 's/^/    /'

}
step "graceful stop (SIGTERM)" graceful_stop
