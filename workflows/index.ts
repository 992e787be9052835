// Every workflow, re-exported for the worker's workflowsPath and the prebuilt bundle.
export * from './self-test';
export * from './completion';
export * from './ingest';
export * from './answer';
export * from './search';
export * from './grounding';
export * from './agent';
export * from './retention';
export * from './sync-source';
export * from './recheck-answers';
export * from './eval';
export * from './replay';
