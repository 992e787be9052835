/** Option parsers more than one CLI command uses. */

/** `--prompt answer=2` or `--prompt answer=candidate` (repeatable) → { answer: 2 } / { answer: 'candidate' }. */
export function promptOption(parts: string[], fail: (m: string) => Error): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const part of parts) {
    const [name, value] = part.split('=');
    if (!name || !value) throw fail(`--prompt ${part}: write name=version or name=label, e.g. answer=2.`);
    out[name.trim()] = /^\d+$/.test(value.trim()) ? Number(value) : value.trim();
  }
  return out;
}
