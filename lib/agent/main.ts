/** Entry of the bundled agent image (deploy/Dockerfile): `node agent.mjs [flags]`. */
import { run } from '../cli/agent.js';
import { processIo } from '../cli/io.js';

const code = await run(process.argv.slice(2), processIo());
// Exit explicitly: an aborted SQS long poll or keep-alive socket must not hold the pod in Terminating.
process.exit(code);
