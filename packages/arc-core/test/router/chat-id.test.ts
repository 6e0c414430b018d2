import { newChatId } from '../../src/router/chat-id';

describe('newChatId', () => {
  it('is chat- and 16 hex digits, and never repeats across many refills of its random pool', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const id = newChatId();
      expect(id).toMatch(/^chat-[0-9a-f]{16}$/);
      ids.add(id);
    }
    expect(ids.size).toBe(5000);
  });

  it('returns independent strings (the buffer it is written into is reused)', () => {
    const first = newChatId();
    const copy = `${first}`;
    newChatId();
    expect(first).toBe(copy);
  });

  it('uses every hex digit in every position (the 64 bits are random)', () => {
    const seen = Array.from({ length: 16 }, () => new Set<string>());
    for (let i = 0; i < 2000; i++) [...newChatId().slice(5)].forEach((c, pos) => seen[pos]!.add(c));
    for (const digits of seen) expect(digits.size).toBe(16);
  });
});
