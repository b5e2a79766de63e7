/**
 * The built-in instance catalog as data. It lives with the config schema (not in lib/core,
 * which builds the planner's catalog from it) because the one config validator refuses a
 * `nodes.candidateTypes` entry that is neither here nor in `config.catalog`, and every entry
 * point (CDK app, Lambdas, CLI) runs that validator with only lib/events available.
 */
import type { Arch } from './common.js';

/** One built-in catalog row: type, vCPUs, memory in GiB, architecture, on-demand USD per hour. */
export type InstanceTypeRow = readonly [
  type: string,
  vcpu: number,
  memoryGiB: number,
  arch: Arch,
  onDemandHourlyUsd: number,
];

/**
 * Built-in table: Linux on-demand prices in eu-central-1 (Frankfurt), rounded, as of 2025.
 * They only rank types and enforce the cost cap, so being a few percent off is harmless;
 * override any row through `config.catalog`.
 */
export const BUILT_IN_INSTANCE_TYPES: readonly InstanceTypeRow[] = [
  // Graviton burstable
  ['t4g.nano', 2, 0.5, 'arm64', 0.0048],
  ['t4g.micro', 2, 1, 'arm64', 0.0096],
  ['t4g.small', 2, 2, 'arm64', 0.0192],
  ['t4g.medium', 2, 4, 'arm64', 0.0384],
  ['t4g.large', 2, 8, 'arm64', 0.0768],
  ['t4g.xlarge', 4, 16, 'arm64', 0.1536],
  ['t4g.2xlarge', 8, 32, 'arm64', 0.3072],
  // Graviton3 general purpose
  ['m7g.medium', 1, 4, 'arm64', 0.0476],
  ['m7g.large', 2, 8, 'arm64', 0.0952],
  ['m7g.xlarge', 4, 16, 'arm64', 0.1904],
  ['m7g.2xlarge', 8, 32, 'arm64', 0.3808],
  ['m7g.4xlarge', 16, 64, 'arm64', 0.7616],
  ['m7g.8xlarge', 32, 128, 'arm64', 1.5232],
  ['m7g.12xlarge', 48, 192, 'arm64', 2.2848],
  ['m7g.16xlarge', 64, 256, 'arm64', 3.0464],
  // Graviton3 compute optimised
  ['c7g.medium', 1, 2, 'arm64', 0.0413],
  ['c7g.large', 2, 4, 'arm64', 0.0826],
  ['c7g.xlarge', 4, 8, 'arm64', 0.1652],
  ['c7g.2xlarge', 8, 16, 'arm64', 0.3304],
  ['c7g.4xlarge', 16, 32, 'arm64', 0.6608],
  ['c7g.8xlarge', 32, 64, 'arm64', 1.3216],
  ['c7g.12xlarge', 48, 96, 'arm64', 1.9824],
  ['c7g.16xlarge', 64, 128, 'arm64', 2.6432],
  // Graviton3 memory optimised
  ['r7g.medium', 1, 8, 'arm64', 0.0627],
  ['r7g.large', 2, 16, 'arm64', 0.1253],
  ['r7g.xlarge', 4, 32, 'arm64', 0.2506],
  ['r7g.2xlarge', 8, 64, 'arm64', 0.5012],
  ['r7g.4xlarge', 16, 128, 'arm64', 1.0024],
  ['r7g.8xlarge', 32, 256, 'arm64', 2.0048],
  // Graviton2
  ['m6g.medium', 1, 4, 'arm64', 0.046],
  ['m6g.large', 2, 8, 'arm64', 0.092],
  ['m6g.xlarge', 4, 16, 'arm64', 0.184],
  ['m6g.2xlarge', 8, 32, 'arm64', 0.368],
  ['m6g.4xlarge', 16, 64, 'arm64', 0.736],
  ['m6g.8xlarge', 32, 128, 'arm64', 1.472],
  ['c6g.medium', 1, 2, 'arm64', 0.0388],
  ['c6g.large', 2, 4, 'arm64', 0.0776],
  ['c6g.xlarge', 4, 8, 'arm64', 0.1552],
  ['c6g.2xlarge', 8, 16, 'arm64', 0.3104],
  ['c6g.4xlarge', 16, 32, 'arm64', 0.6208],
  // x86 burstable
  ['t3.micro', 2, 1, 'amd64', 0.012],
  ['t3.small', 2, 2, 'amd64', 0.024],
  ['t3.medium', 2, 4, 'amd64', 0.048],
  ['t3.large', 2, 8, 'amd64', 0.096],
  ['t3.xlarge', 4, 16, 'amd64', 0.192],
  ['t3.2xlarge', 8, 32, 'amd64', 0.384],
  // x86 Sapphire Rapids
  ['m7i.large', 2, 8, 'amd64', 0.1159],
  ['m7i.xlarge', 4, 16, 'amd64', 0.2318],
  ['m7i.2xlarge', 8, 32, 'amd64', 0.4637],
  ['m7i.4xlarge', 16, 64, 'amd64', 0.9274],
  ['m7i.8xlarge', 32, 128, 'amd64', 1.8547],
  ['c7i.large', 2, 4, 'amd64', 0.1016],
  ['c7i.xlarge', 4, 8, 'amd64', 0.2033],
  ['c7i.2xlarge', 8, 16, 'amd64', 0.4066],
  ['c7i.4xlarge', 16, 32, 'amd64', 0.8131],
  ['c7i.8xlarge', 32, 64, 'amd64', 1.6262],
];
