import type { TestProject } from 'vitest/node';
import { makePostgresTemplate } from './databases.js';
import { makeEmbeddedTemplate, makeRunDir, removeRunDir, templateKey } from './embedded-template.js';
import { makeSigningKeyPool } from './signing-keys.js';

export default async function setup(project: TestProject) {
  const runDir = makeRunDir();
  // Made at the same time: the embedded template's initdb runs in a child process, the RSA keys
  // in the thread pool and the PostgreSQL template in the server, so on a fresh checkout the run
  // waits for the longest of the three instead of their sum.
  const [, , postgresTemplate] = await Promise.all([
    makeEmbeddedTemplate(runDir),
    makeSigningKeyPool(),
    makePostgresTemplate(templateKey()),
  ]);
  project.provide('postgresTemplate', postgresTemplate);
  project.provide('runDir', runDir);
  return () => removeRunDir(runDir);
}
