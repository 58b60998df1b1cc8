import type { TestProject } from 'vitest/node';
import { makeEmbeddedTemplate, makeRunDir, removeRunDir } from './embedded-template.js';

export default async function setup(project: TestProject) {
  const runDir = makeRunDir();
  await makeEmbeddedTemplate(runDir);
  project.provide('runDir', runDir);
  return () => removeRunDir(runDir);
}
