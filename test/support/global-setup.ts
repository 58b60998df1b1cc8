import type { TestProject } from 'vitest/node';
import { compileSources } from './compiled-sources.js';
import { makePostgresTemplate } from './databases.js';
import { makeEmbeddedTemplate, makeRunDir, removeRunDir, templateKey } from './embedded-template.js';
import { makeSigningKeyPool } from './signing-keys.js';

export default async function setup(project: TestProject) {
  const runDir = makeRunDir();
  // Made at the same time: the embedded template's initdb runs in a child process, the RSA keys
  // in the thread pool, the PostgreSQL template in the server and the compiled sources in
  // esbuild's process, so on a fresh checkout the run waits for the longest instead of their sum.
  const [, , postgresTemplate] = await Promise.all([
    makeEmbeddedTemplate(runDir),
    makeSigningKeyPool(),
    makePostgresTemplate(templateKey()),
    compileSources(runDir),
  ]);
  project.provide('postgresTemplate', postgresTemplate);
  project.provide('runDir', runDir);
  return () => removeRunDir(runDir);
}
