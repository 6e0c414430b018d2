#!/usr/bin/env node
/**
 * `npm run token`: a development bearer token (HS256 JWT, signed with jose) for a server started
 * with AUTH_JWT_SECRET. Prints the token alone, so that
 *
 *   TOKEN=$(AUTH_JWT_SECRET=… npm run -s token -- --scopes chat)
 *   curl -H "Authorization: Bearer $TOKEN" …
 *
 * works. The secret comes from --secret or, better (a command line is visible to other users
 * in `ps` and stays in the shell's history), AUTH_JWT_SECRET; issuer and audience default to the
 * server's AUTH_ISSUER and AUTH_AUDIENCE (their first entry). `--env-file docker/security.env`
 * reads those three from the file the cluster and docker compose take (the file wins over the
 * environment, as with `npm run cluster -- --env-file`). For production, tokens come from an
 * identity provider; see docs/security.md.
 *
 * jose is @arc/core's dependency: it is resolved from packages/arc-core, as bench/lib/redis.mjs
 * resolves ioredis, so the script needs no build and the root no dependency of its own.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs, parseEnv } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Shortest secret the server accepts (AUTH_JWT_SECRET; RFC 7518 §3.2: at least the hash size). */
const MIN_SECRET_BYTES = 32;
const MAX_TTL_SECONDS = 366 * 24 * 3600;

/** The scope matrix's bundles (ARC-PROTOCOL.md §10): what each kind of caller needs. */
const SCOPE_BUNDLES = {
  chat: ['arc.chat.controller', 'arc.agent.caller'],
  tasks: ['arc.task.controller', 'arc.agent.caller'],
  notify: ['arc.task.notify', 'arc.agent.receiver'],
  all: ['arc.chat.controller', 'arc.task.controller', 'arc.task.notify', 'arc.agent.caller', 'arc.agent.receiver'],
};

const HELP = `Usage: npm run -s token -- --scopes <scopes> [options]

Prints a development bearer token (an HS256 JWT) for a server started with AUTH_JWT_SECRET.

  --scopes <list>    scopes, separated by spaces or commas; bundles:
                       chat    arc.chat.controller arc.agent.caller  (chat.start/message/end)
                       tasks   arc.task.controller arc.agent.caller  (task.create/send/info/cancel/subscribe)
                       notify  arc.task.notify arc.agent.receiver    (task.notification)
                       all     every ARC scope
                     bundles and scope names mix: --scopes "chat arc.task.notify"
  --sub <id>         the token's subject, the caller (default arc-dev-client); with
                     AUTH_BIND_REQUEST_AGENT=true it must be the requestAgent you send
  --ttl <seconds>    lifetime (default 3600)
  --secret <secret>  the HS256 secret (default: $AUTH_JWT_SECRET; at least ${MIN_SECRET_BYTES} bytes)
  --issuer <iss>     the iss claim (default: the first of $AUTH_ISSUER, if set)
  --audience <aud>   the aud claim (default: the first of $AUTH_AUDIENCE, if set)
  --env-file <file>  read AUTH_JWT_SECRET, AUTH_ISSUER and AUTH_AUDIENCE from this file (the one
                     given to npm run cluster / docker compose, e.g. docker/security.env)
  -h, --help         this help

Example:
  export AUTH_JWT_SECRET=$(openssl rand -hex 32)
  npm start &
  TOKEN=$(npm run -s token -- --scopes "arc.chat.controller arc.agent.caller" --sub my-app)
  curl -s localhost:8000/arc -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/arc+json' \\
    -d '{"arc":"1.0","id":"1","method":"chat.start","requestAgent":"my-app","targetAgent":"finance-agent","params":{"initialMessage":{"role":"user","parts":[{"type":"TextPart","content":"hi"}]}}}'

  npm run cluster -- --env-file docker/security.env &
  TOKEN=$(npm run -s token -- --env-file docker/security.env --scopes chat)
`;

class UsageError extends Error {}

/** The scope claim's names: bundles expanded, duplicates dropped, in order. */
function expandScopes(text) {
  const names = text.split(/[\s,]+/).filter((s) => s !== '');
  if (names.length === 0) throw new UsageError('--scopes is empty; give scope names or a bundle (chat, tasks, notify, all)');
  const scopes = new Set();
  for (const name of names) {
    const bundle = SCOPE_BUNDLES[name];
    if (bundle) for (const s of bundle) scopes.add(s);
    else if (/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(name)) scopes.add(name);
    else throw new UsageError(`--scopes: ${JSON.stringify(name)} is not a scope name (RFC 6749 §3.3) or a bundle`);
  }
  return [...scopes];
}

/** The first entry of a comma-separated variable (AUTH_ISSUER, AUTH_AUDIENCE), or undefined. */
const firstOf = (value) =>
  value
    ?.split(',')
    .map((s) => s.trim())
    .find((s) => s !== '');

function options(argv, env) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        scopes: { type: 'string' },
        sub: { type: 'string' },
        ttl: { type: 'string' },
        secret: { type: 'string' },
        issuer: { type: 'string' },
        audience: { type: 'string' },
        'env-file': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new UsageError(err.message);
  }
  if (parsed.help) return { help: true };
  if (parsed.scopes === undefined) throw new UsageError('--scopes is required, e.g. --scopes chat or --scopes all');
  if (parsed['env-file'] !== undefined) env = { ...env, ...readEnvFile(parsed['env-file']) };
  const secret = parsed.secret ?? env.AUTH_JWT_SECRET;
  if (secret === undefined || secret === '')
    throw new UsageError(
      "no secret: set AUTH_JWT_SECRET (the server's) or pass --secret; e.g. export AUTH_JWT_SECRET=$(openssl rand -hex 32)",
    );
  if (Buffer.byteLength(secret, 'utf8') < MIN_SECRET_BYTES)
    throw new UsageError(`the secret must be at least ${MIN_SECRET_BYTES} bytes long (the server refuses a shorter AUTH_JWT_SECRET)`);
  const ttl = parsed.ttl === undefined ? 3600 : Number(parsed.ttl);
  if (!/^\d+$/.test(parsed.ttl ?? '3600') || ttl < 1 || ttl > MAX_TTL_SECONDS)
    throw new UsageError(`--ttl must be a whole number of seconds from 1 to ${MAX_TTL_SECONDS}`);
  const sub = parsed.sub ?? 'arc-dev-client';
  if (sub === '') throw new UsageError('--sub is empty');
  return {
    help: false,
    scopes: expandScopes(parsed.scopes),
    sub,
    ttl,
    secret,
    issuer: parsed.issuer ?? firstOf(env.AUTH_ISSUER),
    audience: parsed.audience ?? firstOf(env.AUTH_AUDIENCE),
  };
}

/** The variables of an env file (KEY=VALUE lines, as docker compose and `npm run cluster` read it). */
function readEnvFile(file) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--env-file ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
  return parseEnv(text);
}

async function loadJose() {
  const require = createRequire(join(ROOT, 'packages', 'arc-core', 'package.json'));
  let path;
  try {
    path = require.resolve('jose');
  } catch {
    throw new UsageError('jose is not installed: install the dependencies first (npm ci, or npm start once)');
  }
  return import(pathToFileURL(path).href);
}

/** Signs the token: sub, scope (space-separated, as ARC-PROTOCOL.md §10 reads it first), iat, exp, jti, and iss/aud when given. */
async function signToken(o) {
  const { SignJWT } = await loadJose();
  let jwt = new SignJWT({ scope: o.scopes.join(' ') })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(o.sub)
    .setIssuedAt()
    .setExpirationTime(`${o.ttl}s`)
    .setJti(randomUUID());
  if (o.issuer !== undefined) jwt = jwt.setIssuer(o.issuer);
  if (o.audience !== undefined) jwt = jwt.setAudience(o.audience);
  return jwt.sign(Buffer.from(o.secret, 'utf8'));
}

async function main() {
  try {
    const o = options(process.argv.slice(2), process.env);
    if (o.help) {
      process.stdout.write(HELP);
      return;
    }
    process.stdout.write(`${await signToken(o)}\n`);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`token: ${err.message}\nRun with --help for usage.\n`);
    process.exit(2);
  }
}

await main();
