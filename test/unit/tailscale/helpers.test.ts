import { describe, expect, it } from 'vitest';
import { parseRetryAfter, sanitizeKeyDescription } from '../../../lib/tailscale/index.js';

describe('parseRetryAfter', () => {
  const now = new Date('2026-03-14T08:00:00Z');

  it('reads delta-seconds', () => {
    expect(parseRetryAfter('7', now)).toBe(7000);
  });

  it('reads an HTTP date relative to now, never negative', () => {
    expect(parseRetryAfter('Sat, 14 Mar 2026 08:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sat, 14 Mar 2026 07:00:00 GMT', now)).toBe(0);
  });

  it('ignores an absent or unparsable header', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});

describe('sanitizeKeyDescription', () => {
  it('keeps a valid description as is', () => {
    expect(sanitizeKeyDescription('k3s-burst i-0f3a8c61d2e7b9054')).toBe('k3s-burst i-0f3a8c61d2e7b9054');
  });

  it('replaces disallowed characters and truncates to 50', () => {
    const out = sanitizeKeyDescription('k3s-burst/pi-lab: launch 2026-03-14T08:00:00Z_0 and a lot more text');
    expect(out.length).toBeLessThanOrEqual(50);
    expect(out).toMatch(/^[A-Za-z0-9 -]+$/);
    expect(out.startsWith('k3s-burst-pi-lab- launch')).toBe(true);
  });
});
