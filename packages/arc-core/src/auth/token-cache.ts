/**
 * Verified tokens, so the hot path checks a signature once per token and period, not once per
 * request. Bounded (least recently used entries go first) and keyed by a SHA-256 of the token, so
 * the cache holds no bearer tokens. An entry lives until the token's `exp` or `maxAgeMs` after
 * verification, whichever is first (the cap bounds how long a key removed from a JWKS still
 * counts); an expired entry is dropped when looked up, never served.
 */
import * as crypto from 'node:crypto';

/**
 * SHA-256, base64url. crypto.hash (Node >= 20.12) is one call without a Hash object: about half
 * the cost on the hot path, where every request's token is hashed to find it in the cache.
 */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'base64url') => string }).hash;
const sha256: (text: string) => string =
  typeof oneShot === 'function'
    ? (text) => oneShot('sha256', text, 'base64url')
    : (text) => crypto.createHash('sha256').update(text).digest('base64url');

export interface Entry<V> {
  value: V;
  /** Epoch ms; the entry is unusable from this instant on. */
  expiresAt: number;
}

export class TokenCache<V> {
  private readonly entries = new Map<string, Entry<V>>();

  constructor(
    /** Most entries kept; 0 disables the cache. */
    readonly maxEntries: number,
    /** Longest an entry is kept after verification, in ms. */
    readonly maxAgeMs: number,
  ) {}

  /** The cache key of a token. */
  static keyOf(token: string): string {
    return sha256(token);
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string, now: number): V | undefined {
    return this.entry(key, now)?.value;
  }

  /** The live entry of `key` (value and the instant it stops being usable), marked most recently used. */
  entry(key: string, now: number): Readonly<Entry<V>> | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= now) return undefined;
    this.entries.set(key, entry); // most recently used last
    return entry;
  }

  /** The instant an entry set now would stop being usable (see set), or undefined when it would not be kept. */
  until(expiresAt: number | undefined, now: number): number | undefined {
    if (this.maxEntries <= 0) return undefined;
    const until = Math.min(expiresAt ?? Infinity, now + this.maxAgeMs);
    return until > now ? until : undefined;
  }

  /** Keeps a verified value until min(expiresAt, now + maxAgeMs); expiresAt undefined = no expiry of its own. */
  set(key: string, value: V, expiresAt: number | undefined, now: number): void {
    const until = this.until(expiresAt, now);
    if (until === undefined) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: until });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  clear(): void {
    this.entries.clear();
  }
}
