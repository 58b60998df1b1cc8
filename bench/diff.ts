import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { AnyScenario } from './ceiling.js';
import type { LoadResult, LoadTarget } from './load.js';
import {
  attributeProfile,
  byRole,
  type CpuProfile,
  type DiffRow,
  diffProfiles,
  type ProfileDiff,
} from './profile-diff.js';
import { markdownTable, perCore } from './report.js';

/** The scenarios `--diff` compares by default: the requests whose ratio goals are missed. */
export const DIFF_SCENARIOS = [
  'client credentials',
  'client credentials (JWT resource)',
  'introspection',
  'userinfo',
  'jwks',
];

/** The flag `node` needs to load the profiler's control port (bench/profile-hook.mjs) into a server. */
export const PROFILE_HOOK_ARGS = ['--import', new URL('./profile-hook.mjs', import.meta.url).href];

/** A server under the profiler: its load target and its control port (BENCH_PROFILE_PORT). */
export interface Profiled {
  target: LoadTarget;
  profilePort: number;
}

async function control(port: number, action: 'start' | 'stop'): Promise<unknown> {
  const res = await fetch(`http://127.0.0.1:${port}/${action}`, { method: 'POST' });
  if (res.status !== 200) throw new Error(`profiler ${action}: ${res.status} ${await res.text()}`);
  return res.json();
}

export interface ScenarioDiff {
  scenario: string;
  against: string;
  /** Without the profiler: the ratio to read. */
  ours: LoadResult;
  ceiling: LoadResult;
  /** Under the profiler: what the table is made of. */
  profiledOurs: LoadResult;
  profiledCeiling: LoadResult;
  diff: ProfileDiff;
}

/** A scenario's run on one server, after a warm-up or (right after another run) without. */
type Measure = (s: AnyScenario, label: string, on: LoadTarget[], warmUp: boolean) => Promise<LoadResult>;

/** The server's measured CPU per successful request, in µs. */
const cpuUsPerRequest = (r: LoadResult) => 1e6 / perCore(r);

/**
 * One scenario, ours and the ceiling's, one after the other on the same core: each measured
 * plainly (the ratio), then again under the sampling profiler (the table). The profiles cover
 * exactly the measured runs (warm-up excluded).
 */
export async function diffScenario(
  measure: Measure,
  scenario: { name: string; ours: AnyScenario; ceiling: AnyScenario; against: string },
  ours: Profiled,
  ceiling: Profiled,
  /** Keeps each profile (for Chrome DevTools), by side: `ours` or `ceiling`. */
  keep?: (side: 'ours' | 'ceiling', profile: CpuProfile) => void,
): Promise<ScenarioDiff> {
  const plainOurs = await measure(scenario.ours, scenario.name, [ours.target], true);
  const plainCeiling = await measure(scenario.ceiling, `ceiling ${scenario.against}`, [ceiling.target], true);
  const profiled = async (s: AnyScenario, label: string, p: Profiled) => {
    // The server was warmed up by the plain run a moment ago: no second warm-up in the profile.
    await control(p.profilePort, 'start');
    const r = await measure(s, `${label} (profiled)`, [p.target], false);
    const profile = (await control(p.profilePort, 'stop')) as CpuProfile;
    return { r, profile };
  };
  const b = await profiled(scenario.ceiling, `ceiling ${scenario.against}`, ceiling);
  const a = await profiled(scenario.ours, scenario.name, ours);
  keep?.('ceiling', b.profile);
  keep?.('ours', a.profile);
  return {
    scenario: scenario.name,
    against: scenario.against,
    ours: plainOurs,
    ceiling: plainCeiling,
    profiledOurs: a.r,
    profiledCeiling: b.r,
    diff: diffProfiles(
      attributeProfile(a.profile),
      cpuUsPerRequest(a.r),
      attributeProfile(b.profile),
      cpuUsPerRequest(b.r),
    ),
  };
}

const us = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(1));
const signed = (n: number) => `${n >= 0 ? '+' : '−'}${us(Math.abs(n))}`;

function partsText(row: DiffRow): string {
  return row.parts
    .filter((p) => Math.abs(p.diffUs) >= 0.5)
    .slice(0, 3)
    .map((p) => `${p.part} ${signed(p.diffUs)}`)
    .join('; ');
}

/** Microseconds of PostgreSQL backend CPU per request, when the database runs on this machine. */
function dbUs(r: LoadResult): number | undefined {
  return r.dbCores === undefined || r.rps <= 0 ? undefined : (r.dbCores / r.rps) * 1e6;
}

export function renderScenarioDiff(d: ScenarioDiff, top = 12): string {
  const ratio = perCore(d.ours) / Math.max(perCore(d.ceiling), 1e-9);
  const lines = [`### ${d.scenario} (against the ceiling's ${d.against})`, ''];
  const db = dbUs(d.ours);
  lines.push(
    `Without the profiler: ours ${perCore(d.ours).toFixed(0)} req/s per core, the ceiling ${perCore(d.ceiling).toFixed(0)}: **${ratio.toFixed(2)} ×** ` +
      `(other CPU on the machine ${d.ours.otherCores?.toFixed(2) ?? '?'} / ${d.ceiling.otherCores?.toFixed(2) ?? '?'} cores). ` +
      `Under the profiler, CPU per request: ours **${us(d.diff.oursUs)} µs**, the ceiling **${us(d.diff.ceilingUs)} µs**, ` +
      `difference **${signed(d.diff.oursUs - d.diff.ceilingUs)} µs**` +
      (db === undefined
        ? ''
        : `; PostgreSQL's backends another ${us(db)} µs per request (outside the process)`) +
      '.',
    '',
  );
  const total = d.diff.oursUs - d.diff.ceilingUs;
  const share = (n: number) => (total > 0 ? `${((100 * n) / total).toFixed(0)} %` : '—');
  lines.push(
    markdownTable(
      ['what (summed)', 'ours µs', 'ceiling µs', 'difference µs', 'of the difference'],
      ['left', 'right', 'right', 'right', 'right'],
      byRole(d.diff)
        .filter((r) => Math.abs(r.diffUs) >= 0.5)
        .slice(0, top)
        .map((r) => [r.role, us(r.oursUs), us(r.ceilingUs), signed(r.diffUs), share(r.diffUs)]),
    ),
    '',
    markdownTable(
      [
        'package or file',
        'role',
        'ours µs',
        'ceiling µs',
        'difference µs',
        'largest parts of the difference',
      ],
      ['left', 'left', 'right', 'right', 'right', 'left'],
      d.diff.rows
        .filter((r) => Math.abs(r.diffUs) >= 0.5)
        .slice(0, top)
        .map((r) => [
          `\`${r.owner}\``,
          r.role,
          us(r.oursUs),
          us(r.ceilingUs),
          signed(r.diffUs),
          partsText(r),
        ]),
    ),
    '',
    markdownTable(
      ['function (matched by name and file)', 'ours µs', 'ceiling µs', 'difference µs'],
      ['left', 'right', 'right', 'right'],
      d.diff.functions
        .slice(0, top)
        .map((f) => [`\`${f.key}\``, us(f.oursUs), us(f.ceilingUs), signed(f.diffUs)]),
    ),
  );
  return lines.join('\n');
}

export function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(' ');
  }
}

export function renderDiffSection(options: {
  title: string;
  date: string;
  revision: string;
  database: string;
  setup: string;
  loadBefore: string;
  diffs: ScenarioDiff[];
}): string {
  const summary = markdownTable(
    [
      'scenario',
      'ours per core',
      'ceiling per core',
      '× ceiling',
      'ours µs/req',
      'ceiling µs/req',
      'largest item ours adds',
    ],
    ['left', 'right', 'right', 'right', 'right', 'right', 'left'],
    options.diffs.map((d) => {
      const topRow = byRole(d.diff)[0];
      return [
        d.scenario,
        perCore(d.ours).toFixed(0),
        perCore(d.ceiling).toFixed(0),
        `**${(perCore(d.ours) / Math.max(perCore(d.ceiling), 1e-9)).toFixed(2)} ×**`,
        us(d.diff.oursUs),
        us(d.diff.ceilingUs),
        topRow ? `${topRow.role} ${signed(topRow.diffUs)} µs` : '',
      ];
    }),
  );
  return [
    `## ${options.title}`,
    '',
    `- date: ${options.date}; code: ${options.revision}; database: ${options.database}`,
    `- ${options.setup}`,
    `- load average before the run: ${options.loadBefore}; after: ${loadAverage()}`,
    "- How to read it: each sample of the main thread is charged to the package or file of ours nearest the top of its stack (node and native code to whoever called it: a socket write to the one who wrote). A sample's time is wall time, which on a busy machine includes waiting for a core, so each side's µs are its shares of the samples times the process's measured CPU per successful request under the profiler (the profiler slows both sides, roughly alike); the difference is ours minus the ceiling. \"× ceiling\" is from the runs without the profiler. Garbage collection and PostgreSQL's backends are nobody's line of code but are shown.",
    '',
    summary,
    '',
    ...options.diffs.map((d) => `${renderScenarioDiff(d)}\n`),
  ].join('\n');
}
