// The two wink packages ship no types; only what bench/eval/run.ts uses is declared.
declare module 'wink-bm25-text-search' {
  type PrepTask = (input: never) => unknown;
  interface BM25Engine {
    defineConfig(cfg: {
      fldWeights: Record<string, number>;
      bm25Params?: { k1?: number; b?: number; k?: number };
    }): boolean;
    definePrepTasks(tasks: PrepTask[], field?: string): number;
    addDoc(doc: Record<string, string>, id: string | number): number;
    consolidate(fp?: number): boolean;
    /** `[id, score]` pairs, best first. */
    search(text: string, limit?: number): Array<[string, number]>;
  }
  function bm25(): BM25Engine;
  export default bm25;
}

declare module 'wink-nlp-utils' {
  type PrepTask = (input: never) => unknown;
  const nlp: {
    string: { lowerCase: PrepTask; tokenize0: PrepTask; removeExtraSpaces: PrepTask };
    tokens: { removeWords: PrepTask; stem: PrepTask; propagateNegations: PrepTask };
  };
  export default nlp;
}
