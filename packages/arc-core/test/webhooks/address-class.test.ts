/**
 * Address classes for the SSRF guard: each special-purpose block, its edges, and the IPv6 forms
 * that carry an IPv4 address.
 */
import { addressClass, canonicalIp, type AddressClass } from '../../src/webhooks/address-class';

const cases: Array<[string, AddressClass]> = [
  // IPv4
  ['8.8.8.8', 'public'],
  ['93.184.216.34', 'public'],
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['10.0.0.1', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['172.15.255.255', 'public'],
  ['172.32.0.0', 'public'],
  ['192.168.1.1', 'private'],
  ['169.254.169.254', 'cloud-metadata'],
  ['100.100.100.200', 'cloud-metadata'],
  ['169.254.1.1', 'link-local'],
  ['169.254.170.2', 'link-local'],
  ['100.64.0.1', 'cgnat'],
  ['100.127.255.255', 'cgnat'],
  ['100.63.255.255', 'public'],
  ['100.128.0.0', 'public'],
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['192.0.0.8', 'reserved'],
  ['192.88.99.1', 'reserved'],
  ['240.0.0.1', 'reserved'],
  ['255.255.255.254', 'reserved'],
  ['255.255.255.255', 'broadcast'],
  ['192.0.2.1', 'documentation'],
  ['198.51.100.7', 'documentation'],
  ['203.0.113.9', 'documentation'],
  ['198.18.0.1', 'benchmarking'],
  ['198.19.255.255', 'benchmarking'],
  ['198.20.0.0', 'public'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  // IPv6
  ['::', 'unspecified'],
  ['::1', 'loopback'],
  ['0:0:0:0:0:0:0:1', 'loopback'],
  ['2606:4700:4700::1111', 'public'],
  ['2a00:1450:4001:81b::200e', 'public'],
  ['fd00:ec2::254', 'cloud-metadata'],
  ['fd12:3456::1', 'unique-local'],
  ['fc00::1', 'unique-local'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['febf:ffff::1', 'link-local'],
  ['fec0::1', 'private'],
  ['ff02::1', 'multicast'],
  ['2001:db8::1', 'documentation'],
  ['3fff::1', 'documentation'],
  ['3fff:1000::1', 'public'],
  ['2001:2::1', 'benchmarking'],
  ['2001::1', 'reserved'], // Teredo
  ['2001:1ff::1', 'reserved'],
  ['2001:200::1', 'public'],
  ['100::1', 'reserved'],
  ['4000::1', 'reserved'],
  ['5f00::1', 'reserved'],
  ['::127.0.0.1', 'reserved'], // deprecated IPv4-compatible
  // IPv6 carrying IPv4: judged by the IPv4 address
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['::ffff:10.1.2.3', 'private'],
  ['::ffff:169.254.169.254', 'cloud-metadata'],
  ['::ffff:8.8.8.8', 'public'],
  ['64:ff9b::7f00:1', 'loopback'],
  ['64:ff9b::8.8.8.8', 'public'],
  ['64:ff9b:1::1', 'private'],
  ['2002:7f00:1::1', 'loopback'],
  ['2002:a00:1::', 'private'],
  ['2002:808:808::1', 'public'],
  // not addresses
  ['example.com', 'invalid'],
  ['', 'invalid'],
  ['1.2.3', 'invalid'],
  ['01.2.3.4', 'invalid'],
  ['[::1]', 'invalid'],
];

describe('addressClass', () => {
  it.each(cases)('%s is %s', (ip, expected) => {
    expect(addressClass(ip)).toBe(expected);
  });
});

describe('canonicalIp', () => {
  it('gives one text for every spelling of an address, brackets and zone ids removed', () => {
    expect(canonicalIp('[::1]')).toBe('0:0:0:0:0:0:0:1');
    expect(canonicalIp('0:0::1')).toBe('0:0:0:0:0:0:0:1');
    expect(canonicalIp('fe80::1%eth0')).toBe('fe80:0:0:0:0:0:0:1');
    expect(canonicalIp('::ffff:1.2.3.4')).toBe(canonicalIp('::ffff:102:304'));
    expect(canonicalIp('1.2.3.4')).toBe('1.2.3.4');
  });

  it('is undefined for a host name', () => {
    expect(canonicalIp('hooks.example')).toBeUndefined();
  });
});
