/** How every view names nets and escapes text. Dependency-free (shared with the plugin). */
import { RunDescriptor } from './events';

/** The paper's name of a net: `plain-56`, `ResNet-110`. */
export function netName(run: Pick<RunDescriptor, 'family' | 'depth'>): string {
  return `${run.family === 'plain' ? 'plain' : 'ResNet'}-${run.depth}`;
}

/**
 * A net as it was trained: its name, the paper's shortcut letter when it is not option A
 * (`ResNet-34 B`, as in Table 3) and its variant (`ResNet-110, no warm-up`).
 */
export function netLabel(run: Pick<RunDescriptor, 'family' | 'depth'> & Partial<Pick<RunDescriptor, 'shortcut' | 'variant'>>): string {
  const option = run.family === 'resnet' && run.shortcut && run.shortcut !== 'A' ? ` ${run.shortcut}` : '';
  return `${netName(run)}${option}${run.variant ? `, ${run.variant}` : ''}`;
}

/**
 * A run's display label, the one rule of every view: the net's name, with the seed when any of the
 * runs shown with it (`shown`, default: itself) has a seed other than 0.
 */
export function runLabel(
  run: Pick<RunDescriptor, 'family' | 'depth' | 'seed'> & Partial<Pick<RunDescriptor, 'shortcut' | 'variant'>>,
  shown: Array<Pick<RunDescriptor, 'seed'>> = [run],
): string {
  return shown.some((r) => r.seed !== 0) ? `${netLabel(run)} (seed ${run.seed})` : netLabel(run);
}

/** Text safe inside HTML elements and attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}
