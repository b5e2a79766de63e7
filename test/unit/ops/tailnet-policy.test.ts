import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { broadNodeRules } from '../../../lib/ops/acl.js';
import { tailnetPolicyCheck } from '../../../lib/ops/tailnet-policy-check.js';

const TAGS = ['tag:k3s-burst'];
const repoRoot = join(import.meta.dirname, '..', '..', '..');

/** The HuJSON block of a doc that contains `marker`, as JSON (comments and trailing commas removed). */
function policyFromDoc(file: string, marker: string): Record<string, unknown> {
  const text = readFileSync(join(repoRoot, file), 'utf8');
  const block = [...text.matchAll(/```jsonc?\n([\s\S]*?)```/g)]
    .map((m) => m[1] as string)
    .find((b) => b.includes(marker));
  if (!block) throw new Error(`no jsonc block with ${marker} in ${file}`);
  const json = block
    .split('\n')
    .map((l) => l.replace(/\s\/\/.*$/, '').replace(/^\s*\/\/.*$/, ''))
    .join('\n')
    .replace(/,(\s*[}\]])/g, '$1');
  return JSON.parse(json) as Record<string, unknown>;
}

describe('broad rules for the cloud nodes', () => {
  it('flags the allow-all ACL a new tailnet starts with', () => {
    const rules = broadNodeRules({ acls: [{ action: 'accept', src: ['*'], dst: ['*:*'] }] }, TAGS);
    expect(rules).toEqual([
      { where: 'acls[0]', sources: ['*'], destinations: ['*:*'], extra: ['every port'], allowAll: true },
    ]);
  });

  it('flags the allow-all grant', () => {
    const [rule] = broadNodeRules({ grants: [{ src: ['*'], dst: ['*'], ip: ['*'] }] }, TAGS);
    expect(rule).toMatchObject({ where: 'grants[0]', allowAll: true, extra: ['every port'] });
  });

  it('flags tag:k3s-burst → tag:pi:* (the old docs suggestion) and names the extra ports', () => {
    const rules = broadNodeRules(
      {
        acls: [
          { action: 'accept', src: ['tag:k3s-burst', 'tag:pi'], dst: ['tag:k3s-burst:*', 'tag:pi:*'] },
          { action: 'accept', src: ['tag:k3s-burst'], proto: 'tcp', dst: ['tag:pi:22,6443'] },
        ],
        grants: [{ src: ['autogroup:tagged'], dst: ['tag:pi'], ip: ['tcp:6443', 'tcp:1-1024', 'icmp:*'] }],
      },
      TAGS,
    );
    expect(rules.map((r) => [r.where, r.extra, r.allowAll])).toEqual([
      ['grants[0]', ['tcp:1-1024', 'icmp:*'], false],
      ['acls[0]', ['every port'], false],
      ['acls[1]', ['tcp:22'], false],
    ]);
  });

  it('accepts rules within tcp:6443, udp:8472 and tcp:10250, and rules whose sources are not cloud nodes', () => {
    const rules = broadNodeRules(
      {
        grants: [
          { src: ['tag:k3s-burst'], dst: ['k3s-server'], ip: ['tcp:6443'] },
          {
            src: ['tag:k3s-burst', 'tag:k3s-pi'],
            dst: ['tag:k3s-burst', 'tag:k3s-pi'],
            ip: ['udp:8472', 'tcp:10250'],
          },
          { src: ['autogroup:admin'], dst: ['*'], ip: ['*'] },
          { src: ['group:ops'], dst: ['tag:k3s-burst'], ip: ['tcp:22'] },
        ],
        acls: [
          { action: 'accept', src: ['tag:k3s-burst'], proto: 'udp', dst: ['tag:k3s-pi:8472'] },
          { action: 'accept', src: ['autogroup:member'], dst: ['*:*'] },
        ],
      },
      TAGS,
    );
    expect(rules).toEqual([]);
  });

  it('flags a port of the right number under the wrong protocol', () => {
    const rules = broadNodeRules(
      { grants: [{ src: ['tag:k3s-burst'], dst: ['*'], ip: ['udp:6443'] }] },
      TAGS,
    );
    expect(rules.map((r) => r.extra)).toEqual([['udp:6443']]);
  });

  it('ignores malformed entries instead of throwing (the file comes from Tailscale)', () => {
    expect(
      broadNodeRules(
        { grants: [null, 'x', { src: 'tag:k3s-burst', ip: 7 }], acls: [{ src: [1], dst: {} }] },
        TAGS,
      ),
    ).toEqual([]);
  });
});

describe('doctor check tailscale.policy', () => {
  it('warns on the allow-all policy with the fix pointing at the port-scoped grants', () => {
    const c = tailnetPolicyCheck({ acls: [{ action: 'accept', src: ['*'], dst: ['*:*'] }] }, TAGS);
    expect(c).toMatchObject({ id: 'tailscale.policy', status: 'warn' });
    expect(c.message).toContain('acls[0] allows everything to everyone (allow-all)');
    expect(c.fix).toContain('docs/deploy.md');
    expect(c.fix).toContain('tcp:6443');
  });

  it('is ok with the port-scoped policy docs/deploy.md gives, and with the one docs/nodes.md gives', () => {
    const deploy = policyFromDoc('docs/deploy.md', '"grants"');
    expect(tailnetPolicyCheck(deploy, TAGS)).toMatchObject({ status: 'ok' });
    const nodes = policyFromDoc('docs/nodes.md', '"grants"');
    expect(tailnetPolicyCheck(nodes, TAGS)).toMatchObject({ status: 'ok' });
    const acls = policyFromDoc('docs/deploy.md', '"acls"');
    expect(tailnetPolicyCheck(acls, TAGS)).toMatchObject({ status: 'ok' });
    // and the rules are really there (a block that lost them would pass vacuously)
    expect(deploy.grants).toHaveLength(3);
    expect(acls.acls).toHaveLength(3);
  });

  it('skips when the policy file could not be read', () => {
    expect(tailnetPolicyCheck(undefined, TAGS).status).toBe('skip');
  });
});
