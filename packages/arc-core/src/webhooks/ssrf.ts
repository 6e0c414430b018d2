/**
 * The SSRF guard for webhook callback URLs. A subscriber chooses the URL and we POST to it from
 * inside the deployment, so without a guard anyone who can call task.subscribe could make us
 * reach the loopback interface, the private network or the cloud metadata service.
 *
 * Rules: http(s) only; no credentials in the URL; every address the host resolves to must be
 * public (address-class.ts), unless the policy allows it:
 * - `allowPrivateNetworks` (WEBHOOK_ALLOW_PRIVATE_NETWORKS=true) allows loopback, private,
 *   link-local, unique-local and CGNAT addresses — what a developer on localhost or a cluster
 *   network needs. It does not allow cloud-metadata, unspecified, multicast, broadcast,
 *   documentation, benchmarking or reserved addresses: nothing legitimate listens there, and the
 *   metadata service is the prize of SSRF.
 * - `allowedHosts` (WEBHOOK_ALLOWED_HOSTS) allows a host name (exact, case-insensitive) or an IP
 *   address (the URL's, or one the name resolves to), whatever its class.
 *
 * The check runs at task.subscribe (checkCallbackUrl) and again when connecting for each delivery
 * (safeLookup, used by sender.ts as the socket's `lookup`): DNS may answer differently by then
 * (DNS rebinding), and the address checked at connect time is the one connected to.
 * Refusals are ArcError -32602 naming params.callbackUrl, the reason and the setting that would
 * allow it.
 */
import { promises as dns } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { ArcError } from '../errors/arc-error';
import { ArcErrorCode } from '../errors/codes';
import { addressClass, canonicalIp, type AddressClass } from './address-class';

export interface WebhookNetworkPolicy {
  /** Host names or IP addresses always allowed (WEBHOOK_ALLOWED_HOSTS). */
  allowedHosts: readonly string[];
  /** Allow loopback and private-network addresses (WEBHOOK_ALLOW_PRIVATE_NETWORKS). */
  allowPrivateNetworks: boolean;
}

export const DEFAULT_WEBHOOK_POLICY: WebhookNetworkPolicy = Object.freeze({ allowedHosts: Object.freeze([]), allowPrivateNetworks: false });

/** Resolves a host name to all its addresses (rejects when it cannot). */
export type HostResolver = (hostname: string) => Promise<string[]>;

export const resolveHost: HostResolver = async (hostname) =>
  (await dns.lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

export interface CheckedCallbackUrl {
  url: URL;
  /** The addresses the host resolved to, all allowed. */
  addresses: string[];
}

const PRIVATE_NETWORK_CLASSES: ReadonlySet<AddressClass> = new Set(['loopback', 'private', 'link-local', 'unique-local', 'cgnat']);
const FIELD = 'params.callbackUrl';

/** The checks that need no DNS: URL syntax, scheme, credentials, and an IP-literal or localhost host. */
export function parseCallbackUrl(url: string, policy: WebhookNetworkPolicy): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    const zone = /\[[^\]]*%/.test(String(url)) ? ' (IPv6 zone ids such as %25eth0 are not supported)' : '';
    throw refusal(`callbackUrl is not a valid absolute URL${zone}`, { reason: 'invalid-url' });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw refusal(`callbackUrl must use http or https, not ${clip(parsed.protocol.slice(0, -1))}`, { reason: 'scheme' });
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw refusal('callbackUrl must not contain credentials (user:password@); authenticate deliveries with the webhook signature', {
      reason: 'credentials',
    });
  }
  const host = bareHost(parsed.hostname);
  if (isIP(host)) checkAddress(policy, host, host);
  else checkLocalhost(policy, host);
  return parsed;
}

/** Everything parseCallbackUrl checks, plus the addresses the host resolves to now. */
export async function checkCallbackUrl(
  url: string,
  policy: WebhookNetworkPolicy,
  resolve: HostResolver = resolveHost,
): Promise<CheckedCallbackUrl> {
  const parsed = parseCallbackUrl(url, policy);
  const host = bareHost(parsed.hostname);
  return { url: parsed, addresses: isIP(host) ? [host] : await resolveChecked(policy, host, resolve) };
}

/**
 * A `lookup` for http.request / net.connect that resolves the host and refuses the connection
 * (with the same message as at subscribe) when an address is not allowed. Node skips `lookup`
 * for IP-literal hosts, which parseCallbackUrl checks instead.
 */
export function safeLookup(policy: WebhookNetworkPolicy, resolve: HostResolver = resolveHost): LookupFunction {
  return (hostname, options, callback) => {
    resolveChecked(policy, hostname, resolve).then(
      (addresses) => {
        const wanted = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : (options.family ?? 0);
        const entries = addresses.map((address) => ({ address, family: isIP(address) })).filter((e) => wanted === 0 || e.family === wanted);
        const first = entries[0];
        if (first === undefined) callback(connectError(`callbackUrl host "${clip(hostname)}" has no IPv${wanted} address`), '');
        else if (options.all) callback(null, entries);
        else callback(null, first.address, first.family);
      },
      (error: Error) => callback(connectError(error.message, error), ''),
    );
  };
}

/** The task engine's subscribe-time check (TaskOptions.checkCallbackUrl): rejects with the refusal. */
export function callbackChecker(policy: Partial<WebhookNetworkPolicy> = {}, resolve?: HostResolver): (url: string) => Promise<void> {
  const full: WebhookNetworkPolicy = { ...DEFAULT_WEBHOOK_POLICY, ...policy };
  return async (url) => {
    await checkCallbackUrl(url, full, resolve);
  };
}

/** A socket error (Node wants a string `code`), carrying the refusal as its cause. */
function connectError(message: string, cause?: Error): NodeJS.ErrnoException {
  return Object.assign(new Error(message, cause === undefined ? undefined : { cause }), { code: 'ERR_WEBHOOK_ADDRESS_REFUSED' });
}

async function resolveChecked(policy: WebhookNetworkPolicy, host: string, resolve: HostResolver): Promise<string[]> {
  if (isIP(host)) {
    checkAddress(policy, host, host);
    return [host];
  }
  checkLocalhost(policy, host);
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    throw refusal(`callbackUrl host "${clip(host)}" could not be resolved${typeof code === 'string' ? ` (${clip(code)})` : ''}`, {
      reason: 'dns',
      host: clip(host),
    });
  }
  if (addresses.length === 0) throw refusal(`callbackUrl host "${clip(host)}" resolved to no address`, { reason: 'dns', host: clip(host) });
  for (const address of addresses) checkAddress(policy, host, address);
  return addresses;
}

/** `localhost` and `*.localhost` are loopback whatever a resolver says (RFC 6761). */
function checkLocalhost(policy: WebhookNetworkPolicy, host: string): void {
  const name = host.toLowerCase().replace(/\.$/, '');
  if ((name === 'localhost' || name.endsWith('.localhost')) && !isAllowed(policy, host, undefined, 'loopback')) {
    throw classRefusal(`callbackUrl host "${clip(host)}" is a loopback name`, 'loopback', { host: clip(host) });
  }
}

function checkAddress(policy: WebhookNetworkPolicy, host: string, address: string): void {
  const kind = addressClass(address);
  if (isAllowed(policy, host, address, kind)) return;
  const where =
    host === address ? `callbackUrl address ${address}` : `callbackUrl host "${clip(host)}" resolves to ${clip(address)}, which`;
  throw classRefusal(`${where} is ${kind === 'invalid' ? 'not an IP address' : `a ${kind} address`}`, kind, {
    host: clip(host),
    address: clip(address),
  });
}

function isAllowed(policy: WebhookNetworkPolicy, host: string, address: string | undefined, kind: AddressClass): boolean {
  if (kind === 'public' || (policy.allowPrivateNetworks && PRIVATE_NETWORK_CLASSES.has(kind))) return true;
  const allowed = new Set(policy.allowedHosts.map(hostKey));
  return allowed.has(hostKey(host)) || (address !== undefined && allowed.has(hostKey(address)));
}

function hostKey(name: string): string {
  return canonicalIp(name) ?? name.toLowerCase();
}

function classRefusal(what: string, kind: AddressClass, details: Record<string, unknown>): ArcError {
  const how = PRIVATE_NETWORK_CLASSES.has(kind)
    ? 'webhooks to private networks are refused unless allowed: set WEBHOOK_ALLOW_PRIVATE_NETWORKS=true, or list the host in WEBHOOK_ALLOWED_HOSTS'
    : 'webhooks to such addresses are refused even with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true: list the host in WEBHOOK_ALLOWED_HOSTS to allow it';
  return refusal(`${what}; ${how}`, { reason: kind, ...details });
}

function refusal(message: string, details: Record<string, unknown>): ArcError {
  return new ArcError(ArcErrorCode.InvalidParams, message, { field: FIELD, ...details });
}

function bareHost(hostname: string): string {
  return hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
}

/** Client-supplied text in a message, bounded. */
function clip(text: string): string {
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}
