import { Tags as CdkTags } from 'aws-cdk-lib';
import {
  BlockDeviceVolume,
  EbsDeviceVolumeType,
  InstanceInitiatedShutdownBehavior,
  type ISecurityGroup,
  LaunchTemplate,
  LaunchTemplateHttpTokens,
} from 'aws-cdk-lib/aws-ec2';
import { InstanceProfile, ManagedPolicy, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { Tags } from '../events/index.js';

/** Props of {@link NodeLaunchTemplate}. */
export interface NodeLaunchTemplateProps {
  /** Cluster name: written as the `k3s-burst:cluster` tag on instances and volumes. */
  readonly clusterName: string;
  /** The node security group (no inbound rules). */
  readonly securityGroup: ISecurityGroup;
  /**
   * Size of the encrypted gp3 root volume.
   * @default 20
   */
  readonly rootVolumeGiB?: number;
  /**
   * Device name of the AMI's root volume; the block-device mapping resizes and encrypts
   * it. Ubuntu and Debian AMIs use `/dev/sda1`, Amazon Linux `/dev/xvda`.
   * @default '/dev/sda1'
   */
  readonly rootDeviceName?: string;
  /**
   * Attach `AmazonSSMManagedInstanceCore` so operators can open a shell with Session
   * Manager (no inbound port needed).
   * @default false
   */
  readonly ssmSessionManager?: boolean;
}

/**
 * What every burst node launches with. The launch Lambda supplies the AMI (resolved from
 * SSM per architecture), instance type, subnet, user data and tags at launch time.
 *
 * Invariants: IMDSv2 only with hop limit 1 (pods cannot reach instance metadata or the
 * instance role), encrypted root volume, shutdown from inside the instance terminates it
 * (a stopped node would keep billing its volume), and a node role with no permissions
 * beyond the optional Session Manager core policy: a node needs nothing from AWS.
 */
export class NodeLaunchTemplate extends Construct {
  readonly role: Role;
  readonly instanceProfile: InstanceProfile;
  readonly launchTemplate: LaunchTemplate;

  constructor(scope: Construct, id: string, props: NodeLaunchTemplateProps) {
    super(scope, id);
    this.role = new Role(this, 'NodeRole', {
      assumedBy: new ServicePrincipal('ec2.amazonaws.com'),
      description: `k3s-burst ${props.clusterName} node role: no AWS permissions unless Session Manager is enabled`,
      managedPolicies: props.ssmSessionManager
        ? [ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')]
        : [],
    });
    this.instanceProfile = new InstanceProfile(this, 'InstanceProfile', { role: this.role });
    this.launchTemplate = new LaunchTemplate(this, 'LaunchTemplate', {
      launchTemplateName: `k3s-burst-${props.clusterName}-node`,
      instanceProfile: this.instanceProfile,
      securityGroup: props.securityGroup,
      requireImdsv2: true,
      httpTokens: LaunchTemplateHttpTokens.REQUIRED,
      httpPutResponseHopLimit: 1,
      httpEndpoint: true,
      instanceInitiatedShutdownBehavior: InstanceInitiatedShutdownBehavior.TERMINATE,
      blockDevices: [
        {
          deviceName: props.rootDeviceName ?? '/dev/sda1',
          volume: BlockDeviceVolume.ebs(props.rootVolumeGiB ?? 20, {
            volumeType: EbsDeviceVolumeType.GP3,
            encrypted: true,
            deleteOnTermination: true,
          }),
        },
      ],
    });
    // Tags on the template's instance/volume specifications: nodes carry the cluster tag
    // even if a launch request forgot it (the launch policy still demands it in the request).
    CdkTags.of(this.launchTemplate).add(Tags.cluster, props.clusterName);
    // The L2 names instances after the construct path; the launch Lambda sets `Name` to
    // the node name instead.
    CdkTags.of(this.launchTemplate).remove(Tags.name, { priority: 1000 });
  }
}
