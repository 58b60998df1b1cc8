import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { CEILING_OF, RATIO_GOALS } from './ceiling.js';
import type { LoadResult } from './load.js';
import { PASSWORD_LOGIN_PROFILE, type QueryProfile } from './query-profile.js';

export type DatabaseKind = 'pglite' | 'postgres';

/** The RESULTS.md section a run writes: one per database, and one for PostgreSQL with 2 processes. */
export function sectionOf(kind: DatabaseKind, processes: number): string {
  return processes > 1 ? `${kind}-${processes}` : kind;
}

export interface Machine {
  date: string;
  database: string;
  serverEnv: string;
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  /** The code measured: commit, and whether src/ had uncommitted changes. */
  revision: string;
}

export interface Memory {
  idleRss: number;
  afterLoadRss: number;
  peakRss: number;
}

export interface Run {
  kind: DatabaseKind;
  /** Server processes on the one database; the load is split evenly over them. */
  processes: number;
  machine: Machine;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  machineClients: number;
  /** Sites the flow scenarios' /token requests are spread over. */
  sites: number;
  results: LoadResult[];
  halfPeak: LoadResult | undefined;
  /** One per server process. */
  memory: Memory[];
  /** Bare oidc-provider's results in the same run, by its scenario name (bench/ceiling.ts). */
  ceiling: Record<string, LoadResult>;
  ceilingMemory: Memory | undefined;
  /** Which cores the servers and the load ran on. */
  pinning: string;
}

/** Goals without a ceiling to compare with (the bare provider has no login pages); per core. */
const ABSOLUTE_TARGETS: Record<string, { text: string; met: (r: LoadResult) => boolean } | undefined> = {
  'password login': { text: '≥ 20/s per core', met: (r) => perCore(r) >= 20 },
};
/** Database statements per password login (/auth to the code at the redirect_uri). */
const STATEMENTS_PER_LOGIN = 10;
const HALF_PEAK_P99_MS = 50;
const IDLE_MEMORY_MIB: Record<DatabaseKind, number> = { postgres: 150, pglite: 250 };
/** More CPU than this used by anything else during a run means another job shared the machine. */
const DISTURBED_CORES = 0.25;

export function perCore(r: LoadResult): number {
  return r.serverCores > 0 ? r.rps / r.serverCores : 0;
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const fixed = (n: number, digits = 2) => n.toFixed(digits);
/** Rates below 100 (sign-ins) with a decimal, so that 19.6 next to "≥ 20" does not read as 20. */
const rate = (n: number) => (n < 100 ? fixed(n, 1) : int(n));
const mark = (ok: boolean) => (ok ? 'met' : '**missed**');

/** A markdown table padded the way the formatter (biome) writes it, so RESULTS.md stays lint-clean. */
export function markdownTable(header: string[], align: ('left' | 'right')[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, 3, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `| ${cells
      .map((c, i) => (align[i] === 'right' ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (align[i] === 'right' ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** Requests that did not succeed, for whatever reason. */
export function failures(r: LoadResult): number {
  return r.non2xx + r.errors + r.timeouts + r.unexpected;
}

export function renderRun(run: Run): string {
  const { machine: m } = run;
  const lines: string[] = [];
  lines.push(`## ${sectionTitle(sectionOf(run.kind, run.processes))}`, '');
  const processes =
    run.processes > 1
      ? `${run.processes} processes on the one database (same issuer, keys and cookie keys; ports differ), the load split evenly over them`
      : 'one process';
  lines.push(
    `- date: ${m.date}`,
    `- database: ${m.database}`,
    `- machine: ${m.cores} cores (nproc), ${m.cpuModel}, ${fixed(m.memoryGiB, 1)} GiB RAM, ${m.platform}`,
    `- code: ${m.revision}`,
    `- cores: ${run.pinning}`,
    `- Node ${m.node}; server ${m.serverEnv}, TRUST_PROXY=true, ${processes}; load generator (autocannon, and the bench's flow driver) on the same machine`,
    `- ${run.connections} connections (flow scenarios: ${run.connections} workers), ${run.warmupSeconds} s warm-up + ${run.seconds} s per scenario; ` +
      `client credentials spread over ${run.machineClients} clients, the flows' /token requests over ${run.sites} sites (per-client /token limit)`,
    '',
  );
  lines.push(renderRatios(run), '');
  const h = run.halfPeak;
  const row = (r: LoadResult, name: string, target: string, met: boolean | undefined) => [
    name,
    rate(r.rps),
    fixed(r.serverCores),
    rate(perCore(r)),
    r.dbCores === undefined ? '—' : fixed(r.dbCores),
    r.dbCores === undefined ? '—' : rate(r.rps / (r.serverCores + r.dbCores)),
    fixed(r.p50, 1),
    fixed(r.p99, 1),
    `${int(r.non2xx)} / ${int(r.errors + r.timeouts + r.unexpected)}`,
    r.otherCores === undefined
      ? '?'
      : `${fixed(r.otherCores)}${r.otherCores > DISTURBED_CORES ? ' (busy)' : ''}`,
    target,
    met === undefined ? '' : mark(met && failures(r) === 0),
  ];
  const rows = run.results.map((r) => {
    const target = ABSOLUTE_TARGETS[r.scenario];
    return row(r, r.scenario, target?.text ?? '—', target?.met(r));
  });
  if (h) {
    rows.push(
      row(
        h,
        `client credentials at half peak (${int(h.overallRate ?? 0)}/s offered)`,
        `p99 ≤ ${HALF_PEAK_P99_MS} ms`,
        h.p99 <= HALF_PEAK_P99_MS,
      ),
    );
  }
  lines.push(
    markdownTable(
      [
        'Scenario',
        'req/s',
        'server CPU (cores)',
        'req/s per core',
        'DB CPU (cores)',
        'req/s per core incl. DB',
        'p50 ms',
        'p99 ms',
        'non-2xx / errors',
        'other CPU (cores)',
        'Target',
        'Met',
      ],
      [
        'left',
        'right',
        'right',
        'right',
        'right',
        'right',
        'right',
        'right',
        'right',
        'right',
        'left',
        'left',
      ],
      rows,
    ),
  );
  const flows = run.results.filter((r) => r.flow);
  if (flows.length) {
    lines.push(
      '',
      `Flow scenarios (${flows.map((r) => r.scenario).join(', ')}): req/s counts completed flows per second ` +
        'and p50/p99 are per whole flow (see README.md for what one flow is). Parts of a flow, p50 / p99 ms: ' +
        flows
          .filter((r) => r.parts?.length)
          .map(
            (r) =>
              `${r.scenario}: ${r.parts!.map((p) => `${p.name} ${fixed(p.p50, 1)} / ${fixed(p.p99, 1)}`).join(', ')}`,
          )
          .join('; ') +
        '.',
    );
  }
  if (run.processes > 1) {
    lines.push(
      '',
      `req/s and server CPU are the sums over the ${run.processes} processes; per core = summed req/s ÷ summed server CPU.`,
    );
  }
  lines.push('');
  for (const [i, memory] of run.memory.entries()) {
    const which = run.memory.length > 1 ? `Server ${i + 1} memory` : 'Server memory';
    const goal = IDLE_MEMORY_MIB[run.kind];
    lines.push(
      `${which} (RSS): idle ${int(memory.idleRss)} MiB (target ≤ ${goal} MiB: ${mark(
        memory.idleRss <= goal,
      )}), after load ${int(memory.afterLoadRss)} MiB, peak ${int(memory.peakRss)} MiB.`,
    );
  }
  if (run.ceilingMemory) {
    const c = run.ceilingMemory;
    lines.push(
      `Ceiling (bare oidc-provider) memory (RSS): idle ${int(c.idleRss)} MiB, after load ${int(c.afterLoadRss)} MiB, peak ${int(c.peakRss)} MiB.`,
    );
  }
  const all = [...run.results, ...(h ? [h] : [])];
  const loader = Math.max(...all.map((r) => r.loaderCores));
  lines.push(
    `Load generator CPU: up to ${fixed(loader)} cores (near 1.0 would mean the bench process, not the server, set the pace).`,
  );
  const busy = all.filter((r) => (r.otherCores ?? 0) > DISTURBED_CORES);
  lines.push(
    busy.length
      ? `**Disturbed**: other work on the machine took more than ${DISTURBED_CORES} cores during ${busy
          .map((r) => r.scenario)
          .join(', ')} ("other CPU" column, marked busy); those rows understate the server.`
      : `Nothing else used more than ${DISTURBED_CORES} cores of the machine during the runs ("other CPU" column).`,
  );
  const problems = all.filter((r) => failures(r) > 0);
  for (const r of problems) {
    lines.push(
      '',
      `**${r.scenario}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts, ${r.unexpected} unexpected bodies** ` +
        `(status codes ${JSON.stringify(r.statusCodes)})`,
    );
    lines.push(
      '',
      '```text',
      ...r.samples.map((s) => s.replaceAll('\n', ' ').replaceAll('```', "'''")),
      '```',
    );
  }
  return lines.join('\n');
}

/**
 * The headline: each scenario's req/s per core as a multiple of bare oidc-provider's in the same
 * run, on the same core. Absolute figures move with whatever else the machine does; both sides
 * of a ratio moved together, a minute apart.
 */
export function renderRatios(run: Run): string {
  const goals = RATIO_GOALS[run.kind];
  const rows = run.results.map((r) => {
    const against = CEILING_OF[r.scenario];
    const ceiling = against ? run.ceiling[against] : undefined;
    const goal = goals[r.scenario];
    const absolute = ABSOLUTE_TARGETS[r.scenario];
    const ratio = ceiling && perCore(ceiling) > 0 ? perCore(r) / perCore(ceiling) : undefined;
    const rpsRatio = ceiling && ceiling.rps > 0 ? r.rps / ceiling.rps : undefined;
    const target = goal !== undefined ? `≥ ${fixed(goal, 1)} ×` : (absolute?.text ?? '—');
    const met =
      goal !== undefined && ratio !== undefined
        ? mark(ratio >= goal && failures(r) === 0)
        : absolute
          ? mark(absolute.met(r) && failures(r) === 0)
          : '';
    return [
      ceiling && against !== r.scenario ? `${r.scenario} (against ceiling ${against})` : r.scenario,
      ratio === undefined ? '—' : `**${fixed(ratio)} ×**`,
      rpsRatio === undefined ? '—' : `${fixed(rpsRatio)} ×`,
      rate(perCore(r)),
      ceiling ? rate(perCore(ceiling)) : '—',
      target,
      met,
    ];
  });
  return [
    'Against the ceiling: bare oidc-provider of the same version with its in-memory adapter and one client ' +
      '(`bench/ceiling-server.mjs`), on the same core with the same process settings, driven by the same ' +
      'scenarios right after ours. Sign-in flows have no ceiling (it has no login pages).',
    '',
    markdownTable(
      [
        'Scenario',
        '× ceiling (per core)',
        '× ceiling (req/s)',
        'ours req/s per core',
        'ceiling req/s per core',
        'Goal',
        'Met',
      ],
      ['left', 'right', 'right', 'right', 'right', 'left', 'left'],
      rows,
    ),
  ].join('\n');
}

export function renderQueries(profiles: QueryProfile[]): string {
  const lines = [
    '## Database statements per request',
    '',
    'Counted on an in-process server (in-memory PGlite): request scenarios over 20 sequential requests each, ' +
      'flows over 5 whole flows each (from their first request to their last, per flow); the same statements run on PostgreSQL. ' +
      'Not counted: statements of timers, which run whatever the requests (once a second per process, the flush of the /token ' +
      'counters while a client has a window open; once a minute, the sweeper).',
    '',
  ];
  const rows = profiles.map((p) => {
    const login = p.scenario === PASSWORD_LOGIN_PROFILE;
    return [
      p.scenario,
      fixed(p.perRequest, 1),
      login ? `≤ ${STATEMENTS_PER_LOGIN} per login` : '—',
      login ? mark(p.perRequest <= STATEMENTS_PER_LOGIN) : '',
      p.statements
        .map((st) => `${fixed(st.perRequest, 1)}× \`${st.sql.replaceAll('|', '\\|').replaceAll('`', "'")}\``)
        .join('<br>') || '—',
    ];
  });
  lines.push(
    markdownTable(
      ['Scenario', 'statements each', 'Target', 'Met', 'statements'],
      ['left', 'right', 'left', 'left', 'left'],
      rows,
    ),
  );
  return lines.join('\n');
}

const HEADER = `# Benchmark results

Written by \`npm run bench -- --write\` (see [README.md](README.md) for what each scenario measures and how
to read the per-core figures). A run replaces only the section of the database it ran on.
`;

const marker = (name: string) => [`<!-- bench:${name} -->`, `<!-- /bench:${name} -->`] as const;

const SECTIONS = ['diff-postgres', 'diff-pglite', 'pglite', 'postgres', 'postgres-2', 'queries'] as const;

export function sectionTitle(name: string): string {
  if (name === 'postgres') return 'PostgreSQL';
  if (name === 'postgres-2') return 'PostgreSQL, 2 processes';
  if (name.startsWith('diff-'))
    return `Differential profile against the ceiling (${name === 'diff-postgres' ? 'PostgreSQL' : 'PGlite'})`;
  return 'PGlite (embedded)';
}

/** Replaces the named sections of RESULTS.md, leaving the others (and the text outside them) as they were. */
export function writeSections(file: string, sections: Record<string, string>) {
  let text = existsSync(file) ? readFileSync(file, 'utf8') : HEADER;
  for (const [i, name] of SECTIONS.entries()) {
    const [start, end] = marker(name);
    if (text.includes(start)) continue;
    const placeholder = name === 'queries' ? '' : `## ${sectionTitle(name)}\n\nNot run yet.`;
    const block = `${start}\n${placeholder}\n${end}\n`;
    // In the order above: before the first later section already there, else at the end.
    const later = SECTIONS.slice(i + 1)
      .map((n) => text.indexOf(marker(n)[0]))
      .filter((at) => at !== -1);
    if (later.length) {
      const at = Math.min(...later);
      text = `${text.slice(0, at)}${block}\n${text.slice(at)}`;
    } else {
      text = `${text.trimEnd()}\n\n${block}`;
    }
  }
  for (const [name, body] of Object.entries(sections)) {
    const [start, end] = marker(name);
    const from = text.indexOf(start);
    const to = text.indexOf(end, from);
    text = `${text.slice(0, from + start.length)}\n${body}\n${text.slice(to)}`;
  }
  writeFileSync(file, text);
}
