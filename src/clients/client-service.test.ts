import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openEmbeddedCopy } from '../../test/support/embedded-template.js';
import { DataProtector } from '../crypto/sealed.js';
import type { Database } from '../db/database.js';
import { migrate } from '../db/migrate.js';
import { ClientService } from './client-service.js';
import { ClientStore } from './client-store.js';

describe('the client metadata oidc-provider reads on every request', () => {
  let database: Database;
  let store: ClientStore;
  const protector = new DataProtector(randomBytes(32));

  beforeAll(async () => {
    database = openEmbeddedCopy();
    await migrate(database.db);
    store = new ClientStore(database.db);
  });
  afterAll(async () => {
    await database?.close();
  });

  async function registered(clientId: string) {
    await store.insert({
      client_id: clientId,
      name: clientId,
      client_secret: protector.seal('s3cret', `client:${clientId}`),
      metadata: { redirect_uris: ['https://rp.example.gov.cn/cb'] },
      first_party: false,
      require_level: null,
      admin_role: null,
    });
  }

  it('is read once for the requests of one client that find it missing at the same time', async () => {
    await registered('herd');
    const clients = new ClientService(store, protector, false);
    const reads = vi.spyOn(store, 'find');
    const answers = await Promise.all(Array.from({ length: 20 }, () => clients.providerMetadata('herd')));
    expect(reads).toHaveBeenCalledTimes(1);
    expect(answers.every((m) => m?.['client_secret'] === 's3cret')).toBe(true);
    reads.mockRestore();
  });

  it('is not kept from a read that was under way when the client was disabled or its secret changed', async () => {
    await registered('changed');
    const clients = new ClientService(store, protector, false);
    const before = clients.providerMetadata('changed');
    await clients.setDisabled('changed', true);
    await before;
    expect(await clients.providerMetadata('changed')).toBeUndefined();

    await clients.setDisabled('changed', false);
    const underWay = clients.providerMetadata('changed');
    const { client_secret: newSecret } = await clients.rotateSecret('changed');
    await underWay;
    expect((await clients.providerMetadata('changed'))?.['client_secret']).toBe(newSecret);
  });
});
