import type { z } from 'zod';
import { SecretInvalidError, SecretNotSetError, type SecretsPort } from '../../core/ports.js';

/** In-memory {@link SecretsPort}: missing or empty → SecretNotSetError, bad JSON → SecretInvalidError. */
export class FakeSecrets implements SecretsPort {
  readonly values = new Map<string, string>();
  /** Number of reads per secret name. */
  readonly reads = new Map<string, number>();

  constructor(initial: Record<string, string | object> = {}) {
    for (const [k, v] of Object.entries(initial)) this.set(k, v);
  }

  set(name: string, value: string | object): void {
    this.values.set(name, typeof value === 'string' ? value : JSON.stringify(value));
  }

  async getSecret(name: string): Promise<string> {
    this.reads.set(name, (this.reads.get(name) ?? 0) + 1);
    const v = this.values.get(name);
    if (v === undefined) throw new SecretNotSetError(name, 'does not exist');
    if (v.trim() === '') throw new SecretNotSetError(name, 'is empty');
    return v;
  }

  async getJsonSecret<T>(name: string, schema: z.ZodType<T>): Promise<T> {
    const raw = await this.getSecret(name);
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new SecretInvalidError(name, ['the value is not JSON']);
    }
    const r = schema.safeParse(parsed);
    if (!r.success) {
      throw new SecretInvalidError(
        name,
        r.error.issues.map((i) => `${i.path.join('.') || '$'}: ${i.code}`),
      );
    }
    return r.data;
  }
}
