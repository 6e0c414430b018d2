/**
 * What kind of network an IP address belongs to, for the webhook SSRF guard (ssrf.ts): 'public',
 * or the reason it is not (IANA special-purpose registries, RFC 6890 and successors).
 *
 * IPv6 forms that carry an IPv4 address and reach it — IPv4-mapped `::ffff:a.b.c.d`, NAT64
 * `64:ff9b::/96`, 6to4 `2002:aabb:ccdd::/48` — are judged by that IPv4 address, so
 * `::ffff:127.0.0.1` is loopback. IPv6 outside the global-unicast block 2000::/3 is 'reserved'
 * (nothing else there is a webhook receiver), so an address nobody listed is never 'public'.
 * Input that is not an IP address is 'invalid'.
 */
import { isIP } from 'node:net';

export type AddressClass =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'unique-local'
  | 'multicast'
  | 'unspecified'
  | 'cgnat'
  | 'documentation'
  | 'benchmarking'
  | 'reserved'
  | 'broadcast'
  | 'cloud-metadata'
  | 'invalid';

type V4Range = [base: string, prefix: number, kind: AddressClass];

// Most specific first: the metadata addresses sit inside link-local and CGNAT.
const V4_RANGES: ReadonlyArray<[number, number, AddressClass]> = (
  [
    ['169.254.169.254', 32, 'cloud-metadata'], // AWS, GCP, Azure, OCI, DigitalOcean…
    ['100.100.100.200', 32, 'cloud-metadata'], // Alibaba Cloud
    ['0.0.0.0', 8, 'unspecified'], // "this network"; Linux connects 0.0.0.0 to the local host
    ['10.0.0.0', 8, 'private'],
    ['100.64.0.0', 10, 'cgnat'],
    ['127.0.0.0', 8, 'loopback'],
    ['169.254.0.0', 16, 'link-local'],
    ['172.16.0.0', 12, 'private'],
    ['192.0.0.0', 24, 'reserved'], // IETF protocol assignments
    ['192.0.2.0', 24, 'documentation'],
    ['192.88.99.0', 24, 'reserved'], // deprecated 6to4 relay anycast
    ['192.168.0.0', 16, 'private'],
    ['198.18.0.0', 15, 'benchmarking'],
    ['198.51.100.0', 24, 'documentation'],
    ['203.0.113.0', 24, 'documentation'],
    ['224.0.0.0', 4, 'multicast'],
    ['255.255.255.255', 32, 'broadcast'],
    ['240.0.0.0', 4, 'reserved'],
  ] satisfies V4Range[]
).map(([base, prefix, kind]) => [ipv4ToNumber(base), prefix, kind]);

type V6Range = [base: string, prefix: number, kind: AddressClass];

const V6_RANGES: ReadonlyArray<[number[], number, AddressClass]> = (
  [
    ['::', 128, 'unspecified'],
    ['::1', 128, 'loopback'],
    ['fd00:ec2::254', 128, 'cloud-metadata'], // AWS IMDS over IPv6
    ['64:ff9b:1::', 48, 'private'], // local-use NAT64 (RFC 8215)
    ['2001:2::', 48, 'benchmarking'],
    ['2001:db8::', 32, 'documentation'],
    ['3fff::', 20, 'documentation'],
    ['2001::', 23, 'reserved'], // IETF protocol assignments: Teredo, ORCHID, AS112…
    ['fc00::', 7, 'unique-local'],
    ['fe80::', 10, 'link-local'],
    ['fec0::', 10, 'private'], // deprecated site-local
    ['ff00::', 8, 'multicast'],
    ['2000::', 3, 'public'],
  ] satisfies V6Range[]
).map(([base, prefix, kind]) => [parseIPv6(base), prefix, kind]);

export function addressClass(ip: string): AddressClass {
  const address = ip.replace(/%.*$/, ''); // a zone id (fe80::1%eth0) names an interface, not an address
  switch (isIP(address)) {
    case 4:
      return ipv4Class(ipv4ToNumber(address));
    case 6:
      return ipv6Class(parseIPv6(address));
    default:
      return 'invalid';
  }
}

/** A canonical text for comparing IP addresses (`0:0::1` and `::1` alike); undefined if not an IP. */
export function canonicalIp(ip: string): string | undefined {
  const address = ip.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  switch (isIP(address)) {
    case 4:
      return address;
    case 6:
      return parseIPv6(address)
        .map((h) => h.toString(16))
        .join(':');
    default:
      return undefined;
  }
}

function ipv4Class(n: number): AddressClass {
  for (const [base, prefix, kind] of V4_RANGES) {
    if (n >>> (32 - prefix) === base >>> (32 - prefix)) return kind;
  }
  return 'public';
}

function ipv6Class(h: number[]): AddressClass {
  const embedded = embeddedIPv4(h);
  if (embedded !== undefined) return ipv4Class(embedded);
  for (const [base, prefix, kind] of V6_RANGES) if (inPrefix(h, base, prefix)) return kind;
  return 'reserved';
}

/** The IPv4 address an IPv6 address reaches through mapping, NAT64 or 6to4, if any. */
function embeddedIPv4(h: number[]): number | undefined {
  const mapped = h[0] === 0 && h[1] === 0 && h[2] === 0 && h[3] === 0 && h[4] === 0 && h[5] === 0xffff;
  const nat64 = h[0] === 0x64 && h[1] === 0xff9b && h[2] === 0 && h[3] === 0 && h[4] === 0 && h[5] === 0;
  if (mapped || nat64) return (h[6]! * 0x10000 + h[7]!) >>> 0;
  if (h[0] === 0x2002) return (h[1]! * 0x10000 + h[2]!) >>> 0;
  return undefined;
}

function inPrefix(h: number[], base: number[], prefix: number): boolean {
  for (let i = 0, bits = prefix; bits > 0; i++, bits -= 16) {
    const mask = bits >= 16 ? 0xffff : (0xffff << (16 - bits)) & 0xffff;
    if ((h[i]! & mask) !== (base[i]! & mask)) return false;
  }
  return true;
}

function ipv4ToNumber(ip: string): number {
  return ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0) >>> 0;
}

/** Eight 16-bit groups of an address that net.isIP accepted as IPv6 (zone id removed). */
function parseIPv6(ip: string): number[] {
  let text = ip;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = ipv4ToNumber(dotted[1]!);
    text = `${text.slice(0, dotted.index)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const groups = (part: string | undefined): number[] => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const left = groups(head);
  const right = groups(tail);
  const zeros = tail === undefined ? [] : new Array<number>(8 - left.length - right.length).fill(0);
  return [...left, ...zeros, ...right];
}
