import { randomHex } from '../../src/util/random-hex';

test('randomHex: 2 × n lower-case hex digits, different every time, across pool refills', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const id = randomHex(16); // 2000 × 16 bytes: the 4 KiB pool refilled several times
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    seen.add(id);
  }
  expect(seen.size).toBe(2000);
  expect(randomHex(8)).toMatch(/^[0-9a-f]{16}$/);
  expect(randomHex(1)).toMatch(/^[0-9a-f]{2}$/);
});
