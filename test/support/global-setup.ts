import type { TestProject } from 'vitest/node';
import { makeEmbeddedTemplate, makeRunDir, removeRunDir } from './embedded-template.js';
import { makeSigningKeyPool } from './signing-keys.js';

export default async function setup(project: TestProject) {
  const runDir = makeRunDir();
  await makeEmbeddedTemplate(runDir);
  makeSigningKeyPool();
  project.provide('runDir', runDir);
  return () => removeRunDir(runDir);
}
