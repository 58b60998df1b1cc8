import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CryptoMigration } from '../../src/ops/crypto-migration.js';
import { CryptoStore } from '../../src/ops/crypto-store.js';
import { databaseKinds } from '../support/databases.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * A deployment changing CRYPTO_PROFILE from standard to gm (密评) while it serves: a process of
 * each profile on one database, data written under the first, moved by `crypto migrate`'s service.
 */
describe.each(databaseKinds())('changing the crypto profile of a running deployment (%s)', (kind) => {
  let standard: TestServer;
  let gm: TestServer;
  let machine: { client_id: string; client_secret?: string };
  const citizens: { id: string; idNumber: string }[] = [];
  const db = () => standard.database.db;

  const accountRow = async (id: string) => db()('accounts').where({ id }).first();
  const tokenWith = (server: TestServer, secret: string) =>
    fetch(`${server.url}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${machine.client_id}:${secret}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });

  beforeAll(async () => {
    standard = await startTestServer({ kind, env: { CRYPTO_PROFILE: 'standard' } });
    gm = await startTestServer({ kind, sameDeploymentAs: standard, env: { CRYPTO_PROFILE: 'gm' } });
    expect([standard.config.cryptoProfile, gm.config.cryptoProfile]).toEqual(['standard', 'gm']);
    const { accounts, clients } = standard.services;
    for (const [i, idNumber] of [
      '110101199003074573',
      '110101198501011239',
      '440304198001010017',
    ].entries()) {
      const phone = `139${String(Date.now() + i).slice(-8)}`;
      const { id } = await accounts.addCitizen({ phone, password: 'Str0ng-Passw0rd!' });
      await db()('accounts')
        .where({ id })
        .update({
          ...accounts.sealIdentity(id, { realName: `张${'三四五'[i]}`, idNumber }, 'test'),
          certification_level: 'L2',
        });
      citizens.push({ id, idNumber });
    }
    machine = await clients.add({
      name: `crypto ${randomUUID()}`,
      grantTypes: ['client_credentials'],
      scopes: ['openid'],
      authMethod: 'client_secret_basic',
    });
  });
  afterAll(async () => {
    await gm?.close();
    await standard?.close();
  });

  it('reads and finds under gm what was sealed and indexed under standard, before any migration', async () => {
    const row = await accountRow(citizens[0]!.id);
    expect(row.real_name).toMatch(/^v1\./);
    expect(gm.services.accounts.identityOf(row)?.realName).toBe('张三');
    expect((await gm.services.accounts.findByLogin(citizens[0]!.idNumber))?.id).toBe(citizens[0]!.id);
    expect((await tokenWith(gm, machine.client_secret!)).status).toBe(200);
    expect((await tokenWith(gm, 'wrong-secret')).status).toBe(401);
  });

  it('counts rows by algorithm, moves them in batches, and a second run finds nothing left', async () => {
    const before = await gm.services.cryptoMigration.status();
    const column = (s: typeof before, name: string) => s.columns.find((c) => c.name === name)!;
    expect(column(before, 'accounts.real_name')).toMatchObject({ rows: { 'aes-256-gcm': 3 }, behind: 3 });
    expect(column(before, 'accounts.id_number_hash')).toMatchObject({
      rows: { 'hmac-sha256': 3 },
      behind: 3,
    });
    expect(before.cookies).toMatchObject({ signing: 'hmac-sm3', alsoAccepted: 'hmac-sha1' });

    // Half done, as a run stopped part way would leave it: the next run moves only the rest.
    const [first] = citizens;
    const sealed = await accountRow(first!.id);
    await db()('accounts')
      .where({ id: first!.id })
      .update({
        real_name: gm.services.protector.reseal(sealed.real_name, `account:${first!.id}:real_name`),
      });

    const seen: string[] = [];
    const moved = await gm.services.cryptoMigration.migrate((p) => seen.push(p.name));
    const of = (name: string) => moved.find((m) => m.name === name)!;
    expect(of('accounts.real_name')).toMatchObject({ moved: 2, failed: 0 });
    expect(of('accounts.id_number')).toMatchObject({ moved: 3, failed: 0 });
    expect(of('accounts.id_number_hash')).toMatchObject({ moved: 3, failed: 0 });
    expect(of('clients.client_secret').moved).toBeGreaterThanOrEqual(1);
    expect(of('signing_keys.private_jwk').moved).toBeGreaterThanOrEqual(1);
    expect(seen).toContain('accounts.real_name');

    const row = await accountRow(citizens[1]!.id);
    expect(row.real_name).toMatch(/^sm4\./);
    expect(row.id_number).toMatch(/^sm4\./);
    expect(row.id_number_hash).toMatch(/^sm3\./);
    const after = await gm.services.cryptoMigration.status();
    for (const name of [
      'accounts.real_name',
      'accounts.id_number',
      'accounts.id_number_hash',
      'clients.client_secret',
    ])
      expect(column(after, name).behind).toBe(0);
    expect((await gm.services.cryptoMigration.migrate(() => {})).every((m) => m.moved === 0)).toBe(true);
  });

  it('keeps serving on both profiles after the move: identities, ID-number lookups and site secrets', async () => {
    for (const server of [gm, standard]) {
      const row = await accountRow(citizens[2]!.id);
      expect(server.services.accounts.identityOf(row)?.idNumber).toBe('440304198001010017');
      expect((await server.services.accounts.findByLogin(citizens[2]!.idNumber))?.id).toBe(citizens[2]!.id);
      expect((await tokenWith(server, machine.client_secret!)).status).toBe(200);
    }
  });

  it('lets a request that changes a row during the move win: the new secret is kept, not the old one re-sealed', async () => {
    const standardMigration = standard.services.cryptoMigration;
    await standardMigration.migrate(() => {}); // everything back to AES-256-GCM, to be moved again
    let rotated: string | undefined;
    // The site's secret is rotated (by the standard process) between the batch's read and its write.
    class Interleaved extends CryptoStore {
      override async swap(
        spec: { table: string; key: string; column: string },
        key: string,
        previous: string,
        next: string,
      ) {
        if (spec.table === 'clients' && key === machine.client_id && !rotated)
          rotated = (await standard.services.clients.rotateSecret(machine.client_id)).client_secret;
        return super.swap(spec, key, previous, next);
      }
    }
    const moved = await new CryptoMigration(new Interleaved(db()), gm.services.protector).migrate(() => {});
    expect(moved.find((m) => m.name === 'clients.client_secret')?.raced).toBe(1);
    // Asked of the process that rotated it: another keeps a site's metadata cached for seconds.
    expect((await tokenWith(standard, rotated!)).status).toBe(200);
    expect((await tokenWith(standard, machine.client_secret!)).status).toBe(401);
    machine.client_secret = rotated;
    // The raced row is moved by the next run.
    const again = await gm.services.cryptoMigration.migrate(() => {});
    expect(again.find((m) => m.name === 'clients.client_secret')).toMatchObject({ moved: 1, raced: 0 });
  });

  it('refuses an SM4 value moved to another account, or with a bit flipped, and migrate leaves it alone', async () => {
    const [a, b] = [await accountRow(citizens[0]!.id), await accountRow(citizens[1]!.id)];
    expect(() => gm.services.accounts.identityOf({ ...a, real_name: b.real_name })).toThrow(/integrity/);
    const [tag, iv, ct, mac] = a.id_number.split('.');
    const flipped = Buffer.from(ct, 'base64url');
    flipped[0]! ^= 1;
    const altered = [tag, iv, flipped.toString('base64url'), mac].join('.');
    expect(() => gm.services.accounts.identityOf({ ...a, id_number: altered })).toThrow(/integrity/);

    // Written so into the table, the standard process can not move it back either: it is reported.
    await db()('accounts').where({ id: a.id }).update({ id_number: altered });
    const back = await standard.services.cryptoMigration.migrate(() => {});
    expect(back.find((m) => m.name === 'accounts.id_number')).toMatchObject({ failed: 1, moved: 2 });
    expect((await accountRow(a.id)).id_number).toBe(altered);
  });

  it('verifies an audit chain sealed part with SHA-256 and part with SM3', async () => {
    // Each process seals only when told to, so which profile links which row is known.
    await Promise.all([standard.services.audit.sealer.stop(), gm.services.audit.sealer.stop()]);
    await standard.services.audit.sealer.sealAll();
    const before = (await gm.services.cryptoMigration.status()).columns.find(
      (c) => c.name === 'audit_events.hash',
    )!;
    for (const server of [standard, gm, standard]) {
      await server.services.audit.record({
        type: 'login',
        outcome: 'failure',
        detail: { by: server.config.cryptoProfile },
      });
      await server.services.audit.sealer.sealAll();
    }
    const status = await gm.services.cryptoMigration.status();
    const chain = status.columns.find((c) => c.name === 'audit_events.hash')!;
    expect(chain.rows['sm3']).toBe((before.rows['sm3'] ?? 0) + 1);
    expect(chain.rows['sha256']).toBe((before.rows['sha256'] ?? 0) + 2);
    expect(await gm.services.audit.verify()).toMatchObject({ ok: true });
  });
});
