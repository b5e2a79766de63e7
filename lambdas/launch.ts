/**
 * launch: ScaleOutRequested → one Tailscale key per instance → user data → EC2 (RunInstances
 * per instance, see lib/aws/fleet.ts) → InstanceLaunched. See lib/control/launch.ts.
 */
import { parseLaunchEvent } from '../lib/control/inputs.js';
import { launch } from '../lib/control/launch.js';
import { handlerSpec, makeHandler } from './runtime.js';

/** Parse and use-case of this function (tests: `makeHandler('launch', launchSpec, { deps })`). */
export const launchSpec = handlerSpec({
  parse: (raw, deps) => parseLaunchEvent(raw, deps.env.cluster),
  run: (input, deps) => launch(input, deps, { joinTokenSecretId: deps.env.k3sJoinTokenSecretArn }),
});

export const handler = makeHandler('launch', launchSpec);
