/**
 * Items grouped in order, at most `maxItems` items and `maxSize` in total (bytes, tokens) per group; an item bigger
 * than `maxSize` goes alone. Returns each group's indices. One rule for the batches of an ingest run, the CLI's
 * upload requests and the embedding requests to an OpenAI-compatible server (the console, which may import contracts
 * by type only, keeps its own copy in ui/src/lib/knowledge.ts). Pure: workflow-safe.
 */
export function groupBySize(sizes: readonly number[], limits: { maxItems: number; maxSize: number }): number[][] {
  const groups: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  sizes.forEach((size, i) => {
    if (current.length && (current.length >= limits.maxItems || bytes + size > limits.maxSize)) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(i);
    bytes += size;
  });
  if (current.length) groups.push(current);
  return groups;
}
