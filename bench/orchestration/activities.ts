/**
 * The activity the orchestration benchmark times. It does no I/O and no work, so whatever a workflow spends on
 * calling it beyond the in-process call is the orchestration cost itself.
 */
export async function noop(i: number): Promise<number> {
  return i;
}

export type BenchActivities = { noop: typeof noop };
