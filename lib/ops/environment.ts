/**
 * What `status` and `doctor` need from the outside world, injected so the tests run them
 * against moto_server and the fake Tailscale API without touching `process.env`.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { IdentityTokenPort } from '../aws/identity-token.js';
import type { CliIo } from '../cli/io.js';
import type { Clock } from '../core/clock.js';
import type { QuotaPort } from '../core/quotas.js';
import { type Config, ConfigError, formatProblem, parseConfigText } from '../events/index.js';
import { systemClock } from '../system/clock.js';
import { OpsUsageError } from './errors.js';
import type { OutboundFederationPort } from './federation-check.js';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** AWS SDK client options (endpoint and credentials only for tests or proxies). */
export interface AwsClientOptions {
  region: string;
  endpoint?: string;
  /** Static credentials, or a provider (the SDK calls it before each signing when needed). */
  credentials?: AwsCredentials | (() => Promise<AwsCredentials>);
  maxAttempts?: number;
}

export interface OpsEnvironment {
  /** Options every AWS client of a command is built with, for a region. */
  aws(region: string): AwsClientOptions;
  /** Tailscale API base URL. @default 'https://api.tailscale.com' */
  tailscaleBaseUrl: string;
  fetch: typeof fetch;
  /** Time, and the waits of a client's retries. @default systemClock */
  clock: Pick<Clock, 'now' | 'sleep'>;
  /**
   * The EC2 quota reader for a region (doctor's quota checks).
   * @default - Service Quotas through the SDK client built with `aws(region)`
   */
  quotas?: (region: string) => QuotaPort;
  /**
   * doctor's federation checks (tailscale.auth federated): the account setting and STS.
   * @default - IAM and a regional STS client built with `aws(region)`
   */
  federation?: (region: string) => { federation: OutboundFederationPort; tokens: IdentityTokenPort };
}

/** Env var that points the tools at another Tailscale API (a proxy, a test server). */
export const TAILSCALE_API_URL_ENV = 'K3S_BURST_TAILSCALE_API_URL';

/** The real world: the default AWS credential chain, api.tailscale.com, the wall clock. */
export function defaultEnvironment(io: CliIo): OpsEnvironment {
  return {
    aws: (region) => ({ region }),
    tailscaleBaseUrl: io.env[TAILSCALE_API_URL_ENV] || 'https://api.tailscale.com',
    fetch: globalThis.fetch,
    clock: systemClock,
  };
}

/** The config file name looked for in the working directory when `--config` is not given. */
export const DEFAULT_CONFIG_FILE = 'k3s-burst.config.json';

/** Why a config could not be loaded, as lines that name the field paths. */
export class ConfigLoadError extends OpsUsageError {
  constructor(
    readonly path: string,
    readonly problems: string[],
    readonly fix: string,
    /** The whole message when it is not `path: problems. fix` (the config validator's own). */
    message?: string,
  ) {
    super(message ?? `${path}: ${problems.join('; ')}. ${fix}`);
    this.name = 'ConfigLoadError';
  }
}

/**
 * Read and validate the config file (`--config`, or `./k3s-burst.config.json`).
 *
 * @throws ConfigLoadError naming the file, every bad field path, and the fix
 */
export function readConfigFile(io: CliIo, file: string | undefined): { path: string; config: Config } {
  const path = resolve(io.cwd, file ?? DEFAULT_CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigLoadError(
      path,
      [code === 'ENOENT' ? 'no such file' : `cannot read it (${code ?? 'error'})`],
      file
        ? 'Check the --config path.'
        : `Pass --config FILE, or create ${DEFAULT_CONFIG_FILE} from examples/k3s-burst.config.json.`,
    );
  }
  try {
    // The one config validator, as plan, simulate and cdk synth run it: same lines, same exit code.
    return { path, config: parseConfigText(text, path) };
  } catch (err) {
    if (err instanceof ConfigError) {
      throw new ConfigLoadError(
        path,
        err.problems.map(formatProblem),
        'Fix these fields (schema: schemas/config.schema.json).',
        err.message,
      );
    }
    throw err;
  }
}
