/** Chat ids the core generates when chat.start does not name one. */
import { randomFillSync } from 'node:crypto';

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
const ID_BYTES = 8;
const randomPool = Buffer.alloc(ID_BYTES * 256);
let poolOffset = randomPool.length;
const idBuffer = Buffer.from(`chat-${'0'.repeat(2 * ID_BYTES)}`, 'latin1');

/**
 * `chat-` + 16 hex digits (64 random bits). Written into a buffer and read back as one flat
 * string: an id built by concatenation is a rope that V8 flattens (a copy) the first time the
 * chat store hashes it, which made a Map lookup over many chats twice as slow.
 */
export function newChatId(): string {
  if (poolOffset === randomPool.length) {
    randomFillSync(randomPool);
    poolOffset = 0;
  }
  for (let i = 0; i < ID_BYTES; i++) {
    const hex = HEX[randomPool[poolOffset + i]!]!;
    idBuffer[5 + 2 * i] = hex.charCodeAt(0);
    idBuffer[6 + 2 * i] = hex.charCodeAt(1);
  }
  poolOffset += ID_BYTES;
  return idBuffer.toString('latin1');
}
