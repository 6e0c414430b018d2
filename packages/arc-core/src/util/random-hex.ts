/**
 * Random hex strings (trace and span ids) from a pool of random bytes filled 4 KiB at a time:
 * one `randomBytes` call per id cost more than the rest of an in-process agent call together.
 */
import { randomFillSync } from 'node:crypto';

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
const pool = Buffer.alloc(4096);
let offset = pool.length;

/** `bytes` random bytes (at most 64) as 2 × `bytes` lower-case hex digits. */
export function randomHex(bytes: number): string {
  if (offset + bytes > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  let out = '';
  for (let i = 0; i < bytes; i++) out += HEX[pool[offset + i]!]!;
  offset += bytes;
  return out;
}
