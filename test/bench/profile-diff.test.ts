import { describe, expect, it } from 'vitest';
import {
  attributeProfile,
  byRole,
  type CpuProfile,
  diffProfiles,
  NODE_ONLY,
  type ProfileNode,
} from '../../bench/profile-diff.js';

/**
 * A profile from stacks written root first as `function|url|line`, each with
 * the microseconds sampled in its leaf — the shape V8 gives, built by hand.
 */
function profileOf(stacks: [string[], number][]): CpuProfile {
  const nodes: ProfileNode[] = [{ id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } }];
  // V8's first delta counts from the profiler's start, not from a sample: never anyone's time.
  const samples: number[] = [1];
  const timeDeltas: number[] = [777];
  for (const [frames, us] of stacks) {
    let at = nodes[0]!;
    for (const frame of frames) {
      const [functionName = '', url = '', line = '0'] = frame.split('|');
      const callFrame = { functionName, url, lineNumber: Number(line) };
      let child = (at.children ?? [])
        .map((id) => nodes.find((n) => n.id === id)!)
        .find((n) => JSON.stringify(n.callFrame) === JSON.stringify(callFrame));
      if (!child) {
        child = { id: nodes.length + 1, callFrame };
        nodes.push(child);
        at.children = [...(at.children ?? []), child.id];
      }
      at = child;
    }
    // Split into two samples, as a real profile's time comes in many.
    samples.push(at.id, at.id);
    timeDeltas.push(us / 2, us / 2);
  }
  return { nodes, samples, timeDeltas };
}

const OURS = 'file:///srv/uid/node_modules';
const CEIL = 'file:///elsewhere/node_modules';
const http = 'parserOnHeadersComplete|node:_http_common';

describe('attributing a profile', () => {
  const profile = profileOf([
    [[http, `handleRequest|${OURS}/koa/lib/application.js`, 'writev|'], 30],
    [
      [
        http,
        `handleRequest|${OURS}/koa/lib/application.js`,
        `limit|file:///srv/uid/dist/ops/rate-limiter.js`,
      ],
      20,
    ],
    [
      [
        http,
        `limit|file:///srv/uid/dist/ops/rate-limiter.js`,
        `parse|${OURS}/co-body/lib/form.js`,
        'decode|node:internal/util',
      ],
      15,
    ],
    [[`dispatch|${OURS}/@koa/router/lib/router.js`], 5],
    // A name that is also a property of every object.
    [[`constructor|${OURS}/@koa/router/lib/layer.js`], 3],
    [[http, 'emit|node:events'], 7],
    [['(garbage collector)|'], 11],
    [['(idle)|'], 1000],
    [[`post|file:///srv/uid/bench/profile-hook.mjs`, 'dispatch|'], 500],
  ]);
  const a = attributeProfile(profile);

  it('charges node and native code to the nearest package or file of ours below it', () => {
    expect(a.owners.get('koa')).toEqual({ us: 30, parts: new Map([['writev (native)', 30]]) });
    expect(a.owners.get('co-body')?.parts).toEqual(new Map([['node:internal/util', 15]]));
  });

  it('names our compiled files by their source and scoped packages by scope and name', () => {
    expect(a.owners.get('src/ops/rate-limiter.ts')?.parts).toEqual(new Map([['own code', 20]]));
    expect(a.owners.get('@koa/router')?.us).toBe(8);
  });

  it('keeps time with no package on the stack, garbage collection and idle apart, and the profiler control out', () => {
    expect(a.owners.get(NODE_ONLY)?.parts).toEqual(new Map([['node:events', 7]]));
    expect(a.owners.get('garbage collection')?.us).toBe(11);
    expect(a.idleUs).toBe(1000);
    expect(a.busyUs).toBe(30 + 20 + 15 + 8 + 7 + 11);
  });
});

describe('the difference against the ceiling', () => {
  // Ours: 21 µs of CPU per request; the ceiling 9, of the same provider installed somewhere else.
  const ours = attributeProfile(
    profileOf([
      [[`handle|${OURS}/oidc-provider/lib/actions/token.js|40`], 100],
      [[`|${OURS}/oidc-provider/lib/actions/token.js|7`], 10],
      [[`hash|${OURS}/prom-client/lib/util.js`], 50],
      [[`dispatch|${OURS}/koa-compose/index.js`], 20],
      [[`respond|${OURS}/koa/lib/application.js`], 30],
    ]),
  );
  const ceiling = attributeProfile(
    profileOf([
      [[`handle|${CEIL}/oidc-provider/lib/actions/token.js|40`], 100],
      [[`|${CEIL}/oidc-provider/lib/actions/token.js|99`], 40],
      [[`respond|${CEIL}/koa/lib/application.js`], 40],
    ]),
  );
  const diff = diffProfiles(ours, 21, ceiling, 9);

  it('gives each side per request and orders the owners by what ours adds', () => {
    expect(diff.oursUs).toBe(21);
    expect(diff.ceilingUs).toBe(9);
    expect(diff.rows.map((r) => [r.owner, r.oursUs, r.ceilingUs, r.diffUs])).toEqual(
      [
        ['oidc-provider', 11, 7, 4],
        ['prom-client', 5, 0, 5],
        ['koa-compose', 2, 0, 2],
        ['koa', 3, 2, 1],
      ].sort((x, y) => (y[3] as number) - (x[3] as number)),
    );
  });

  it('matches functions by name and file wherever the package is installed, anonymous ones by line', () => {
    const row = (key: string) => diff.functions.find((f) => f.key === key);
    expect(row('handle oidc-provider/lib/actions/token.js')).toMatchObject({
      oursUs: 10,
      ceilingUs: 5,
      diffUs: 5,
    });
    expect(row('(anonymous):8 oidc-provider/lib/actions/token.js')).toMatchObject({
      oursUs: 1,
      ceilingUs: 0,
    });
    expect(row('(anonymous):100 oidc-provider/lib/actions/token.js')).toMatchObject({
      oursUs: 0,
      ceilingUs: 2,
    });
    expect(diff.functions).toHaveLength(6);
  });

  it('sums the owners by what they do', () => {
    const koa = byRole(diff).find((r) => r.role === 'Koa stack');
    expect(koa).toEqual({ role: 'Koa stack', oursUs: 5, ceilingUs: 2, diffUs: 3 });
    expect(byRole(diff)[0]).toMatchObject({ role: 'metrics', diffUs: 5 });
  });

  it('splits the measured CPU by the shares of the samples, whatever wall time a busy machine added', () => {
    const slowed = profileOf([
      [[`handle|${CEIL}/oidc-provider/lib/actions/token.js|40`], 300],
      [[`|${CEIL}/oidc-provider/lib/actions/token.js|99`], 120],
      [[`respond|${CEIL}/koa/lib/application.js`], 120],
    ]);
    expect(diffProfiles(ours, 21, attributeProfile(slowed), 9)).toEqual(diff);
  });

  it('refuses a profile that covers no request', () => {
    expect(() => diffProfiles(ours, 0, ceiling, 9)).toThrow(/no request/);
  });
});
