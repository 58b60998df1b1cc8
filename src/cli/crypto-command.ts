import type { Command } from 'commander';
import type { CryptoStatus } from '../ops/crypto-migration.js';
import { print, withServices } from './context.js';
import { currentRun, failWith } from './io.js';

function statusLines(status: CryptoStatus): string[] {
  const counts = (rows: Record<string, number>) =>
    Object.entries(rows)
      .map(([algorithm, n]) => `${algorithm}=${n}`)
      .join(' ') || 'no rows';
  return [
    `profile: ${status.profile} (sealed ${status.target.sealed}, indexes ${status.target.index}, audit chain ${status.target.auditChain}, passwords ${status.target.passwords})`,
    ...status.columns.map(
      (c) =>
        `${c.name} [${c.kind}]: ${counts(c.rows)}${c.behind ? `; ${c.behind} not ${c.kind === 'kept' ? 'yet' : 'yet moved'}` : ''}${c.kept && c.behind ? ` (${c.kept})` : ''}`,
    ),
    `cookies: signed ${status.cookies.signing}; ${status.cookies.alsoAccepted} still accepted until those sessions end (not stored)`,
  ];
}

/** `unified-id crypto status|migrate`: the algorithms of data at rest, and moving it to CRYPTO_PROFILE. */
export function registerCrypto(program: Command) {
  const crypto = program
    .command('crypto')
    .description('which algorithms protect data at rest, the audit chain and cookies (CRYPTO_PROFILE)');
  crypto
    .command('status')
    .description('for every sealed column, blind index, the audit chain and cookies: rows by algorithm')
    .option('--json', 'print JSON', false)
    .action(async (o) => {
      const status = await withServices((s) => s.cryptoMigration.status());
      if (o.json) print(status, true);
      else currentRun().stdout.write(`${statusLines(status).join('\n')}\n`);
    });
  crypto
    .command('migrate')
    .description(
      'move sealed values and blind indexes to CRYPTO_PROFILE in batches while the service runs; safe to stop and run again',
    )
    .requiredOption('--reason <why>', 'why: recorded in the audit log with the change')
    .option('--json', 'print JSON', false)
    .action(async (o) => {
      const out = currentRun().stdout;
      const { recordAdminAction } = await import('../admin/admin-actions.js');
      const result = await withServices(async (s, config) => {
        const by = { actor: 'cli', reason: o.reason as string };
        const profile = config.cryptoProfile;
        await recordAdminAction(s.audit, by, 'admin.crypto_migrated', { profile, phase: 'started' });
        const moved = await s.cryptoMigration.migrate((p) => {
          if (!o.json)
            out.write(`${p.name}: ${p.moved} moved, ${p.raced} changed meanwhile, ${p.failed} failed\n`);
        });
        const failed = moved.reduce((n, m) => n + m.failed, 0);
        await recordAdminAction(s.audit, by, 'admin.crypto_migrated', {
          profile,
          phase: 'finished',
          moved: Object.fromEntries(moved.map((m) => [m.name, m.moved])),
          failed,
        });
        return { profile, columns: moved, failed, status: await s.cryptoMigration.status() };
      });
      if (o.json) print(result, true);
      else out.write(`${statusLines(result.status).join('\n')}\n`);
      if (result.failed > 0) {
        currentRun().stderr.write(
          `unified-id: ${result.failed} values did not open with DATA_ENCRYPTION_KEY (another key, or altered): left as they are\n`,
        );
        failWith(1);
      }
    });
}
