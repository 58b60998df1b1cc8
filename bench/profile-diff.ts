/**
 * The differential profile (`npm run bench -- --diff`): the same request profiled on the bare
 * provider and on ours, every sample of each attributed to the package or source file that owns
 * it, and the two set side by side per request. A spread-thin profile read alone shows no hot
 * spot; the difference against the ceiling shows what our stack adds, item by item.
 */

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** V8's CPU profile, as the inspector's Profiler.stop and `node --cpu-prof` give it. */
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  /** Microseconds since the previous sample, one per sample. */
  timeDeltas: number[];
}

/** Where a frame's code lives: the npm package, a file of ours, or node itself. */
export function fileOf(url: string): string {
  const modules = url.lastIndexOf('/node_modules/');
  if (modules !== -1) return url.slice(modules + '/node_modules/'.length);
  // The server runs the compiled dist/; name the source file instead.
  for (const [dir, ts] of [
    ['/dist/', true],
    ['/src/', false],
  ] as const) {
    const at = url.lastIndexOf(dir);
    if (at !== -1) {
      const rest = url.slice(at + dir.length);
      return `src/${ts ? rest.replace(/\.js$/, '.ts') : rest}`;
    }
  }
  const bench = url.lastIndexOf('/bench/');
  if (bench !== -1) return url.slice(bench + 1);
  return url;
}

/**
 * The owner a sample is charged to: an npm package (`koa`, `@koa/router`) or a file of ours
 * (`src/ops/rate-limiter.ts`); undefined for node's own modules and native code, whose time goes
 * to the nearest owner below them on the stack (a socket write to whoever wrote).
 */
export function ownerOf(url: string): string | undefined {
  if (!url || url.startsWith('node:')) return undefined;
  const file = fileOf(url);
  if (file.startsWith('src/') || file.startsWith('bench/')) return file;
  if (file === url) return undefined;
  const parts = file.split('/');
  return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

/** V8's pseudo-frames: their time is nobody's code. */
const PSEUDO = new Map([
  ['(garbage collector)', 'garbage collection'],
  ['(program)', 'V8 / native, no JS frame'],
]);
/** Charged to nobody: the process waited. */
const IDLE = '(idle)';
/** The bench's own control port (bench/profile-hook.mjs): starting and stopping the profiler is no request's work. */
const CONTROL = 'bench/profile-hook.mjs';
/** Samples with no package or file of ours anywhere on their stack (the HTTP parser, timers…). */
export const NODE_ONLY = 'node.js (no package on the stack)';

export interface Attributed {
  /** Busy (not idle) microseconds in the profile. */
  busyUs: number;
  idleUs: number;
  /** Microseconds by owner, each split into parts: the owner's own code, or node / native code it called. */
  owners: Map<string, { us: number; parts: Map<string, number> }>;
  /** Self microseconds by function, keyed by name + file (line for anonymous ones), matched across profiles. */
  functions: Map<string, number>;
}

/** A frame's name in the function table: the same function in both profiles gets the same key. */
export function functionKey(frame: ProfileNode['callFrame']): string {
  const name = frame.functionName || `(anonymous):${frame.lineNumber + 1}`;
  const file = frame.url ? fileOf(frame.url) : '(native)';
  return `${name} ${file}`;
}

/** What node or native code a leaf frame is, when it belongs to no owner. */
function partOf(frame: ProfileNode['callFrame']): string {
  if (!frame.url) return `${frame.functionName || '(anonymous)'} (native)`;
  return frame.url.startsWith('node:') ? frame.url : fileOf(frame.url);
}

export function attributeProfile(profile: CpuProfile): Attributed {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const ownerMemo = new Map<number, string | undefined>();
  const stackOwner = (id: number): string | undefined => {
    if (ownerMemo.has(id)) return ownerMemo.get(id);
    const node = byId.get(id)!;
    const own = ownerOf(node.callFrame.url);
    const up = parent.get(id);
    const owner = own ?? (up === undefined ? undefined : stackOwner(up));
    ownerMemo.set(id, owner);
    return owner;
  };
  const self = new Map<number, number>();
  // The first sample's delta runs from the profiler's start, not from an earlier sample.
  for (const [i, id] of profile.samples.entries())
    if (i > 0) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));

  const result: Attributed = { busyUs: 0, idleUs: 0, owners: new Map(), functions: new Map() };
  for (const [id, us] of self) {
    const frame = byId.get(id)!.callFrame;
    if (stackOwner(id) === CONTROL) continue;
    if (frame.functionName === IDLE) {
      result.idleUs += us;
      continue;
    }
    result.busyUs += us;
    const pseudo = PSEUDO.get(frame.functionName);
    const ownOwner = ownerOf(frame.url);
    const owner = pseudo ?? stackOwner(id) ?? NODE_ONLY;
    const part = pseudo ? pseudo : ownOwner ? 'own code' : partOf(frame);
    const entry = result.owners.get(owner) ?? { us: 0, parts: new Map<string, number>() };
    entry.us += us;
    entry.parts.set(part, (entry.parts.get(part) ?? 0) + us);
    result.owners.set(owner, entry);
    const key = functionKey(frame);
    result.functions.set(key, (result.functions.get(key) ?? 0) + us);
  }
  return result;
}

/** What an owner does in a request, for the reader of the table (our middleware by file name). */
const ROLES: [RegExp, string][] = [
  [/^(koa|koa-compose|koa-convert|delegates|on-finished|statuses|http-errors|cookies|keygrip)$/, 'Koa stack'],
  [/^koa-mount$/, 'mounts'],
  [/^@koa\/router$|^path-to-regexp$/, 'router'],
  [/^(koa-body|co-body|raw-body|qs|iconv-lite|inflation|formidable|type-is|content-type)$/, 'form parsing'],
  [/^(prom-client|tdigest|bintrees)$|^src\/ops\/metrics/, 'metrics'],
  [
    /^(pino|pino-std-serializers|sonic-boom|fast-redact|thread-stream|quick-format-unescaped)$|^src\/ops\/logger/,
    'logging',
  ],
  [
    /^(knex|pg|pg-protocol|pg-pool|pg-types|postgres-|@electric-sql\/pglite|knex-pglite)|^src\/db\//,
    'database',
  ],
  [/^jose$|^src\/crypto\/|^src\/oidc\/keys\//, 'signing / crypto'],
  [/^src\/ops\/.*limit/, 'limiter'],
  [/^src\/web\/body/, 'form parsing'],
  [/^oidc-provider$/, 'oidc-provider'],
];

export function roleOf(owner: string): string {
  return ROLES.find(([re]) => re.test(owner))?.[1] ?? '';
}

export interface DiffRow {
  owner: string;
  role: string;
  oursUs: number;
  ceilingUs: number;
  diffUs: number;
  /** The parts of the owner's difference, largest first. */
  parts: { part: string; diffUs: number }[];
}

export interface FunctionRow {
  key: string;
  oursUs: number;
  ceilingUs: number;
  diffUs: number;
}

export interface ProfileDiff {
  oursUs: number;
  ceilingUs: number;
  rows: DiffRow[];
  functions: FunctionRow[];
}

/**
 * Per request, microseconds: ours against the ceiling, by owner (sorted by what ours adds) and by
 * function (matched by name and file, sorted by the size of the difference). A sample's time is
 * wall time (on a busy machine it includes the time the process waited for a core), so each side
 * is given as its shares of the samples times the process's measured CPU per request.
 */
export function diffProfiles(
  ours: Attributed,
  oursCpuUsPerRequest: number,
  ceiling: Attributed,
  ceilingCpuUsPerRequest: number,
): ProfileDiff {
  if (!(oursCpuUsPerRequest > 0 && ceilingCpuUsPerRequest > 0))
    throw new Error('a profile covers no request');
  if (ours.busyUs <= 0 || ceiling.busyUs <= 0) throw new Error('a profile has no busy sample');
  const o = (us: number) => (us / ours.busyUs) * oursCpuUsPerRequest;
  const c = (us: number) => (us / ceiling.busyUs) * ceilingCpuUsPerRequest;
  const rows: DiffRow[] = [];
  for (const owner of new Set([...ours.owners.keys(), ...ceiling.owners.keys()])) {
    const a = ours.owners.get(owner);
    const b = ceiling.owners.get(owner);
    const parts = new Set([...(a?.parts.keys() ?? []), ...(b?.parts.keys() ?? [])]);
    rows.push({
      owner,
      role: roleOf(owner),
      oursUs: o(a?.us ?? 0),
      ceilingUs: c(b?.us ?? 0),
      diffUs: o(a?.us ?? 0) - c(b?.us ?? 0),
      parts: [...parts]
        .map((part) => ({ part, diffUs: o(a?.parts.get(part) ?? 0) - c(b?.parts.get(part) ?? 0) }))
        .sort((x, y) => y.diffUs - x.diffUs),
    });
  }
  rows.sort((x, y) => y.diffUs - x.diffUs);
  const functions: FunctionRow[] = [];
  for (const key of new Set([...ours.functions.keys(), ...ceiling.functions.keys()])) {
    const oursUs = o(ours.functions.get(key) ?? 0);
    const ceilingUs = c(ceiling.functions.get(key) ?? 0);
    functions.push({ key, oursUs, ceilingUs, diffUs: oursUs - ceilingUs });
  }
  functions.sort((x, y) => Math.abs(y.diffUs) - Math.abs(x.diffUs));
  return { oursUs: o(ours.busyUs), ceilingUs: c(ceiling.busyUs), rows, functions };
}

/** Sums of the owners' rows by role (Koa stack, form parsing, database…), largest difference first. */
export function byRole(
  diff: ProfileDiff,
): { role: string; oursUs: number; ceilingUs: number; diffUs: number }[] {
  const sums = new Map<string, { role: string; oursUs: number; ceilingUs: number; diffUs: number }>();
  for (const r of diff.rows) {
    const role = r.role || r.owner;
    const s = sums.get(role) ?? { role, oursUs: 0, ceilingUs: 0, diffUs: 0 };
    s.oursUs += r.oursUs;
    s.ceilingUs += r.ceilingUs;
    s.diffUs += r.diffUs;
    sums.set(role, s);
  }
  return [...sums.values()].sort((x, y) => y.diffUs - x.diffUs);
}
