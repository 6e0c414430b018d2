import { isoNow } from '../../src/util/iso-now';

describe('isoNow', () => {
  afterEach(() => jest.useRealTimers());

  it('is new Date().toISOString(), and follows the clock from one millisecond to the next', () => {
    jest.useFakeTimers({ now: Date.parse('2026-11-21T10:00:00.000Z') });
    expect(isoNow()).toBe('2026-11-21T10:00:00.000Z');
    expect(isoNow()).toBe('2026-11-21T10:00:00.000Z');
    jest.advanceTimersByTime(1);
    expect(isoNow()).toBe('2026-11-21T10:00:00.001Z');
    jest.setSystemTime(Date.parse('2027-01-02T03:04:05.678Z'));
    expect(isoNow()).toBe('2027-01-02T03:04:05.678Z');
  });

  it('matches the real clock', () => {
    const before = Date.now();
    const now = Date.parse(isoNow());
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });
});
