import { inspect } from 'util';

/** What a check found: one line per comparison, passed or not, and the mistake it recognised. */
export interface CheckLine {
  ok: boolean;
  text: string;
}

/** The result of check.block or check.model; printed as text (a notebook shows it as the cell's output). */
export class CheckReport {
  readonly lines: CheckLine[] = [];
  /** The typical mistake the reader's code matches (`no-shortcut`, `relu-before-add`, ...), when one does. */
  mistake?: string;
  /** What to change, in plain words, when the check did not pass. */
  advice?: string;

  constructor(
    /** What was checked against what, e.g. `your block against reslab's residual block (option A)`. */
    readonly subject: string,
    /** The closing line of a pass. */
    private readonly success: string,
  ) {}

  /** True when every comparison passed. */
  get passed(): boolean {
    return this.lines.length > 0 && this.lines.every((l) => l.ok);
  }

  add(ok: boolean, text: string): boolean {
    this.lines.push({ ok, text });
    return ok;
  }

  /** Names the mistake and what to do about it (the first one found is kept). */
  diagnose(mistake: string, advice: string): void {
    if (this.mistake) return;
    this.mistake = mistake;
    this.advice = advice;
  }

  /** What a notebook shows when the report itself is a cell's value: its verdict line (the lines were printed). */
  [inspect.custom](): string {
    return this.passed ? 'check passed' : `check not passed yet${this.mistake ? ` (${this.mistake})` : ''}`;
  }

  toString(): string {
    const verdict = this.passed ? `Passed: ${this.success}` : `Not yet: ${this.advice ?? 'see the ✘ lines above.'}`;
    return [`check: ${this.subject}`, ...this.lines.map((l) => `  ${l.ok ? '✔' : '✘'} ${l.text}`), verdict].join('\n');
  }
}
