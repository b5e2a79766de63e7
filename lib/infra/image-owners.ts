/**
 * Who may own the AMI a node boots from: the values of the `ec2:Owner` condition on the
 * `image` resource of RunInstances (lib/infra/fleet-permissions.ts). Without it the launch
 * role could boot any image it can see — a public community AMI included — if the AMI
 * parameter were ever pointed elsewhere.
 *
 * `ec2:Owner` is the owner alias for images published by Amazon or a verified provider
 * (`amazon`, `aws-marketplace`) and the owner's account id otherwise. Canonical's Ubuntu
 * images are owned by account 099720109477 and are listed as a verified provider, so the
 * default for Canonical parameters allows both values (a condition naming only one of them
 * could deny every launch). `self` stands for the account the stack is deployed to (a baked
 * AMI published under your own SSM parameter).
 */
import { InfraError } from './errors.js';

/** Canonical's AWS account in the commercial partition (owner of the Ubuntu images). */
export const CANONICAL_OWNER_ID = '099720109477';

/** Placeholder for the deploying account; the stack replaces it with its account id. */
export const SELF_IMAGE_OWNER = 'self';

/** The AMI owner cannot be derived from the parameter name: `nodes.imageOwners` must be set. */
export class ImageOwnersError extends InfraError {
  constructor(message: string) {
    super(message);
    this.name = 'ImageOwnersError';
  }
}

/** Public parameter paths whose images have a known owner, and that owner. */
const KNOWN_PUBLIC_PARAMETERS: readonly { prefix: string; owners: readonly string[] }[] = [
  { prefix: '/aws/service/canonical/', owners: [CANONICAL_OWNER_ID, 'amazon'] },
  { prefix: '/aws/service/ami-amazon-linux-latest/', owners: ['amazon'] },
];

/** Regions outside the commercial partition, where Canonical publishes from other accounts. */
const OTHER_PARTITION = /^(cn-|us-gov-|us-iso)/;

/** What {@link resolveImageOwners} reads from the config. */
export interface ImageOwnerInput {
  /** `nodes.imageOwners`, when the user set it. */
  readonly imageOwners?: readonly string[];
  /** `nodes.amiSsmParameters`. */
  readonly amiSsmParameters: { readonly arm64: string; readonly amd64: string };
  /** `cluster.region`. */
  readonly region: string;
}

/**
 * The owners allowed for node images: `nodes.imageOwners` when set, else derived from each
 * AMI parameter name — Canonical's public parameters → Canonical and `amazon`, Amazon
 * Linux's → `amazon`, a parameter of your own (not under `/aws/service/`) → `self`. Any
 * other public parameter, or Canonical outside the commercial partition, throws: guessing
 * would either deny every launch or allow more than intended.
 */
export function resolveImageOwners(input: ImageOwnerInput): string[] {
  if (input.imageOwners && input.imageOwners.length > 0) return [...new Set(input.imageOwners)];
  const owners = new Set<string>();
  for (const arch of ['arm64', 'amd64'] as const) {
    const raw = input.amiSsmParameters[arch];
    const name = raw.startsWith('/') ? raw : `/${raw}`;
    if (!name.startsWith('/aws/service/')) {
      owners.add(SELF_IMAGE_OWNER);
      continue;
    }
    const known = KNOWN_PUBLIC_PARAMETERS.find((k) => name.startsWith(k.prefix));
    if (!known || (known.owners.includes(CANONICAL_OWNER_ID) && OTHER_PARTITION.test(input.region))) {
      throw new ImageOwnersError(
        `nodes.amiSsmParameters.${arch} "${raw.slice(0, 200)}" is a public parameter whose image owner k3s-burst does not know` +
          `${known ? ` in region ${input.region}` : ''}: set nodes.imageOwners to the AMI's owner ` +
          '(its account id, or "amazon" for images Amazon publishes; see: aws ec2 describe-images --image-ids <ami> --query "Images[].[OwnerId,ImageOwnerAlias]")',
      );
    }
    for (const o of known.owners) owners.add(o);
  }
  return [...owners];
}
