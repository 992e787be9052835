/**
 * Redaction of known secret values from text (log lines, error messages, anything about to leave the process).
 *
 * Values shorter than MIN_REDACTED_LENGTH (6) characters are not registered: replacing every "admin" or "1234"
 * in every log line would mangle ordinary text, and a secret that short is not protected by redaction anyway.
 */

export const MIN_REDACTED_LENGTH = 6;
export const REDACTED = '[REDACTED]';

export class SecretRegistry {
  private readonly values = new Set<string>();
  private pattern: RegExp | null = null;

  /**
   * Registers a secret value. Also registers the forms it takes inside a JSON string (pino's log lines) and in a
   * URL, when they differ. Values shorter than MIN_REDACTED_LENGTH are ignored.
   */
  add(value: string): void {
    if (typeof value !== 'string' || value.length < MIN_REDACTED_LENGTH) return;
    const forms = [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)];
    for (const form of forms) {
      if (!this.values.has(form)) {
        this.values.add(form);
        this.pattern = null;
      }
    }
  }

  /** Every occurrence of a registered value replaced by [REDACTED]. */
  redact(text: string): string {
    if (this.values.size === 0 || !text) return text;
    if (!this.pattern) {
      // Longest first, so a secret that contains another one is replaced whole.
      const alternatives = [...this.values]
        .sort((a, b) => b.length - a.length)
        .map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
      this.pattern = new RegExp(alternatives.join('|'), 'g');
    }
    return text.replace(this.pattern, REDACTED);
  }

  /** How many values (including their JSON and URL forms) are registered. */
  get size(): number {
    return this.values.size;
  }

  /** Forgets every value (tests). */
  clear(): void {
    this.values.clear();
    this.pattern = null;
  }
}

/** The process-wide registry: every value a resolver resolves is added here (unless it was given another). */
export const secretRegistry = new SecretRegistry();
