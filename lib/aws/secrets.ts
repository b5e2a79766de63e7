/**
 * SecretsPort on Secrets Manager GetSecretValue with a small TTL cache of our own (rather
 * than Powertools' SecretsProvider) so the clock is injectable and the error text is ours:
 * no error or log line built here ever contains a secret value.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { z } from 'zod';
import type { Clock } from '../core/clock.js';
import { type Logger, silentLogger } from '../core/logger.js';
import { SecretInvalidError, SecretNotSetError, type SecretsPort, SecretsPortError } from '../core/ports.js';
import { systemClock } from '../system/clock.js';
import { awsErrorCode } from './logger.js';

/** Base error of the Secrets Manager adapter. */
export class SecretsManagerError extends SecretsPortError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SecretsManagerError';
  }
}

export interface SecretsManagerSecretsProps {
  client: SecretsManagerClient;
  /** How long a value is served from memory. @default 300 */
  ttlSeconds?: number;
  clock?: Pick<Clock, 'now'>;
  logger?: Logger;
}

/** {@link SecretsPort} on Secrets Manager, cached per secret name for `ttlSeconds`. */
export class SecretsManagerSecrets implements SecretsPort {
  private readonly cache = new Map<string, { value: string; fetchedAtMs: number }>();
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly ttlMs: number;
  private readonly clock: Pick<Clock, 'now'>;
  private readonly log: Logger;

  constructor(private readonly props: SecretsManagerSecretsProps) {
    this.ttlMs = (props.ttlSeconds ?? 300) * 1000;
    this.clock = props.clock ?? systemClock;
    this.log = props.logger ?? silentLogger;
  }

  async getSecret(name: string): Promise<string> {
    const hit = this.cache.get(name);
    if (hit && this.clock.now() - hit.fetchedAtMs < this.ttlMs) return hit.value;
    // Concurrent callers share one request.
    const pending = this.inFlight.get(name);
    if (pending) return pending;
    const p = this.fetch(name).finally(() => this.inFlight.delete(name));
    this.inFlight.set(name, p);
    return p;
  }

  async getJsonSecret<T>(name: string, schema: z.ZodType<T>): Promise<T> {
    const raw = await this.getSecret(name);
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      // JSON.parse's message quotes the input: never pass it on.
      throw new SecretInvalidError(name, ['the value is not valid JSON']);
    }
    const result = schema.safeParse(parsed);
    if (!result.success) {
      // Paths and issue codes only: zod messages can echo received values.
      throw new SecretInvalidError(
        name,
        result.error.issues.map((i) => `${['$', ...i.path.map(String)].join('.')}: ${i.code}`),
      );
    }
    return result.data;
  }

  /** Forget cached values (all, or one secret), e.g. after a rotation. */
  invalidate(name?: string): void {
    if (name === undefined) this.cache.clear();
    else this.cache.delete(name);
  }

  private async fetch(name: string): Promise<string> {
    let value: string | undefined;
    try {
      const out = await this.props.client.send(new GetSecretValueCommand({ SecretId: name }));
      value =
        out.SecretString ?? (out.SecretBinary ? Buffer.from(out.SecretBinary).toString('utf8') : undefined);
    } catch (err) {
      const code = awsErrorCode(err);
      if (code === 'ResourceNotFoundException') {
        throw new SecretNotSetError(
          name,
          'does not exist or has no current value (ResourceNotFoundException)',
          {
            cause: err,
          },
        );
      }
      throw new SecretsManagerError(
        `cannot read secret "${name}" (${code}); check the Lambda role has secretsmanager:GetSecretValue on it`,
        { cause: err },
      );
    }
    if (value === undefined || value.trim() === '') throw new SecretNotSetError(name, 'has an empty value');
    this.cache.set(name, { value, fetchedAtMs: this.clock.now() });
    this.log.debug('secret fetched', { secret: name });
    return value;
  }
}
