/** USD per 1M tokens. Config (LLM_PRICES) extends and overrides this table; unknown models cost 0 and are logged. */
export interface ModelPrice {
  input: number;
  output: number;
}

export const DEFAULT_PRICES: Record<string, ModelPrice> = {
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4.1': { input: 2, output: 8 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'text-embedding-3-small': { input: 0.02, output: 0 },
  'text-embedding-3-large': { input: 0.13, output: 0 },
  'text-embedding-ada-002': { input: 0.1, output: 0 },
  'local-embed-384': { input: 0, output: 0 },
  'local-extractive': { input: 0, output: 0 },
};

/** Price of a call; a dated snapshot name (gpt-4o-mini-2024-07-18) falls back to its base model's price. */
export function priceOf(table: Record<string, ModelPrice>, model: string): ModelPrice | undefined {
  if (table[model]) return table[model];
  const base = model.replace(/-\d{4}-\d{2}-\d{2}$/, '');
  return table[base];
}

export function costUsd(price: ModelPrice | undefined, inputTokens: number, outputTokens: number): number {
  if (!price) return 0;
  return (inputTokens * price.input + outputTokens * price.output) / 1_000_000;
}
