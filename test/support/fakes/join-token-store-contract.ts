/**
 * Contract of {@link JoinTokenStorePort}, run on the real Secrets Manager adapter (aws-lite,
 * against moto) and on the in-memory fake: after `put` resolves, a read returns exactly that
 * value, parseable by the schema launch uses; a later put replaces it.
 */
import { describe, expect, it } from 'vitest';
import type { JoinTokenStorePort } from '../../../lib/agent/ports.js';
import { JoinTokenSecret } from '../../../lib/events/join-token.js';

export interface JoinTokenStoreSubject {
  store: JoinTokenStorePort;
  /** SecretString of the current version, as the launch Lambda's GetSecretValue sees it. */
  read(): Promise<string | undefined>;
}

const value = (id: string, secret: string, expiresAt: string): JoinTokenSecret => ({
  token: `K10${'9f'.repeat(32)}::${id}.${secret}`,
  tokenId: id,
  expiresAt,
});

export function joinTokenStoreContract(name: string, make: () => Promise<JoinTokenStoreSubject>): void {
  describe(`JoinTokenStorePort contract: ${name}`, () => {
    it('a put value is what a reader gets, and it parses as the launch schema', async () => {
      const s = await make();
      const v = value('abc123', '0123456789abcdef', '2026-03-14T09:40:00.000Z');
      await s.store.put(v);
      const raw = await s.read();
      expect(raw).toBeDefined();
      expect(JoinTokenSecret.parse(JSON.parse(raw as string))).toEqual(v);
    });

    it('a later put replaces the current value', async () => {
      const s = await make();
      await s.store.put(value('abc123', '0123456789abcdef', '2026-03-14T09:40:00.000Z'));
      const next = value('def456', 'fedcba9876543210', '2026-03-14T10:00:00.000Z');
      await s.store.put(next);
      expect(JSON.parse((await s.read()) as string)).toEqual(next);
    });
  });
}
