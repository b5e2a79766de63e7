/**
 * Renders the builder script of `k3s-burst bake` (`userdata/bake.sh.tpl`): installs Tailscale,
 * the K3s installer, the pinned k3s binary and, optionally, the K3s air-gap images and your own
 * images, so nodes booted from the image skip those downloads (the node bootstrap already
 * checks for each, docs/nodes.md). Values are validated and substituted as single-quoted shell
 * words, as for the node bootstrap. The script carries no secret.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UserDataError, UserDataTooLargeError } from './errors.js';
import { K3S_VERSION_RE, shellQuote, USER_DATA_MAX_BYTES, userDataSizeBytes } from './render.js';

/** Absolute path of `userdata/bake.sh.tpl` in a source checkout (the CLI reads it; no Lambda does). */
export const BAKE_TEMPLATE_PATH = fileURLToPath(new URL('../../userdata/bake.sh.tpl', import.meta.url));

/** What goes into the image besides Tailscale and the K3s installer and binary. */
export interface BakeScriptInput {
  /** `cluster.k3sVersion`: the binary the nodes' installer then finds and keeps. */
  k3sVersion: string;
  /** Put the release's `k3s-airgap-images-<arch>.tar.zst` in K3s's images directory. */
  airgapImages: boolean;
  /** Images (`registry/repo:tag` or `@sha256:` digests) K3s imports at the node's first start. */
  prePullImages: readonly string[];
}

/** Most images `--pre-pull` accepts: each one is a download at bake time and disk in every node. */
export const MAX_PRE_PULL_IMAGES = 20;

/**
 * An image reference without a scheme: optional registry host[:port], path components, and a
 * tag and/or digest. Deliberately narrower than the grammar: no spaces, quotes or shell syntax.
 */
const IMAGE_RE =
  /^(?:[a-z0-9]+(?:[.-][a-z0-9]+)*(?::\d{1,5})?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

/** Validate an image reference; the error names the flag and the expected form. */
export function imageReferenceProblem(image: string): string | undefined {
  if (image.length === 0 || image.length > 255) return 'must be 1–255 characters';
  if (!IMAGE_RE.test(image)) {
    return 'expected an image reference such as "ghcr.io/acme/worker:1.4" or "nginx@sha256:<64 hex>"';
  }
  return undefined;
}

/** Render the builder script; throws {@link UserDataError} naming the bad input. */
export function renderBakeScript(
  input: BakeScriptInput,
  template = readFileSync(BAKE_TEMPLATE_PATH, 'utf8'),
): string {
  if (!K3S_VERSION_RE.test(input.k3sVersion)) {
    throw new UserDataError(
      `cluster.k3sVersion "${input.k3sVersion.slice(0, 40)}" is not a K3s release such as "v1.32.6+k3s1"`,
      'k3sVersion',
    );
  }
  if (input.prePullImages.length > MAX_PRE_PULL_IMAGES) {
    throw new UserDataError(
      `--pre-pull lists ${input.prePullImages.length} images; at most ${MAX_PRE_PULL_IMAGES} (each is in every node's disk)`,
      'prePullImages',
    );
  }
  for (const image of input.prePullImages) {
    const problem = imageReferenceProblem(image);
    if (problem) throw new UserDataError(`--pre-pull "${image.slice(0, 80)}": ${problem}`, 'prePullImages');
  }
  const values: Record<string, string> = {
    k3sVersion: shellQuote(input.k3sVersion),
    airgapImages: input.airgapImages ? 'true' : 'false',
    prePullImages: input.prePullImages.map(shellQuote).join(' '),
  };
  const script = template.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => {
    const v = values[name];
    if (v === undefined) throw new UserDataError(`bake template has an unknown placeholder ${whole}`);
    return v;
  });
  const size = userDataSizeBytes(script);
  if (size > USER_DATA_MAX_BYTES) throw new UserDataTooLargeError(size, USER_DATA_MAX_BYTES);
  return script;
}
