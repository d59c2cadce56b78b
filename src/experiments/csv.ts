/**
 * One CSV cell, safe to open in a spreadsheet: quoted when it holds a comma, quote or line break,
 * and a text that a spreadsheet would run as a formula (`=HYPERLINK(...)`, `+`, `-`, `@`, a tab)
 * starts with an apostrophe instead. Numbers are written as they are.
 */
export function csvCell(value: string | number | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A CSV line of cells. */
export const csvLine = (cells: Array<string | number | undefined>): string => cells.map(csvCell).join(',');
