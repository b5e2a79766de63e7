import type { Instance } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { firstLaunchOf } from '../../../lib/ops/instances.js';

/** An instance as DescribeInstances returns it after a stop and a start: LaunchTime moved. */
const instance = (interfaces: Instance['NetworkInterfaces']): Instance => ({
  InstanceId: 'i-0123456789abcdef0',
  LaunchTime: new Date('2026-12-07T08:00:00.000Z'),
  NetworkInterfaces: interfaces,
});

describe('firstLaunchOf', () => {
  it('is the attach time of the primary network interface (device index 0), not LaunchTime', () => {
    const i = instance([
      { Attachment: { DeviceIndex: 1, AttachTime: new Date('2026-12-06T12:00:00.000Z') } },
      { Attachment: { DeviceIndex: 0, AttachTime: new Date('2026-12-01T09:15:00.000Z') } },
    ]);
    expect(firstLaunchOf(i)).toBe('2026-12-01T09:15:00.000Z');
  });

  it('is undefined when EC2 gives no primary attachment time (the caller falls back to LaunchTime)', () => {
    expect(firstLaunchOf(instance(undefined))).toBeUndefined();
    expect(firstLaunchOf(instance([]))).toBeUndefined();
    expect(
      firstLaunchOf(
        instance([{ Attachment: { DeviceIndex: 1, AttachTime: new Date('2026-12-06T12:00:00Z') } }]),
      ),
    ).toBeUndefined();
    expect(firstLaunchOf(instance([{ Attachment: { DeviceIndex: 0 } }]))).toBeUndefined();
    expect(
      firstLaunchOf(instance([{ Attachment: { DeviceIndex: 0, AttachTime: new Date('nope') } }])),
    ).toBeUndefined();
  });
});
