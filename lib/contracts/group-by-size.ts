/**
 * Items grouped in order, at most `maxItems` and `maxBytes` per group; an item bigger than `maxBytes` goes alone.
 * Returns each group's indices. One rule for the batches of an ingest run, the CLI's upload requests and the
 * console's. Pure: workflow-safe and browser-safe.
 */
export function groupBySize(sizes: readonly number[], limits: { maxItems: number; maxBytes: number }): number[][] {
  const groups: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  sizes.forEach((size, i) => {
    if (current.length && (current.length >= limits.maxItems || bytes + size > limits.maxBytes)) {
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
