import { afterAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../src/db/database.js';
import { openEmbeddedCopy } from './embedded-template.js';

// PGlite rewrites postgresql.conf at each start: settings the template keeps anywhere else it
// would drop silently, as it once did (the copies ran with 16 MB of buffers and full-page writes).
describe('a test copy of the embedded database', () => {
  const database = openEmbeddedCopy();
  afterAll(() => database.close());

  it('runs with the test settings, and with synchronous commit on as deployed', async () => {
    const shown: Record<string, string> = {};
    for (const name of ['shared_buffers', 'full_page_writes', 'fsync', 'synchronous_commit'])
      shown[name] = Object.values(
        rowsOf<Record<string, string>>(await database.db.raw(`show ${name}`))[0]!,
      )[0]!;
    expect(shown).toEqual({
      shared_buffers: '1MB',
      full_page_writes: 'off',
      fsync: 'off',
      synchronous_commit: 'on',
    });
  });
});
