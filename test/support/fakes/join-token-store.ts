/**
 * In-memory {@link JoinTokenStorePort}: keeps every value put (the last is AWSCURRENT), and can
 * fail the next writes like an AccessDeniedException would.
 */
import type { JoinTokenStorePort } from '../../../lib/agent/ports.js';
import type { JoinTokenSecret } from '../../../lib/events/join-token.js';

export class FakeJoinTokenStore implements JoinTokenStorePort {
  readonly versions: string[] = [];
  private failures = 0;

  async put(value: JoinTokenSecret): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      throw new Error('PutSecretValue → 400 AccessDeniedException: not authorized (injected)');
    }
    this.versions.push(JSON.stringify(value));
  }

  /** The current value as launch reads it (GetSecretValue SecretString), if any. */
  async read(): Promise<string | undefined> {
    return this.versions.at(-1);
  }

  /** Fail the next `times` puts. */
  failNext(times = 1): void {
    this.failures = times;
  }
}
