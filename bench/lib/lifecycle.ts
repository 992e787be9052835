/**
 * What every benchmark needs around its measurements: resources closed in reverse order on every path (success,
 * failure, watchdog, a signal), a watchdog that interrupts waits, and a hard stop if even the cleanup hangs.
 */
export interface BenchLifecycle {
  /** Closed in reverse order by `cleanup`. */
  cleanups: Array<() => Promise<unknown>>;
  /** Runs the cleanups once, however often it is called. */
  cleanup(): Promise<void>;
  /** Races a wait against the watchdog and signals. */
  bounded<T>(p: Promise<T>): Promise<T>;
  interrupt(reason: Error): void;
  /** Aborted on interrupt, for work that takes a signal. */
  signal: AbortSignal;
  /** Stops the watchdog and the signal handlers (call in `finally`, before `cleanup`). */
  dispose(): void;
}

export function benchLifecycle(opts: {
  timeoutS: number;
  /** Seconds after the watchdog before the hard stop. */
  graceS: number;
  /** Kill what lives outside this process (servers, workers) when even the cleanup hangs. */
  onHardStop: () => void;
  /** Extra work when SIGINT/SIGTERM arrives (e.g. stop a server at once). */
  onSignal?: () => void;
}): BenchLifecycle {
  const cleanups: Array<() => Promise<unknown>> = [];
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      for (const c of cleanups.reverse()) await c().catch((e: unknown) => console.error('cleanup:', e));
    })());

  const hardStop = setTimeout(
    () => {
      console.error(`bench: did not finish within ${opts.timeoutS + opts.graceS}s, killing what it started`);
      opts.onHardStop();
      process.exit(2);
    },
    (opts.timeoutS + opts.graceS) * 1000,
  );
  hardStop.unref();

  const abort = new AbortController();
  let rejectInterrupted!: (reason: Error) => void;
  const interrupted = new Promise<never>((_, reject) => (rejectInterrupted = reject));
  interrupted.catch(() => {}); // observed by the races in `bounded`; this only silences the unraced case
  const interrupt = (reason: Error) => {
    abort.abort(reason);
    rejectInterrupted(reason);
  };
  const watchdog = setTimeout(
    () => interrupt(new Error(`bench: watchdog, still running after ${opts.timeoutS}s`)),
    opts.timeoutS * 1000,
  );
  watchdog.unref();
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`bench: ${signal}, stopping`);
    opts.onSignal?.();
    interrupt(new Error(`bench: interrupted by ${signal}`));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  return {
    cleanups,
    cleanup,
    bounded: <T>(p: Promise<T>) => Promise.race([p, interrupted]),
    interrupt,
    signal: abort.signal,
    dispose() {
      clearTimeout(watchdog);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** Runs a benchmark's main and exits 0 on success, 1 on failure (with the stack). */
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error('bench failed:', e instanceof Error ? (e.stack ?? e.message) : e);
      process.exit(1);
    },
  );
}
