import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { workflowInterceptorModules } from '../lib/telemetry/worker-tracing';
import { workflowsPath } from './worker';

/** Prebuilds the workflow bundle so production workers (and tests) skip webpack at start. */
export async function buildWorkflowBundle(outFile: string): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath, workflowInterceptorModules });
  await mkdir(dirname(outFile), { recursive: true });
  await writeFile(outFile, code);
  return outFile;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = resolve(process.argv[2] ?? 'dist/workflow-bundle.js');
  await buildWorkflowBundle(out);
  console.log(`workflow bundle written to ${out}`);
}
