import type { TestProject } from 'vitest/node';
import { makePostgresTemplate } from './databases.js';
import { makeEmbeddedTemplate, makeRunDir, removeRunDir, templateKey } from './embedded-template.js';
import { makeSigningKeyPool } from './signing-keys.js';

export default async function setup(project: TestProject) {
  const runDir = makeRunDir();
  await makeEmbeddedTemplate(runDir);
  await makeSigningKeyPool();
  project.provide('postgresTemplate', await makePostgresTemplate(templateKey()));
  project.provide('runDir', runDir);
  return () => removeRunDir(runDir);
}
