/**
 * Doctor's quota checks: the account's EC2 vCPU quotas (Service Quotas) against what the
 * config can launch. One line per quota class and capacity type in use
 * (`quota:standard-spot`, `quota:standard-on-demand`, `quota:g-vt-…`), plus `quota:other` for
 * candidate types whose family has a quota not read here.
 *
 * Verdicts, with Q the quota and N = min(limits.maxVcpus, limits.maxNodes × largest type's vCPUs):
 * - Q ≥ N: ok.
 * - Q below the smallest candidate type of the class: nothing of the class can launch on that
 *   capacity type. A fail, except for spot while on-demand is also allowed: EC2 answers
 *   `MaxSpotInstanceCountExceeded` and the launch falls back to on-demand (a warn: every burst
 *   pays on-demand prices).
 * - otherwise a warn: bursts stop at Q vCPUs (fewer when other instances of the account use it).
 * The quota is per account and region: other instances count against it too.
 */
import { buildCatalog } from '../core/catalog.js';
import {
  EC2_VCPU_QUOTAS,
  type Ec2VcpuQuota,
  QUOTA_READ_ACTIONS,
  type QuotaDemand,
  type QuotaPort,
  QuotaPortError,
  type QuotaValue,
  quotaDemand,
} from '../core/quotas.js';
import type { Config } from '../events/index.js';
import type { CheckResult } from './doctor.js';

/** The Service Quotas console page of one EC2 quota in a region. */
export function quotaConsoleUrl(region: string, quotaCode: string): string {
  return `https://${region}.console.aws.amazon.com/servicequotas/home/services/ec2/quotas/${quotaCode}`;
}

function increaseFix(region: string, q: Ec2VcpuQuota, desired: number): string {
  return `request an increase to ${desired}: aws service-quotas request-service-quota-increase --service-code ec2 --quota-code ${q.quotaCode} --desired-value ${desired} --region ${region} (or ${quotaConsoleUrl(region, q.quotaCode)})`;
}

const CLASS_LABEL = { standard: 'standard (A, C, D, H, I, M, R, T, Z)', 'g-vt': 'G and VT' } as const;

/** The verdict on one quota against the config's demand (pure; exported for tests). */
export function quotaVerdict(
  config: Config,
  region: string,
  q: Ec2VcpuQuota,
  value: QuotaValue,
  demand: QuotaDemand,
): CheckResult {
  const id = `quota:${q.quotaClass}-${q.capacityType}`;
  const v = value.value;
  const source = value.source === 'applied' ? 'applied to this account' : 'AWS default';
  const types = demand.instanceTypes.join(', ');
  const need = `${demand.maxVcpus} vCPUs = min(limits.maxVcpus ${config.limits.maxVcpus}, limits.maxNodes ${config.limits.maxNodes} × ${demand.largestVcpus} of ${demand.largestType})`;
  const what = `${q.capacityType} ${CLASS_LABEL[q.quotaClass]} quota ${q.quotaCode} is ${v} vCPUs (${source})`;
  if (v >= demand.maxVcpus) {
    return {
      id,
      status: 'ok',
      message: `${what}: covers the ${need} the config can run (shared with the account's other instances in ${region})`,
    };
  }
  const fix = increaseFix(region, q, demand.maxVcpus);
  if (v < demand.smallestVcpus) {
    const fallsBack =
      q.capacityType === 'spot' && config.nodes.capacityTypes.includes('on-demand')
        ? 'every spot launch of them is refused (MaxSpotInstanceCountExceeded) and falls back to on-demand at the on-demand price'
        : undefined;
    const message = `${what}: not enough for one instance of ${types} (the smallest has ${demand.smallestVcpus} vCPUs); ${fallsBack ?? `no ${q.capacityType} launch of them can succeed`}`;
    return fallsBack
      ? { id, status: 'warn', message, fix }
      : {
          id,
          status: 'fail',
          message,
          fix: `${fix}; or allow another capacity type (nodes.capacityTypes) or other instance types (nodes.candidateTypes)`,
        };
  }
  return {
    id,
    status: 'warn',
    message: `${what}, below the ${need} the config allows: bursts of ${types} stop at ${v} vCPUs (fewer while other instances of the account use the quota)`,
    fix: `${fix}; or lower limits.maxVcpus to ${v}`,
  };
}

/** Read the quotas the config needs and judge each; never throws (errors become warn lines). */
export async function quotaChecks(port: QuotaPort, config: Config, region: string): Promise<CheckResult[]> {
  const { demands, unchecked } = quotaDemand(config, buildCatalog(config));
  const out: CheckResult[] = [];
  for (const demand of demands) {
    for (const capacityType of config.nodes.capacityTypes) {
      const q = EC2_VCPU_QUOTAS.find(
        (x) => x.quotaClass === demand.quotaClass && x.capacityType === capacityType,
      );
      if (!q) continue;
      const id = `quota:${q.quotaClass}-${q.capacityType}`;
      try {
        out.push(quotaVerdict(config, region, q, await port.getEc2Quota(q.quotaCode), demand));
      } catch (err) {
        if (!(err instanceof QuotaPortError)) throw err;
        const check = `check "${q.quotaName}" by hand: ${quotaConsoleUrl(region, q.quotaCode)}`;
        if (err.kind === 'access-denied') {
          // The same identity is refused for every quota: one line says it all.
          out.push({
            id: 'quota',
            status: 'warn',
            message: `cannot read the EC2 vCPU quotas: ${err.message}`,
            fix: `allow ${QUOTA_READ_ACTIONS.join(' and ')} (docs/iam.md "Running doctor"), or ${check}`,
          });
          return out;
        }
        out.push({
          id,
          status: 'warn',
          message: `cannot read the ${capacityType} quota: ${err.message}`,
          fix: check,
        });
      }
    }
  }
  if (unchecked.length > 0) {
    out.push({
      id: 'quota:other',
      status: 'warn',
      message: `${unchecked.join(', ')} count against a vCPU quota doctor does not read (only standard and G/VT are checked)`,
      fix: `check their family's "Running On-Demand …" and "… Spot Instance Requests" quotas: https://${region}.console.aws.amazon.com/servicequotas/home/services/ec2/quotas`,
    });
  }
  return out;
}
