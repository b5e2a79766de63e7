import { describe, expect, it } from 'vitest';
import {
  credentialsAware,
  isCredentialsError,
  NoCredentialsError,
  resolveRegion,
} from '../../../lib/ops/context.js';
import { isUsableStackStatus } from '../../../lib/ops/deployment.js';
import { OpsError, OpsUsageError } from '../../../lib/ops/errors.js';

const named = (name: string, message = 'x') => Object.assign(new Error(message), { name });

describe('ops context helpers', () => {
  it('resolveRegion: the flag wins when valid, the config region otherwise; a bad flag is a usage error', () => {
    expect(resolveRegion(undefined, 'eu-central-1')).toBe('eu-central-1');
    expect(resolveRegion('us-east-2', 'eu-central-1')).toBe('us-east-2');
    expect(() => resolveRegion('Frankfurt', 'eu-central-1')).toThrow(OpsUsageError);
    expect(() => resolveRegion('Frankfurt', 'eu-central-1')).toThrow(
      /--region must be an AWS region .*"Frankfurt"/,
    );
  });

  it('isCredentialsError recognises missing, expired and refused credentials only', () => {
    expect(isCredentialsError(named('CredentialsProviderError'))).toBe(true);
    expect(isCredentialsError(named('ExpiredToken'))).toBe(true);
    expect(isCredentialsError(named('UnrecognizedClientException'))).toBe(true);
    expect(isCredentialsError(new Error('Could not load credentials from any providers'))).toBe(true);
    expect(isCredentialsError(named('AccessDeniedException'))).toBe(false);
    expect(isCredentialsError(named('ValidationError', 'Stack does not exist'))).toBe(false);
  });

  it('credentialsAware unwraps adapter errors to find a credentials cause', () => {
    const wrapped = new OpsError('cannot describe stack', { cause: named('CredentialsProviderError') });
    const mapped = credentialsAware(wrapped, 'eu-central-1');
    expect(mapped).toBeInstanceOf(NoCredentialsError);
    expect((mapped as Error).message).toContain('no usable AWS credentials for eu-central-1');
    const other = new OpsError('boom', { cause: named('Throttling') });
    expect(credentialsAware(other, 'eu-central-1')).toBe(other);
  });

  it('isUsableStackStatus accepts complete states except rollbacks of a create and deletes', () => {
    for (const s of ['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE', 'IMPORT_COMPLETE']) {
      expect(isUsableStackStatus(s), s).toBe(true);
    }
    for (const s of [
      'ROLLBACK_COMPLETE',
      'DELETE_COMPLETE',
      'CREATE_IN_PROGRESS',
      'UPDATE_ROLLBACK_FAILED',
      'REVIEW_IN_PROGRESS',
    ]) {
      expect(isUsableStackStatus(s), s).toBe(false);
    }
  });
});
