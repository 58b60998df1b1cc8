import { Command, CommanderError, Option } from 'commander';
import { OPERATOR_ROLES } from '../access/operator-roles.js';
import type { Requester } from '../admin/admin-actions.js';
import { endOfChainWords } from '../audit/end-of-chain.js';
import { ConfigError } from '../config.js';
import { EmbeddedDatabaseBusy } from '../db/embedded-busy.js';
import { AppError } from '../errors.js';
import { registerBridge } from './bridge-command.js';
import { print, withAdminActions, withDatabase, withServices } from './context.js';
import { registerCrypto } from './crypto-command.js';
import { registerDevAlipay } from './dev-alipay-command.js';
import { registerDevCa } from './dev-ca-command.js';
import { type CliIo, cliConsole, failWith, withIo } from './io.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];
const list = (value: string) => value.split(/[,\s]+/).filter(Boolean);

const REASON_HELP = 'why: recorded in the audit log with the change';
const byCli = (reason: string): Requester => ({ actor: 'cli', reason });

/** A fresh parser per run: commander keeps the parsed options on its commands. */
function buildProgram(io: CliIo): Command {
  const program = new Command('unified-id').exitOverride().configureOutput({
    writeOut: (text) => io.stdout.write(text),
    writeErr: (text) => io.stderr.write(text),
  });
  program.description('Unified ID (统一用户账号) OpenID Connect provider');

  program
    .command('serve', { isDefault: true })
    .description('run the provider (npm start)')
    .action(async () => {
      const { runServe } = await import('./serve.js');
      await runServe();
    });

  program
    .command('migrate')
    .description('apply database migrations (under an advisory lock)')
    .action(async () => {
      const { migrate } = await import('../db/migrate.js');
      const { applied } = await withDatabase(migrate);
      cliConsole().log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
    });

  const clients = program.command('clients').description('relying parties (government service sites)');
  clients
    .command('add')
    .requiredOption('--name <name>', 'site name shown to users')
    .addOption(
      new Option(
        '--application-type <type>',
        'web: a site (exact redirect URIs, a secret); native: an app on the device (RFC 8252: public, PKCE, loopback on any port, private-use schemes)',
      ).choices(['web', 'native']),
    )
    .option('--redirect-uri <uri>', 'redirect URI (repeat for more)', collect, [])
    .option('--post-logout-redirect-uri <uri>', 'post-logout redirect URI (repeatable)', collect, [])
    .option('--backchannel-logout-uri <uri>', 'back-channel logout endpoint')
    .option('--grant-types <types>', 'authorization_code,refresh_token,client_credentials', list)
    .option('--scopes <scopes>', 'openid,profile,phone,identity,enterprise,offline_access,admin', list)
    .addOption(
      new Option(
        '--admin-role <role>',
        'the one operator role a client_credentials client with the admin scope acts for (三员分立)',
      ).choices(OPERATOR_ROLES),
    )
    .addOption(
      new Option('--auth-method <method>', 'token endpoint authentication').choices([
        'client_secret_basic',
        'client_secret_post',
        'private_key_jwt',
        'none',
      ]),
    )
    .option('--jwks-uri <uri>', 'JWKS URI for private_key_jwt')
    .addOption(new Option('--subject-type <type>').choices(['public', 'pairwise']))
    .addOption(new Option('--id-token-alg <alg>', 'ID token signing algorithm').choices(['ES256', 'RS256']))
    .addOption(
      new Option('--require-level <level>', 'minimum certification level').choices(['L1', 'L2', 'L3']),
    )
    .option('--first-party', 'trusted site: no consent screen', false)
    .requiredOption('--reason <why>', REASON_HELP)
    .option('--json', 'print JSON', false)
    .action(async (o) => {
      const created = await withAdminActions((actions) =>
        actions.createClient(
          {
            name: o.name,
            applicationType: o.applicationType,
            redirectUris: o.redirectUri,
            postLogoutRedirectUris: o.postLogoutRedirectUri,
            backchannelLogoutUri: o.backchannelLogoutUri,
            grantTypes: o.grantTypes,
            scopes: o.scopes,
            authMethod: o.authMethod,
            jwksUri: o.jwksUri,
            subjectType: o.subjectType,
            idTokenSigningAlg: o.idTokenAlg,
            firstParty: o.firstParty,
            requireLevel: o.requireLevel,
            adminRole: o.adminRole,
          },
          byCli(o.reason),
        ),
      );
      print(created, o.json);
    });
  clients
    .command('list')
    .option('--json', 'print JSON', false)
    .action(async (o) => print(await withServices((s) => s.clients.list()), o.json));
  clients
    .command('show <clientId>')
    .option('--json', 'print JSON', false)
    .action(async (id, o) => print(await withServices((s) => s.clients.show(id)), o.json));
  clients
    .command('remove <clientId>')
    .requiredOption('--reason <why>', REASON_HELP)
    .action(async (id, o) => {
      await withAdminActions((actions) => actions.removeClient(id, byCli(o.reason)));
      cliConsole().log(`removed ${id}`);
    });
  clients
    .command('rotate-secret <clientId>')
    .requiredOption('--reason <why>', REASON_HELP)
    .option('--json', 'print JSON', false)
    .action(async (id, o) =>
      print(await withAdminActions((actions) => actions.rotateClientSecret(id, byCli(o.reason))), o.json),
    );

  const resources = program
    .command('resources')
    .description("relying parties' APIs (RFC 8707 resource servers) that access tokens are issued for");
  resources
    .command('add')
    .description('registers an API; prints its client_id and client_secret for introspection, once')
    .requiredOption(
      '--identifier <uri>',
      "the API's URI, as sites send it in `resource` (the tokens' audience)",
    )
    .requiredOption('--scopes <scopes>', "the API's own scopes, e.g. orders:read,orders:write", list)
    .addOption(
      new Option('--format <format>', 'jwt: validated by the API against /jwks; opaque: introspected')
        .choices(['jwt', 'opaque'])
        .makeOptionMandatory(),
    )
    .option('--ttl <seconds>', 'access token lifetime', (v) => Number.parseInt(v, 10), 600)
    .requiredOption('--reason <why>', REASON_HELP)
    .option('--json', 'print JSON', false)
    .action(async (o) =>
      print(
        await withAdminActions((actions) =>
          actions.addResourceServer(
            { identifier: o.identifier, scopes: o.scopes, format: o.format, ttl: o.ttl },
            byCli(o.reason),
          ),
        ),
        o.json,
      ),
    );
  resources
    .command('rotate-secret <identifier>')
    .description("new credentials for the API's introspection (the old ones stop working); shown once")
    .requiredOption('--reason <why>', REASON_HELP)
    .option('--json', 'print JSON', false)
    .action(async (identifier, o) =>
      print(
        await withAdminActions((actions) => actions.rotateResourceServerSecret(identifier, byCli(o.reason))),
        o.json,
      ),
    );
  resources
    .command('list')
    .option('--json', 'print JSON', false)
    .action(async (o) => print(await withServices((s) => s.resources.list()), o.json));
  resources
    .command('remove <identifier>')
    .requiredOption('--reason <why>', REASON_HELP)
    .action(async (identifier, o) => {
      await withAdminActions((actions) => actions.removeResourceServer(identifier, byCli(o.reason)));
      cliConsole().log(`removed ${identifier}`);
    });

  const keys = program.command('keys').description('signing keys');
  keys
    .command('list')
    .option('--json', 'print JSON', false)
    .action(async (o) =>
      print(
        await withServices(async (s) => {
          await s.keys.ensureKeys();
          return s.keys.list();
        }),
        o.json,
      ),
    );
  keys
    .command('rotate')
    .requiredOption('--reason <why>', REASON_HELP)
    .option('--json', 'print JSON', false)
    .action(async (o) =>
      print(await withAdminActions((actions) => actions.rotateKeys(byCli(o.reason))), o.json),
    );

  const accounts = program.command('accounts').description('user accounts');
  accounts
    .command('add')
    .requiredOption('--phone <phone>', 'mainland mobile number')
    .requiredOption('--password <password>', 'login password (the same rules as registration)')
    .option('--json', 'print JSON', false)
    .action(async (o) => print(await withServices((s) => s.accounts.addCitizen(o)), o.json));
  accounts
    .command('show <account>')
    .description('by id or phone number')
    .option('--json', 'print JSON', false)
    .action(async (id, o) => print(await withServices((s) => s.accounts.show(id)), o.json));
  accounts
    .command('lock <account>')
    .description('locked, and signed out everywhere')
    .requiredOption('--reason <why>', REASON_HELP)
    .option('--json', 'print JSON', false)
    .action(async (id, o) =>
      print(await withAdminActions((actions) => actions.lockAccount(id, byCli(o.reason))), o.json),
    );
  accounts
    .command('unlock <account>')
    .requiredOption('--reason <why>', REASON_HELP)
    .option('--json', 'print JSON', false)
    .action(async (id, o) =>
      print(await withAdminActions((actions) => actions.unlockAccount(id, byCli(o.reason))), o.json),
    );

  const operators = program
    .command('operators')
    .description(
      'people who administer Unified ID with their own sign-in (acr mfa or cert), one role each (三员分立)',
    );
  operators
    .command('add <account>')
    .description('by phone number, verified ID number or account id')
    .addOption(
      new Option('--role <role>', 'system (系统管理员), security (安全管理员) or audit (审计管理员)')
        .choices(OPERATOR_ROLES)
        .makeOptionMandatory(),
    )
    .requiredOption('--reason <why>', REASON_HELP)
    .option('--json', 'print JSON', false)
    .action(async (login, o) =>
      print(await withServices((s) => s.operators.add(login, o.role, byCli(o.reason))), o.json),
    );
  operators
    .command('remove <account>')
    .requiredOption('--reason <why>', REASON_HELP)
    .option('--json', 'print JSON', false)
    .action(async (login, o) =>
      print(await withServices((s) => s.operators.remove(login, byCli(o.reason))), o.json),
    );
  operators
    .command('list')
    .option('--json', 'print JSON', false)
    .action(async (o) => print(await withServices((s) => s.operators.list()), o.json));

  registerCrypto(program);
  registerDevCa(program);
  registerBridge(program);
  registerDevAlipay(program);

  const audit = program.command('audit').description('the tamper-evident security log');
  audit
    .command('list')
    .description('the newest events first')
    .option('--account <id>', 'only this account')
    .option('--type <type>', 'only this type, e.g. login or admin.account_locked')
    .option('--limit <n>', 'how many', (v) => Number.parseInt(v, 10), 50)
    .option('--json', 'print JSON', false)
    .action(async (o) =>
      print(
        await withServices((s) =>
          s.audit.query({
            accountId: o.account,
            type: o.type,
            limit: Math.min(Math.max(o.limit || 50, 1), 1000),
          }),
        ),
        o.json,
      ),
    );
  audit
    .command('verify')
    .description(
      'walk the hash chain and hold its end against the newest outside checkpoint; exit 1 at the first deleted or altered row, or when that checkpoint is past the end',
    )
    .option(
      '--checkpoints <dir>',
      'the signed checkpoints kept in this directory (default: AUDIT_CHECKPOINT_DIR)',
    )
    .option('--json', 'print JSON', false)
    .action(async (o) => {
      const result = await withServices(async (s) => {
        const { verdict, witness } = await s.audit.verifyAgainstOutside(o.checkpoints);
        // The words right under ok: what a reader of the output must not miss.
        const { ok, ...found } = verdict;
        return { ok, endOfChain: endOfChainWords(verdict, witness), ...found };
      });
      print(result, o.json);
      if (!result.ok) failWith(1);
    });
  audit
    .command('verify-archive')
    .description(
      'recompute every link of an archive file of `audit archive` and check its signed checkpoints; exit 1 at the first line that does not hold',
    )
    .argument('<file>', 'an audit-<first>-<last>.ndjson file')
    .option('--json', 'print JSON', false)
    .action(async (file: string, o) => {
      const result = await withServices((s) => s.audit.verifyArchive(file));
      print(result, o.json);
      if (!result.ok) failWith(1);
    });
  audit
    .command('checkpoint')
    .description(
      'seal pending rows, sign the head now and send it to AUDIT_CHECKPOINT_DIR, the log and AUDIT_CHECKPOINT_URL',
    )
    .option('--json', 'print JSON', false)
    .action(async (o) => {
      const checkpoint = await withServices(async (s) => {
        await s.keys.ensureKeys();
        return s.audit.sealer.checkpointNow();
      });
      print(checkpoint ?? { checkpoint: 'none: the log is empty' }, o.json);
    });
  audit
    .command('archive')
    .description('move rows older than AUDIT_RETENTION_DAYS (at least 180) to an NDJSON file and remove them')
    .requiredOption('--out <dir>', 'where the archive file is written')
    .option('--json', 'print JSON', false)
    .action(async (o) =>
      print(await withServices((s, config) => s.audit.archive(o.out, config.audit.retentionDays)), o.json),
    );

  return program;
}

const processIo = (): CliIo => ({ env: process.env, stdout: process.stdout, stderr: process.stderr });

/**
 * `unified-id <argv>`: runs one command and resolves with its exit code; it never exits the
 * process, so tests run commands in-process. `serve` and `dev-alipay` resolve once listening.
 */
export async function runCli(argv: string[], io: CliIo = processIo()): Promise<number> {
  const { result, exitCode } = await withIo(io, async () => {
    try {
      await buildProgram(io).parseAsync(argv, { from: 'user' });
      return undefined;
    } catch (err) {
      // commander has already printed its usage error (or the help, with code 0).
      if (err instanceof CommanderError) return err.exitCode;
      const console = cliConsole();
      if (err instanceof ConfigError || err instanceof EmbeddedDatabaseBusy) {
        console.error(`unified-id: ${err.message}`);
      } else if (err instanceof AppError) {
        console.error(`unified-id: ${err.userMessage}`);
      } else {
        console.error(err);
      }
      return 1;
    }
  });
  return result ?? exitCode;
}
