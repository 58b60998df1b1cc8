import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { LoadResult } from './load.js';
import { PASSWORD_LOGIN_PROFILE, type QueryProfile } from './query-profile.js';

export type DatabaseKind = 'pglite' | 'postgres';

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
  machine: Machine;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  machineClients: number;
  results: LoadResult[];
  halfPeak: LoadResult | undefined;
  memory: Memory;
}

/** The goals from the issue; per core, on PostgreSQL. */
const TARGETS: Record<string, { text: string; met: (r: LoadResult) => boolean } | undefined> = {
  'client credentials': { text: '≥ 1,200/s per core', met: (r) => perCore(r) >= 1200 },
  introspection: { text: '≥ 1,500/s per core', met: (r) => perCore(r) >= 1500 },
  userinfo: { text: '≥ 1,500/s per core', met: (r) => perCore(r) >= 1500 },
};
/** Database statements per password login (/auth to the code at the redirect_uri). */
const STATEMENTS_PER_LOGIN = 15;
const HALF_PEAK_P99_MS = 50;
const IDLE_MEMORY_MIB = 150;
/** More CPU than this used by anything else during a run means another job shared the machine. */
const DISTURBED_CORES = 0.25;

export function perCore(r: LoadResult): number {
  return r.serverCores > 0 ? r.rps / r.serverCores : 0;
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const fixed = (n: number, digits = 2) => n.toFixed(digits);
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

function failures(r: LoadResult): number {
  return r.non2xx + r.errors + r.timeouts + r.unexpected;
}

export function renderRun(run: Run): string {
  const { machine: m } = run;
  const lines: string[] = [];
  const title = run.kind === 'postgres' ? 'PostgreSQL' : 'PGlite (embedded)';
  lines.push(`## ${title}`, '');
  lines.push(
    `- date: ${m.date}`,
    `- database: ${m.database}`,
    `- machine: ${m.cores} cores (nproc), ${m.cpuModel}, ${fixed(m.memoryGiB, 1)} GiB RAM, ${m.platform}`,
    `- code: ${m.revision}`,
    `- Node ${m.node}; server NODE_ENV=${m.serverEnv}, one process; load generator (autocannon) on the same machine`,
    `- ${run.connections} connections, ${run.warmupSeconds} s warm-up + ${run.seconds} s per scenario; ` +
      `client credentials spread over ${run.machineClients} clients (per-client /token limit)`,
    '',
  );
  if (run.kind !== 'postgres') {
    lines.push('Targets are goals for PostgreSQL; they are shown here for comparison only.', '');
  }
  const h = run.halfPeak;
  const row = (r: LoadResult, name: string, target: string, met: boolean | undefined) => [
    name,
    int(r.rps),
    fixed(r.serverCores),
    int(perCore(r)),
    r.dbCores === undefined ? '—' : fixed(r.dbCores),
    r.dbCores === undefined ? '—' : int(r.rps / (r.serverCores + r.dbCores)),
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
    const target = TARGETS[r.scenario];
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
  lines.push(
    '',
    `Server memory (RSS): idle ${int(run.memory.idleRss)} MiB (target ≤ ${IDLE_MEMORY_MIB} MiB: ${mark(
      run.memory.idleRss <= IDLE_MEMORY_MIB,
    )}), after load ${int(run.memory.afterLoadRss)} MiB, peak ${int(run.memory.peakRss)} MiB.`,
  );
  const all = [...run.results, ...(h ? [h] : [])];
  const loader = Math.max(...all.map((r) => r.loaderCores));
  lines.push(
    `Load generator CPU: up to ${fixed(loader)} cores (near 1.0 would mean autocannon, not the server, set the pace).`,
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

export function renderQueries(profiles: QueryProfile[]): string {
  const lines = [
    '## Database statements per request',
    '',
    'Counted on an in-process server (in-memory PGlite): request scenarios over 20 sequential requests each, ' +
      'flows over 5 whole flows each (from their first request to their last, per flow); the same statements run on PostgreSQL.',
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

/** Replaces (or appends) the named sections of RESULTS.md, leaving the others as they were. */
export function writeSections(file: string, sections: Record<string, string>) {
  let text = existsSync(file) ? readFileSync(file, 'utf8') : HEADER;
  for (const name of ['pglite', 'postgres', 'queries']) {
    const [start, end] = marker(name);
    if (!text.includes(start)) {
      const placeholder =
        name === 'queries'
          ? ''
          : `## ${name === 'postgres' ? 'PostgreSQL' : 'PGlite (embedded)'}\n\nNot run yet.`;
      text = `${text.trimEnd()}\n\n${start}\n${placeholder}\n${end}\n`;
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
