/** Entry of the bundled agent image (deploy/Dockerfile): `node agent.mjs [flags]`. */
import { run } from '../lib/cli/agent.js';
import { processIo } from '../lib/cli/io.js';

// `node agent.mjs agent [flags]` is `k3s-burst agent [flags]`; the command name is optional.
const argv = process.argv.slice(2);
const code = await run(argv[0] === 'agent' ? argv.slice(1) : argv, processIo());
// Exit explicitly: an aborted SQS long poll or keep-alive socket must not hold the pod in Terminating.
process.exit(code);
