/**
 * {@link QuotaPort} on Service Quotas: GetServiceQuota for the account's applied value, and
 * GetAWSDefaultServiceQuota when Service Quotas has no applied value for the account
 * (`NoSuchResourceException`). The answer is untrusted: a value that is not a finite,
 * non-negative number is an error, never a quota.
 */
import {
  GetAWSDefaultServiceQuotaCommand,
  GetServiceQuotaCommand,
  type ServiceQuota,
  type ServiceQuotasClient,
} from '@aws-sdk/client-service-quotas';
import {
  assertQuotaCode,
  type QuotaPort,
  QuotaPortError,
  type QuotaValue,
  quotaAccessDeniedMessage,
} from '../core/quotas.js';
import { awsErrorCode, errorMessage } from './logger.js';

export interface ServiceQuotasReaderProps {
  client: ServiceQuotasClient;
}

/** Reads EC2 vCPU quotas of the client's region. */
export class ServiceQuotasReader implements QuotaPort {
  private readonly client: ServiceQuotasClient;

  constructor(props: ServiceQuotasReaderProps) {
    this.client = props.client;
  }

  async getEc2Quota(quotaCode: string): Promise<QuotaValue> {
    assertQuotaCode(quotaCode);
    try {
      const out = await this.client.send(
        new GetServiceQuotaCommand({ ServiceCode: 'ec2', QuotaCode: quotaCode }),
      );
      return parseQuota(quotaCode, out.Quota, 'applied');
    } catch (err) {
      if (err instanceof QuotaPortError) throw err;
      if (awsErrorCode(err) !== 'NoSuchResourceException') throw mapError(quotaCode, err);
    }
    try {
      const out = await this.client.send(
        new GetAWSDefaultServiceQuotaCommand({ ServiceCode: 'ec2', QuotaCode: quotaCode }),
      );
      return parseQuota(quotaCode, out.Quota, 'default');
    } catch (err) {
      if (err instanceof QuotaPortError) throw err;
      throw mapError(quotaCode, err);
    }
  }
}

function parseQuota(
  quotaCode: string,
  q: ServiceQuota | undefined,
  source: QuotaValue['source'],
): QuotaValue {
  const value = q?.Value;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new QuotaPortError(
      'invalid-response',
      quotaCode,
      `Service Quotas answered for ${quotaCode} without a usable value (Quota.Value = ${JSON.stringify(value ?? null)?.slice(0, 40)}); expected a number of vCPUs ≥ 0`,
    );
  }
  if (q?.QuotaCode !== undefined && q.QuotaCode !== quotaCode) {
    throw new QuotaPortError(
      'invalid-response',
      quotaCode,
      `Service Quotas answered for ${String(q.QuotaCode).slice(0, 40)} when asked for ${quotaCode}`,
    );
  }
  const name = typeof q?.QuotaName === 'string' ? q.QuotaName.slice(0, 200) : quotaCode;
  return { quotaCode, quotaName: name, value, source };
}

function mapError(quotaCode: string, err: unknown): QuotaPortError {
  const code = awsErrorCode(err);
  const detail = `${code}: ${errorMessage(err).slice(0, 200)}`;
  switch (code) {
    case 'AccessDeniedException':
    case 'AccessDenied':
      return new QuotaPortError('access-denied', quotaCode, quotaAccessDeniedMessage(quotaCode, code), {
        cause: err,
      });
    case 'NoSuchResourceException':
      return new QuotaPortError(
        'not-found',
        quotaCode,
        `Service Quotas knows no EC2 quota ${quotaCode} in this region (${code})`,
        { cause: err },
      );
    case 'TooManyRequestsException':
      return new QuotaPortError(
        'throttled',
        quotaCode,
        `Service Quotas throttled the read of ${quotaCode} (${code}); run doctor again`,
        {
          cause: err,
        },
      );
    default:
      return new QuotaPortError('unavailable', quotaCode, `cannot read EC2 quota ${quotaCode} (${detail})`, {
        cause: err,
      });
  }
}
