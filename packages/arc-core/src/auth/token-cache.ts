/**
 * Verified tokens, so the hot path checks a signature once per token and period, not once per
 * request. Bounded (least recently used entries go first) and keyed by a SHA-256 of the token, so
 * the cache holds no bearer tokens. An entry lives until the token's `exp` or `maxAgeMs` after
 * verification, whichever is first (the cap bounds how long a key removed from a JWKS still
 * counts); an expired entry is dropped when looked up, never served.
 */
import { createHash } from 'node:crypto';

interface Entry<V> {
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
    return createHash('sha256').update(token).digest('base64url');
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string, now: number): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= now) return undefined;
    this.entries.set(key, entry); // most recently used last
    return entry.value;
  }

  /** Keeps a verified value until min(expiresAt, now + maxAgeMs); expiresAt undefined = no expiry of its own. */
  set(key: string, value: V, expiresAt: number | undefined, now: number): void {
    if (this.maxEntries <= 0) return;
    const until = Math.min(expiresAt ?? Infinity, now + this.maxAgeMs);
    if (until <= now) return;
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
