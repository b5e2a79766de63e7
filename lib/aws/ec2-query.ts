/**
 * A small EC2 client on the EC2 Query protocol (form-encoded POST, `Version=2016-11-15`,
 * Signature V4 service `ec2`, XML answers) for exactly the five calls k3s-burst makes. The
 * Lambdas use it instead of `@aws-sdk/client-ec2`, whose serde schemas alone are ~850 KB
 * minified and ~280 ms to import (bench `lambda.*`).
 *
 * - Requests: the SDK's request shapes, serialized with EC2's Query names (`TagSpecifications`
 *   → `TagSpecification.N`, `Filters` → `Filter.N.Value.M`, …). A list field this client does
 *   not know is refused rather than guessed.
 * - Answers: parsed with the AWS SDK's own XML parser (`@aws-sdk/xml-builder`) and mapped to
 *   the SDK's result shapes for the fields k3s-burst reads (`…Set/item` lists become arrays, a
 *   single item included).
 * - Errors: {@link Ec2QueryError} with `name` = EC2's `<Code>` (as `awsErrorCode` reads SDK
 *   errors) and the HTTP status. Messages never contain credentials or the user data.
 * - Retries: throttling, 5xx (except capacity codes, which the fleet handles by trying the
 *   next offering) and network failures only, bounded attempts, full jitter; each attempt
 *   has a timeout. RunInstances is safe to retry: fleet.ts sends a ClientToken.
 */
import http from 'node:http';
import https from 'node:https';
import type {
  CreateTagsRequest,
  DescribeInstancesRequest,
  DescribeInstancesResult,
  DescribeSubnetsRequest,
  DescribeSubnetsResult,
  Instance,
  InstanceStateChange,
  ModifyInstanceAttributeRequest,
  Reservation,
  RunInstancesRequest,
  StartInstancesRequest,
  StopInstancesRequest,
  Subnet,
  Tag,
  TerminateInstancesRequest,
  TerminateInstancesResult,
} from '@aws-sdk/client-ec2';
import { parseXML } from '@aws-sdk/xml-builder';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../system/clock.js';
import { backoffDelayMs } from './backoff.js';
import type { Ec2Api } from './fleet.js';
import { FALLBACK_ERROR_CODES, QUOTA_ERROR_CODES } from './offerings.js';
import { type AwsCredentials, signV4 } from './sigv4.js';

export const EC2_API_VERSION = '2016-11-15';

/** The EC2 actions this client can send (IAM `ec2:<Action>`; checked against the policies). */
export const EC2_QUERY_ACTIONS = [
  'RunInstances',
  'DescribeInstances',
  'TerminateInstances',
  'CreateTags',
  'DescribeSubnets',
  'StartInstances',
  'StopInstances',
  'ModifyInstanceAttribute',
] as const;
export type Ec2QueryAction = (typeof EC2_QUERY_ACTIONS)[number];

/** An EC2 error answer (or a transport failure): `name` is EC2's error code. */
export class Ec2QueryError extends Error {
  /** EC2's error code, e.g. `InsufficientInstanceCapacity` (same as `name`). */
  readonly code: string;
  readonly $metadata: { httpStatusCode?: number; requestId?: string };
  constructor(
    readonly action: string,
    code: string,
    readonly status: number | undefined,
    message: string,
    requestId?: string,
  ) {
    super(`${action} → ${status ?? 'no answer'} ${code}${message ? `: ${message}` : ''}`);
    this.name = code;
    this.code = code;
    this.$metadata = { httpStatusCode: status, requestId };
  }
}

export interface Ec2QueryApiOptions {
  region: string;
  /** Static credentials, or a function read per request. @default credentials from `env` */
  credentials?: AwsCredentials | (() => AwsCredentials);
  /** e.g. moto's `http://127.0.0.1:5000`. @default AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL, then the regional endpoint */
  endpoint?: string;
  /** @default process.env */
  env?: Record<string, string | undefined>;
  /** Attempts per call for throttling / 5xx / network failures. @default 3 */
  maxAttempts?: number;
  /** Backoff cap of the first retry; doubles per attempt, full jitter. @default 250 */
  retryBaseMs?: number;
  /** Per attempt. @default 15000 */
  timeoutMs?: number;
  random?: () => number;
  /** Signing time and waits between retries. @default systemClock */
  clock?: Pick<Clock, 'now' | 'sleep'>;
}

/** The EC2 endpoint: explicit override, AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL, then regional. */
export function ec2Endpoint(
  region: string,
  endpoint?: string,
  env: Record<string, string | undefined> = {},
): URL {
  const override = endpoint || env.AWS_ENDPOINT_URL_EC2 || env.AWS_ENDPOINT_URL;
  if (override) {
    const u = new URL(override);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') {
      throw new Error(`EC2 endpoint ${u.protocol}//${u.host} must be http(s)`);
    }
    return u;
  }
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) {
    throw new Error(`region "${region}" is not an AWS region name (e.g. eu-central-1); set AWS_REGION`);
  }
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return new URL(`https://ec2.${region}.${suffix}/`);
}

/** Lambda's credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN). */
export function lambdaCredentialsFromEnv(env: Record<string, string | undefined>): AwsCredentials {
  const accessKeyId = env.AWS_ACCESS_KEY_ID?.trim();
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY?.trim();
  if (!accessKeyId || !secretAccessKey) {
    throw new Error(
      'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set for the EC2 client (Lambda sets them from the execution role)',
    );
  }
  const sessionToken = env.AWS_SESSION_TOKEN?.trim();
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

// ---------------------------------------------------------------- request serialization

/** SDK list member → EC2 Query name of one element (`Tags` → `Tag.1`, `Tag.2`, …). */
const LIST_NAMES: Record<string, string> = {
  TagSpecifications: 'TagSpecification',
  Tags: 'Tag',
  BlockDeviceMappings: 'BlockDeviceMapping',
  SecurityGroupIds: 'SecurityGroupId',
  Filters: 'Filter',
  Values: 'Value',
  InstanceIds: 'InstanceId',
  Resources: 'ResourceId',
  SubnetIds: 'SubnetId',
};

function flatten(prefix: string, value: unknown, out: [string, string][], depth: number): void {
  if (value === undefined || value === null) return;
  if (depth > 8) throw new Error(`EC2 request field ${prefix} nests too deeply`);
  if (Array.isArray(value)) {
    throw new Error(`EC2 request field ${prefix}: a list where a single value was expected`);
  }
  if (typeof value === 'string') out.push([prefix, value]);
  else if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`EC2 request field ${prefix} must be a finite number`);
    out.push([prefix, String(value)]);
  } else if (typeof value === 'boolean') out.push([prefix, value ? 'true' : 'false']);
  else if (value instanceof Date) out.push([prefix, value.toISOString()]);
  // A blob (ModifyInstanceAttribute UserData.Value): base64, as the SDK serializes it.
  else if (value instanceof Uint8Array) out.push([prefix, Buffer.from(value).toString('base64')]);
  else if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (Array.isArray(v)) {
        const name = LIST_NAMES[k];
        if (!name) {
          throw new Error(
            `EC2 request field ${key} is a list this client cannot serialize; add it to LIST_NAMES`,
          );
        }
        const base = prefix ? `${prefix}.${name}` : name;
        for (const [i, item] of v.entries()) flatten(`${base}.${i + 1}`, item, out, depth + 1);
      } else flatten(key, v, out, depth + 1);
    }
  } else throw new Error(`EC2 request field ${prefix} has an unsupported type ${typeof value}`);
}

/** The form fields of an EC2 Query request (exported for tests), Action and Version first. */
export function queryParams(action: Ec2QueryAction, input: object): [string, string][] {
  const out: [string, string][] = [
    ['Action', action],
    ['Version', EC2_API_VERSION],
  ];
  flatten('', input, out, 0);
  return out;
}

/** RFC 3986 form encoding, as the SDK sends it (space as %20). */
function formEncode(params: [string, string][]): string {
  const enc = (s: string) =>
    encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return params.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
}

// ---------------------------------------------------------------- response parsing

type XmlValue = string | XmlObject | XmlValue[];
interface XmlObject {
  [k: string]: XmlValue;
}

const obj = (v: XmlValue | undefined): XmlObject | undefined =>
  v !== undefined && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
const str = (v: XmlValue | undefined): string | undefined =>
  typeof v === 'string' && v !== '' ? v : undefined;
const num = (v: XmlValue | undefined): number | undefined => {
  const s = str(v);
  return s === undefined || !/^-?\d+(\.\d+)?$/.test(s) ? undefined : Number(s);
};

/** `<xSet><item>…</item>…</xSet>` as an array (one item, several, or none). */
function items(set: XmlValue | undefined): XmlObject[] {
  const s = obj(set);
  if (!s) return [];
  const it = s.item;
  const list = Array.isArray(it) ? it : it === undefined ? [] : [it];
  return list.map((x) => obj(x)).filter((x): x is XmlObject => x !== undefined);
}

/** Parse an EC2 answer: the root element's content. Throws on malformed XML. */
export function parseEc2Xml(xml: string): { root: string; body: XmlObject } {
  const doc = parseXML(xml) as Record<string, XmlValue>;
  const root = Object.keys(doc)[0];
  if (!root) throw new Error('EC2 answer has no root element');
  return { root, body: obj(doc[root]) ?? {} };
}

function toTags(set: XmlValue | undefined): Tag[] | undefined {
  const list = items(set);
  if (list.length === 0) return undefined;
  return list.map((t) => ({ Key: str(t.key), Value: typeof t.value === 'string' ? t.value : undefined }));
}

function toState(v: XmlValue | undefined): { Code?: number; Name?: string } | undefined {
  const s = obj(v);
  return s ? { Code: num(s.code), Name: str(s.name) } : undefined;
}

/** An `<item>` of `instancesSet`, as the SDK's Instance (the fields k3s-burst and ops read). */
export function toInstance(i: XmlObject): Instance {
  const launch = str(i.launchTime);
  const placement = obj(i.placement);
  return {
    InstanceId: str(i.instanceId),
    ImageId: str(i.imageId),
    InstanceType: str(i.instanceType) as Instance['InstanceType'],
    State: toState(i.instanceState) as Instance['State'],
    LaunchTime: launch ? new Date(launch) : undefined,
    Placement: placement ? { AvailabilityZone: str(placement.availabilityZone) } : undefined,
    SubnetId: str(i.subnetId),
    VpcId: str(i.vpcId),
    PrivateIpAddress: str(i.privateIpAddress),
    PrivateDnsName: str(i.privateDnsName),
    InstanceLifecycle: str(i.instanceLifecycle) as Instance['InstanceLifecycle'],
    SpotInstanceRequestId: str(i.spotInstanceRequestId),
    Architecture: str(i.architecture) as Instance['Architecture'],
    Tags: toTags(i.tagSet),
  };
}

function toReservation(r: XmlObject): Reservation {
  return {
    ReservationId: str(r.reservationId),
    OwnerId: str(r.ownerId),
    Instances: items(r.instancesSet).map(toInstance),
  };
}

export function parseDescribeInstances(body: XmlObject): DescribeInstancesResult {
  return { Reservations: items(body.reservationSet).map(toReservation), NextToken: str(body.nextToken) };
}

export function parseTerminateInstances(body: XmlObject): TerminateInstancesResult {
  return {
    TerminatingInstances: items(body.instancesSet).map(
      (i): InstanceStateChange => ({
        InstanceId: str(i.instanceId),
        CurrentState: toState(i.currentState) as InstanceStateChange['CurrentState'],
        PreviousState: toState(i.previousState) as InstanceStateChange['PreviousState'],
      }),
    ),
  };
}

export function parseDescribeSubnets(body: XmlObject): DescribeSubnetsResult {
  return {
    Subnets: items(body.subnetSet).map(
      (s): Subnet => ({
        SubnetId: str(s.subnetId),
        AvailabilityZone: str(s.availabilityZone),
        AvailabilityZoneId: str(s.availabilityZoneId),
        VpcId: str(s.vpcId),
        CidrBlock: str(s.cidrBlock),
        State: str(s.state) as Subnet['State'],
      }),
    ),
    NextToken: str(body.nextToken),
  };
}

/** The first `<Error>` of an EC2 error answer (`<Response><Errors><Error>…`). */
export function parseEc2Error(xml: string): { code?: string; message?: string; requestId?: string } {
  try {
    const { body } = parseEc2Xml(xml);
    const errors = obj(body.Errors);
    const first = errors ? (Array.isArray(errors.Error) ? errors.Error[0] : errors.Error) : undefined;
    const e = obj(first);
    return {
      code: str(e?.Code),
      message: str(e?.Message),
      requestId: str(body.RequestID) ?? str(body.RequestId),
    };
  } catch {
    return {};
  }
}

// ---------------------------------------------------------------- transport

const RETRYABLE_CODES = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ServiceUnavailable',
  'Unavailable',
  'InternalError',
  'InternalFailure',
]);
const MAX_MESSAGE = 500;

interface RawAnswer {
  status: number;
  text: string;
}

/** {@link Ec2Api} on the EC2 Query protocol. */
export class Ec2QueryApi implements Ec2Api {
  private readonly url: URL;
  private readonly agent: http.Agent;
  private readonly creds: () => AwsCredentials;

  constructor(private readonly o: Ec2QueryApiOptions) {
    const env = o.env ?? process.env;
    this.url = ec2Endpoint(o.region, o.endpoint, env);
    const c = o.credentials;
    // From the environment per request (as the SDK's env provider does): cheap, and never stale.
    this.creds = typeof c === 'function' ? c : c ? () => c : () => lambdaCredentialsFromEnv(env);
    this.agent =
      this.url.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, maxSockets: 50 })
        : new http.Agent({ keepAlive: true, maxSockets: 50 });
  }

  /** The endpoint requests go to. */
  get endpoint(): string {
    return this.url.href;
  }

  async runInstances(input: RunInstancesRequest): Promise<Reservation> {
    const { body } = await this.call('RunInstances', input);
    return toReservation(body);
  }

  async describeInstances(input: DescribeInstancesRequest): Promise<DescribeInstancesResult> {
    return parseDescribeInstances((await this.call('DescribeInstances', input)).body);
  }

  async terminateInstances(input: TerminateInstancesRequest): Promise<TerminateInstancesResult> {
    return parseTerminateInstances((await this.call('TerminateInstances', input)).body);
  }

  async createTags(input: CreateTagsRequest): Promise<void> {
    await this.call('CreateTags', input);
  }

  async describeSubnets(input: DescribeSubnetsRequest): Promise<DescribeSubnetsResult> {
    return parseDescribeSubnets((await this.call('DescribeSubnets', input)).body);
  }

  async startInstances(input: StartInstancesRequest): Promise<void> {
    await this.call('StartInstances', input);
  }

  async stopInstances(input: StopInstancesRequest): Promise<void> {
    await this.call('StopInstances', input);
  }

  async modifyInstanceAttribute(input: ModifyInstanceAttributeRequest): Promise<void> {
    await this.call('ModifyInstanceAttribute', input);
  }

  /** Close idle keep-alive sockets (tests; Lambda freezes them). */
  destroy(): void {
    this.agent.destroy();
  }

  private async call(action: Ec2QueryAction, input: object): Promise<{ body: XmlObject }> {
    const params = queryParams(action, input);
    const body = formEncode(params);
    const rawUserData = (input as { UserData?: unknown }).UserData;
    // RunInstances sends it base64 (a string); ModifyInstanceAttribute as a blob `{ Value }`.
    const blob = (rawUserData as { Value?: unknown } | undefined)?.Value;
    const userData =
      typeof rawUserData === 'string'
        ? rawUserData
        : blob instanceof Uint8Array
          ? Buffer.from(blob).toString('base64')
          : undefined;
    const attempts = Math.max(1, Math.min(10, this.o.maxAttempts ?? 3));
    const clock = this.o.clock ?? systemClock;
    let last: Ec2QueryError | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const creds = this.creds();
      const scrub = (m: string) => scrubSecrets(m, creds, userData);
      const headers = signV4(
        {
          method: 'POST',
          url: this.url,
          headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
          body,
          region: this.o.region,
          service: 'ec2',
          now: new Date(clock.now()),
        },
        creds,
      );
      let answer: RawAnswer;
      try {
        answer = await this.post(headers, body, action);
      } catch (err) {
        // Network failure or timeout: no EC2 code; retried like a 5xx.
        last = new Ec2QueryError(action, 'NetworkingError', undefined, scrub(errText(err)));
        if (attempt < attempts) await clock.sleep(this.backoff(attempt));
        continue;
      }
      if (answer.status >= 200 && answer.status < 300) {
        try {
          return parseEc2Xml(answer.text);
        } catch (err) {
          throw new Ec2QueryError(
            action,
            'InvalidResponse',
            answer.status,
            `unreadable XML: ${scrub(errText(err))}`,
          );
        }
      }
      const e = parseEc2Error(answer.text);
      const code = e.code ?? (answer.status >= 500 ? 'InternalError' : `Http${answer.status}`);
      last = new Ec2QueryError(
        action,
        code,
        answer.status,
        scrub(e.message ?? answer.text.replace(/<[^>]*>/g, ' '))
          .trim()
          .slice(0, MAX_MESSAGE),
        e.requestId,
      );
      // Capacity answers are 5xx but final for this offering: the fleet moves on (no retry).
      const capacity = FALLBACK_ERROR_CODES.has(code) || QUOTA_ERROR_CODES.has(code);
      const retryable = !capacity && (answer.status >= 500 || RETRYABLE_CODES.has(code));
      if (!retryable || attempt === attempts) throw last;
      await clock.sleep(this.backoff(attempt));
    }
    throw last ?? new Ec2QueryError(action, 'NotAttempted', undefined, '');
  }

  /** Full jitter: uniform in [0, base·2^(attempt-1)], capped at 5 s. */
  private backoff(attempt: number): number {
    return backoffDelayMs(attempt, this.o.retryBaseMs ?? 250, 5000, this.o.random ?? Math.random);
  }

  private post(headers: Record<string, string>, body: string, action: string): Promise<RawAnswer> {
    const mod = this.url.protocol === 'https:' ? https : http;
    const timeoutMs = this.o.timeoutMs ?? 15_000;
    return new Promise<RawAnswer>((resolve, reject) => {
      const req = mod.request(
        this.url,
        {
          method: 'POST',
          agent: this.agent,
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            // Bounded: 1000 instances of DescribeInstances are a few MB.
            if (size > 64 * 1024 * 1024) req.destroy(new Error(`${action}: answer over 64 MiB`));
            else chunks.push(c);
          });
          res.on('error', reject);
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
          );
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`${action}: no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Remove credentials and the user data (base64 and decoded) from a message. */
function scrubSecrets(message: string, creds: AwsCredentials, userData?: string): string {
  let m = message;
  const secrets = [creds.secretAccessKey, creds.sessionToken, userData];
  if (userData) secrets.push(Buffer.from(userData, 'base64').toString('utf8'));
  for (const s of secrets) {
    if (s && s.length >= 4) m = m.split(s).join('[redacted]');
  }
  return m;
}
