/**
 * The SSRF guard: URL rules, numeric IPv4 spellings, IPv6 literals, names resolving to private
 * addresses (a fake resolver stands in for DNS), the two settings, and the connect-time lookup.
 */
import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { ArcError } from '../../src/errors/arc-error';
import { ArcErrorCode } from '../../src/errors/codes';
import {
  callbackChecker,
  checkCallbackUrl,
  DEFAULT_WEBHOOK_POLICY,
  resolveHost,
  safeLookup,
  type HostResolver,
  type WebhookNetworkPolicy,
} from '../../src/webhooks/ssrf';

const PRIVATE_HINT = 'set WEBHOOK_ALLOW_PRIVATE_NETWORKS=true, or list the host in WEBHOOK_ALLOWED_HOSTS';
const LISTED_ONLY_HINT = 'refused even with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true: list the host in WEBHOOK_ALLOWED_HOSTS';
const open: WebhookNetworkPolicy = { allowedHosts: [], allowPrivateNetworks: true };

/** A resolver answering from a table; records the names it was asked. */
function fakeDns(table: Record<string, string[]>): HostResolver & { asked: string[] } {
  const asked: string[] = [];
  const resolve = async (hostname: string): Promise<string[]> => {
    asked.push(hostname);
    const answer = table[hostname];
    if (answer === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return answer;
  };
  return Object.assign(resolve, { asked });
}

async function refusal(promise: Promise<unknown>): Promise<ArcError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ArcError);
  const arcError = error as ArcError;
  expect(arcError.code).toBe(ArcErrorCode.InvalidParams);
  expect(arcError.details.field).toBe('params.callbackUrl');
  return arcError;
}

describe('checkCallbackUrl: allowed', () => {
  it('accepts an https URL whose host resolves to public addresses, and returns them', async () => {
    const dns = fakeDns({ 'hooks.example.com': ['93.184.216.34', '2606:2800:220:1::1'] });
    const checked = await checkCallbackUrl('https://hooks.example.com/arc?x=1', DEFAULT_WEBHOOK_POLICY, dns);
    expect(checked.url.href).toBe('https://hooks.example.com/arc?x=1');
    expect(checked.addresses).toEqual(['93.184.216.34', '2606:2800:220:1::1']);
  });

  it('accepts a public IP literal without asking DNS', async () => {
    const dns = fakeDns({});
    expect((await checkCallbackUrl('http://8.8.8.8:8080/', DEFAULT_WEBHOOK_POLICY, dns)).addresses).toEqual(['8.8.8.8']);
    expect((await checkCallbackUrl('http://[2606:4700:4700::1111]/', DEFAULT_WEBHOOK_POLICY, dns)).addresses).toEqual([
      '2606:4700:4700::1111',
    ]);
    expect(dns.asked).toEqual([]);
  });
});

describe('checkCallbackUrl: URL rules', () => {
  it.each(['ftp://hooks.example.com/', 'file:///etc/passwd', 'javascript:alert(1)', 'ws://hooks.example.com/'])(
    'refuses the scheme of %s',
    async (url) => {
      const error = await refusal(checkCallbackUrl(url, open, fakeDns({})));
      expect(error.message).toMatch(/^callbackUrl must use http or https, not [a-z]+$/);
      expect(error.details.reason).toBe('scheme');
    },
  );

  it.each(['http://user:pw@hooks.example.com/', 'https://token@hooks.example.com/', 'http://:pw@hooks.example.com/'])(
    'refuses credentials in %s',
    async (url) => {
      const error = await refusal(checkCallbackUrl(url, open, fakeDns({})));
      expect(error.message).toContain('must not contain credentials');
      expect(error.details.reason).toBe('credentials');
    },
  );

  it.each(['not a url', '/relative/path', 'http://', 'http://exa mple.com/'])('refuses %j as not a URL', async (url) => {
    const error = await refusal(checkCallbackUrl(url, open, fakeDns({})));
    expect(error.message).toBe('callbackUrl is not a valid absolute URL');
  });

  it('refuses an IPv6 literal with a zone id, saying zone ids are not supported', async () => {
    for (const url of ['http://[fe80::1%25eth0]/', 'http://[fe80::1%eth0]:8080/']) {
      const error = await refusal(checkCallbackUrl(url, open, fakeDns({})));
      expect(error.message).toBe('callbackUrl is not a valid absolute URL (IPv6 zone ids such as %25eth0 are not supported)');
    }
  });
});

describe('checkCallbackUrl: addresses', () => {
  it.each([
    'http://127.0.0.1/',
    'http://2130706433/',
    'http://0177.0.0.1/',
    'http://0x7f.1/',
    'http://0x7f000001/',
    'http://017700000001/',
    'http://127.1/',
    'http://127.0.0.1./',
    'http://%31%32%37.0.0.1/',
    'http://①②⑦.0.0.1/',
  ])('refuses %s as loopback 127.0.0.1 (URL parsing normalises the numeric forms), naming the settings', async (url) => {
    const dns = fakeDns({});
    const error = await refusal(checkCallbackUrl(url, DEFAULT_WEBHOOK_POLICY, dns));
    expect(error.message).toBe(
      `callbackUrl address 127.0.0.1 is a loopback address; webhooks to private networks are refused unless allowed: ${PRIVATE_HINT}`,
    );
    expect(error.details).toMatchObject({ reason: 'loopback', address: '127.0.0.1' });
    expect(dns.asked).toEqual([]);
  });

  it.each([
    ['http://[::1]:8080/', 'loopback'],
    ['http://[::ffff:127.0.0.1]/', 'loopback'],
    ['http://[64:ff9b::a00:1]/', 'private'],
    ['http://[fe80::1]/', 'link-local'],
    ['http://[fd12::1]/', 'unique-local'],
    ['http://10.1.2.3/', 'private'],
    ['http://100.64.1.1/', 'cgnat'],
  ])('refuses %s (%s) by default and allows it with WEBHOOK_ALLOW_PRIVATE_NETWORKS', async (url, kind) => {
    const error = await refusal(checkCallbackUrl(url, DEFAULT_WEBHOOK_POLICY, fakeDns({})));
    expect(error.details.reason).toBe(kind);
    expect(error.message).toContain(PRIVATE_HINT);
    await expect(checkCallbackUrl(url, open, fakeDns({}))).resolves.toMatchObject({ addresses: [expect.any(String)] });
  });

  it.each([
    ['http://169.254.169.254/latest/meta-data/', 'cloud-metadata'],
    ['http://100.100.100.200/', 'cloud-metadata'],
    ['http://[fd00:ec2::254]/', 'cloud-metadata'],
    ['http://0/', 'unspecified'],
    ['http://224.0.0.1/', 'multicast'],
    ['http://255.255.255.255/', 'broadcast'],
    ['http://192.0.2.1/', 'documentation'],
    ['http://198.18.0.1/', 'benchmarking'],
    ['http://240.0.0.1/', 'reserved'],
  ])('refuses %s (%s) even with WEBHOOK_ALLOW_PRIVATE_NETWORKS; only WEBHOOK_ALLOWED_HOSTS allows it', async (url, kind) => {
    const error = await refusal(checkCallbackUrl(url, open, fakeDns({})));
    expect(error.details.reason).toBe(kind);
    expect(error.message).toContain(LISTED_ONLY_HINT);
    const host = new URL(url).hostname;
    await expect(checkCallbackUrl(url, { allowedHosts: [host], allowPrivateNetworks: false }, fakeDns({}))).resolves.toBeDefined();
  });

  it.each(['http://localhost:3000/hook', 'http://LOCALHOST./', 'http://api.localhost/'])(
    'refuses %s as a loopback name without asking DNS',
    async (url) => {
      const dns = fakeDns({ localhost: ['8.8.8.8'], 'localhost.': ['8.8.8.8'], 'api.localhost': ['8.8.8.8'] });
      const error = await refusal(checkCallbackUrl(url, DEFAULT_WEBHOOK_POLICY, dns));
      expect(error.message).toMatch(/^callbackUrl host "(api\.)?localhost\.?" is a loopback name; webhooks to private networks/);
      expect(dns.asked).toEqual([]);
    },
  );

  it('resolves localhost normally once private networks are allowed', async () => {
    const dns = fakeDns({ localhost: ['127.0.0.1', '::1'] });
    expect((await checkCallbackUrl('http://localhost:3000/', open, dns)).addresses).toEqual(['127.0.0.1', '::1']);
  });

  it('refuses a name that resolves to a private address, saying which address and which setting', async () => {
    const dns = fakeDns({ 'hooks.internal': ['10.0.0.7'] });
    const error = await refusal(checkCallbackUrl('https://hooks.internal/arc', DEFAULT_WEBHOOK_POLICY, dns));
    expect(error.message).toBe(
      `callbackUrl host "hooks.internal" resolves to 10.0.0.7, which is a private address; webhooks to private networks are refused unless allowed: ${PRIVATE_HINT}`,
    );
    expect(error.details).toEqual({ field: 'params.callbackUrl', reason: 'private', host: 'hooks.internal', address: '10.0.0.7' });
  });

  it('refuses a name when any of its addresses is refused, and public names that point at loopback', async () => {
    const dns = fakeDns({
      'mixed.example': ['93.184.216.34', '192.168.0.10'],
      '127.0.0.1.nip.io': ['127.0.0.1'],
      'v6.example': ['::ffff:a9fe:a9fe'],
    });
    expect((await refusal(checkCallbackUrl('http://mixed.example/', DEFAULT_WEBHOOK_POLICY, dns))).details.address).toBe('192.168.0.10');
    expect((await refusal(checkCallbackUrl('http://127.0.0.1.nip.io/', DEFAULT_WEBHOOK_POLICY, dns))).details.reason).toBe('loopback');
    expect((await refusal(checkCallbackUrl('http://v6.example/', open, dns))).details.reason).toBe('cloud-metadata');
  });

  it('refuses a resolver answer that is not an IP address', async () => {
    const error = await refusal(checkCallbackUrl('http://odd.example/', DEFAULT_WEBHOOK_POLICY, fakeDns({ 'odd.example': ['garbage'] })));
    expect(error.message).toContain('resolves to garbage, which is not an IP address');
    expect(error.details.reason).toBe('invalid');
  });

  it('refuses a name that does not resolve, with the resolver code when there is one', async () => {
    const missing = await refusal(checkCallbackUrl('http://nowhere.example/', DEFAULT_WEBHOOK_POLICY, fakeDns({})));
    expect(missing.message).toBe('callbackUrl host "nowhere.example" could not be resolved (ENOTFOUND)');
    expect(missing.details).toEqual({ field: 'params.callbackUrl', reason: 'dns', host: 'nowhere.example' });
    const failing = await refusal(checkCallbackUrl('http://x.example/', DEFAULT_WEBHOOK_POLICY, () => Promise.reject(new Error('boom'))));
    expect(failing.message).toBe('callbackUrl host "x.example" could not be resolved');
    const empty = await refusal(checkCallbackUrl('http://x.example/', DEFAULT_WEBHOOK_POLICY, fakeDns({ 'x.example': [] })));
    expect(empty.message).toBe('callbackUrl host "x.example" resolved to no address');
  });

  it('keeps client-supplied text in messages bounded', async () => {
    const long = `${'a'.repeat(300)}.example`;
    const error = await refusal(checkCallbackUrl(`http://${long}/`, DEFAULT_WEBHOOK_POLICY, fakeDns({})));
    expect(error.message).toContain(`"${'a'.repeat(100)}…"`);
    expect(error.message.length).toBeLessThan(200);
    const scheme = await refusal(checkCallbackUrl(`${'x'.repeat(300)}:/y`, DEFAULT_WEBHOOK_POLICY, fakeDns({})));
    expect(scheme.message.length).toBeLessThan(200);
  });
});

describe('checkCallbackUrl: WEBHOOK_ALLOWED_HOSTS', () => {
  const dns = fakeDns({ 'hooks.internal': ['10.0.0.7'], 'sub.hooks.internal': ['10.0.0.8'], 'other.internal': ['10.0.0.7'] });

  it('allows a listed host name, compared case-insensitively, whatever it resolves to', async () => {
    const policy = { allowedHosts: ['Hooks.Internal'], allowPrivateNetworks: false };
    expect((await checkCallbackUrl('http://HOOKS.internal:9000/', policy, dns)).addresses).toEqual(['10.0.0.7']);
  });

  it('matches exactly: a subdomain of a listed host is not listed', async () => {
    const policy = { allowedHosts: ['hooks.internal'], allowPrivateNetworks: false };
    expect((await refusal(checkCallbackUrl('http://sub.hooks.internal/', policy, dns))).details.reason).toBe('private');
  });

  it('allows a listed IP address, as the URL host or as an address a name resolves to', async () => {
    const policy = { allowedHosts: ['10.0.0.7', '[::1]'], allowPrivateNetworks: false };
    await expect(checkCallbackUrl('http://other.internal/', policy, dns)).resolves.toMatchObject({ addresses: ['10.0.0.7'] });
    await expect(checkCallbackUrl('http://10.0.0.7:8080/', policy, dns)).resolves.toBeDefined();
    await expect(checkCallbackUrl('http://[0:0::1]/', policy, dns)).resolves.toBeDefined();
    await refusal(checkCallbackUrl('http://10.0.0.8/', policy, dns));
  });
});

describe('callbackChecker (the task engine’s subscribe check)', () => {
  it('resolves for an allowed URL and rejects with the refusal otherwise; default policy when none given', async () => {
    const dns = fakeDns({ 'hooks.example.com': ['93.184.216.34'] });
    await expect(callbackChecker({}, dns)('https://hooks.example.com/')).resolves.toBeUndefined();
    await refusal(callbackChecker()('http://127.0.0.1:9/'));
    await expect(callbackChecker({ allowPrivateNetworks: true })('http://127.0.0.1:9/')).resolves.toBeUndefined();
  });
});

describe('resolveHost (the system resolver)', () => {
  it('returns every address of a name from the hosts file', async () => {
    const addresses = await resolveHost('localhost');
    expect(addresses.length).toBeGreaterThan(0);
    for (const a of addresses) expect(['127.0.0.1', '::1']).toContain(a);
  });
});

describe('safeLookup (connect time)', () => {
  function lookup(fn: LookupFunction, hostname: string, options: Parameters<LookupFunction>[1] = {}) {
    return new Promise<{ error: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number }>((resolve) => {
      fn(hostname, options, (error, address, family) => resolve({ error, address, family }));
    });
  }

  const dns = fakeDns({ 'hooks.example.com': ['93.184.216.34', '2606:2800:220:1::1'], 'rebind.example': ['10.1.1.1'] });

  it('answers like dns.lookup: one address, or all of them', async () => {
    expect(await lookup(safeLookup(DEFAULT_WEBHOOK_POLICY, dns), 'hooks.example.com')).toEqual({
      error: null,
      address: '93.184.216.34',
      family: 4,
    });
    expect(await lookup(safeLookup(DEFAULT_WEBHOOK_POLICY, dns), 'hooks.example.com', { all: true })).toEqual({
      error: null,
      address: [
        { address: '93.184.216.34', family: 4 },
        { address: '2606:2800:220:1::1', family: 6 },
      ],
      family: undefined,
    });
  });

  it('honours the family asked for (number or name)', async () => {
    const fn = safeLookup(DEFAULT_WEBHOOK_POLICY, dns);
    expect(await lookup(fn, 'hooks.example.com', { family: 6 })).toMatchObject({ address: '2606:2800:220:1::1', family: 6 });
    expect(await lookup(fn, 'hooks.example.com', { family: 'IPv6', all: true })).toMatchObject({ address: [{ family: 6 }] });
    expect(await lookup(fn, 'hooks.example.com', { family: 'IPv4' })).toMatchObject({ address: '93.184.216.34' });
    const v4only = await lookup(safeLookup(open, fakeDns({ 'v4.example': ['10.0.0.1'] })), 'v4.example', { family: 6 });
    expect(v4only.error?.message).toBe('callbackUrl host "v4.example" has no IPv6 address');
    expect(v4only.error?.code).toBe('ERR_WEBHOOK_ADDRESS_REFUSED');
  });

  it('refuses at connect time a name that now resolves to a private address (DNS rebinding)', async () => {
    let answers = [['93.184.216.34'], ['10.1.1.1']];
    const rebinding: HostResolver = async () => answers.shift() ?? [];
    await expect(checkCallbackUrl('http://rebind.example/', DEFAULT_WEBHOOK_POLICY, rebinding)).resolves.toBeDefined();
    const result = await lookup(safeLookup(DEFAULT_WEBHOOK_POLICY, rebinding), 'rebind.example');
    expect(result.error?.code).toBe('ERR_WEBHOOK_ADDRESS_REFUSED');
    expect(result.error?.message).toBe(
      `callbackUrl host "rebind.example" resolves to 10.1.1.1, which is a private address; webhooks to private networks are refused unless allowed: ${PRIVATE_HINT}`,
    );
    expect(result.error?.cause).toBeInstanceOf(ArcError);
    answers = [];
  });

  it('checks IP literals and localhost names handed to it directly', async () => {
    const none = fakeDns({});
    expect((await lookup(safeLookup(DEFAULT_WEBHOOK_POLICY, none), '127.0.0.1')).error?.message).toContain('is a loopback address');
    expect(await lookup(safeLookup(DEFAULT_WEBHOOK_POLICY, none), '8.8.8.8')).toEqual({ error: null, address: '8.8.8.8', family: 4 });
    expect((await lookup(safeLookup(DEFAULT_WEBHOOK_POLICY, none), 'localhost')).error?.message).toContain('is a loopback name');
    expect(none.asked).toEqual([]);
  });

  it('reports a DNS failure as a refused connection', async () => {
    const result = await lookup(safeLookup(DEFAULT_WEBHOOK_POLICY, fakeDns({})), 'gone.example');
    expect(result.error?.message).toBe('callbackUrl host "gone.example" could not be resolved (ENOTFOUND)');
  });
});
