/**
 * {@link Ec2Api} on the AWS SDK's EC2Client (the CLI, tests and anything not size-bound).
 * The Lambdas use `Ec2QueryApi` instead; this module is the only fleet-side import of the
 * EC2 SDK, so importing `fleet.ts` alone does not pull it into a bundle.
 */
import {
  CreateTagsCommand,
  DescribeInstancesCommand,
  DescribeSubnetsCommand,
  type EC2Client,
  ModifyInstanceAttributeCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { Ec2Api } from './fleet.js';

/** Wrap an SDK client as an {@link Ec2Api} (SDK errors pass through: `name` is EC2's code). */
export function sdkEc2Api(client: EC2Client): Ec2Api {
  return {
    runInstances: (input) => client.send(new RunInstancesCommand(input)),
    describeInstances: (input) => client.send(new DescribeInstancesCommand(input)),
    terminateInstances: (input) => client.send(new TerminateInstancesCommand(input)),
    async createTags(input) {
      await client.send(new CreateTagsCommand(input));
    },
    describeSubnets: (input) => client.send(new DescribeSubnetsCommand(input)),
    async startInstances(input) {
      await client.send(new StartInstancesCommand(input));
    },
    async stopInstances(input) {
      await client.send(new StopInstancesCommand(input));
    },
    async modifyInstanceAttribute(input) {
      await client.send(new ModifyInstanceAttributeCommand(input));
    },
  };
}
