/**
 * {@link BakeEc2} and {@link BakeSsm} on the AWS SDK, for `k3s-burst bake` (lib/ops/bake.ts).
 */
import {
  CreateImageCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  type EC2Client,
  GetConsoleOutputCommand,
  RunInstancesCommand,
  type RunInstancesCommandInput,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { GetParameterCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { awsErrorCode } from '../aws/logger.js';
import { BAKE_TAG, type BakeEc2, type BakeSsm } from './bake.js';

/** {@link BakeEc2} on the AWS SDK. */
export function sdkBakeEc2(ec2: EC2Client): BakeEc2 {
  return {
    async runBuilder(req) {
      const tags = Object.entries(req.tags).map(([Key, Value]) => ({ Key, Value }));
      const input: RunInstancesCommandInput = {
        ImageId: req.imageId,
        InstanceType: req.instanceType as RunInstancesCommandInput['InstanceType'],
        MinCount: 1,
        MaxCount: 1,
        SubnetId: req.subnetId,
        SecurityGroupIds: [...req.securityGroupIds],
        UserData: Buffer.from(req.userData, 'utf8').toString('base64'),
        // The script powers off when done: stop (not terminate), so the disk can be imaged.
        InstanceInitiatedShutdownBehavior: 'stop',
        MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled' },
        BlockDeviceMappings: [
          {
            DeviceName: req.rootDeviceName,
            Ebs: {
              VolumeSize: req.rootVolumeGiB,
              VolumeType: 'gp3',
              Encrypted: true,
              DeleteOnTermination: true,
            },
          },
        ],
        TagSpecifications: [
          { ResourceType: 'instance', Tags: tags },
          { ResourceType: 'volume', Tags: tags },
        ],
      };
      const out = await ec2.send(new RunInstancesCommand(input));
      const id = out.Instances?.[0]?.InstanceId;
      if (!id) throw new Error('RunInstances returned no instance');
      return id;
    },
    async instanceState(instanceId) {
      try {
        const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
        return out.Reservations?.[0]?.Instances?.[0]?.State?.Name;
      } catch (err) {
        if (awsErrorCode(err) === 'InvalidInstanceID.NotFound') return undefined;
        throw err;
      }
    },
    async consoleOutput(instanceId) {
      const out = await ec2.send(new GetConsoleOutputCommand({ InstanceId: instanceId, Latest: true }));
      return out.Output ? Buffer.from(out.Output, 'base64').toString('utf8') : undefined;
    },
    async createImage(instanceId, name, tags) {
      const Tags = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
      const out = await ec2.send(
        new CreateImageCommand({
          InstanceId: instanceId,
          Name: name,
          Description: `k3s-burst node image (${tags[BAKE_TAG] ?? ''})`,
          TagSpecifications: [{ ResourceType: 'image', Tags }],
        }),
      );
      if (!out.ImageId) throw new Error('CreateImage returned no image id');
      return out.ImageId;
    },
    async image(imageId) {
      const out = await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }));
      const img = out.Images?.[0];
      if (!img) return undefined;
      return {
        state: img.State ?? 'unknown',
        snapshotIds: (img.BlockDeviceMappings ?? []).flatMap((b) =>
          b.Ebs?.SnapshotId ? [b.Ebs.SnapshotId] : [],
        ),
        ...(img.StateReason?.Message ? { reason: img.StateReason.Message } : {}),
      };
    },
    async deregisterImage(imageId, snapshotIds) {
      await ec2.send(new DeregisterImageCommand({ ImageId: imageId }));
      for (const s of snapshotIds) await ec2.send(new DeleteSnapshotCommand({ SnapshotId: s }));
    },
    async terminate(instanceIds) {
      if (instanceIds.length > 0)
        await ec2.send(new TerminateInstancesCommand({ InstanceIds: [...instanceIds] }));
    },
    async leftoverBuilders(cluster) {
      const out = await ec2.send(
        new DescribeInstancesCommand({
          Filters: [
            { Name: `tag:${BAKE_TAG}`, Values: [cluster] },
            { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
          ],
        }),
      );
      return (out.Reservations ?? []).flatMap((r) =>
        (r.Instances ?? []).flatMap((i) => (i.InstanceId ? [i.InstanceId] : [])),
      );
    },
  };
}

/** {@link BakeSsm} on the AWS SDK. */
export function sdkBakeSsm(ssm: SSMClient): BakeSsm {
  return {
    async getParameter(name) {
      try {
        return (await ssm.send(new GetParameterCommand({ Name: name }))).Parameter?.Value;
      } catch (err) {
        if (awsErrorCode(err) === 'ParameterNotFound') return undefined;
        throw err;
      }
    },
    async putImageParameter(name, imageId) {
      await ssm.send(
        new PutParameterCommand({
          Name: name,
          Value: imageId,
          Type: 'String',
          DataType: 'aws:ec2:image',
          Overwrite: true,
          Description: 'k3s-burst node image (k3s-burst bake)',
        }),
      );
    },
  };
}
