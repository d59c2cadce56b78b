import Plotly from 'plotly.js-dist-min';
import { Chart } from './charts';

const CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ['lasso2d', 'select2d'] };

/** Draws or updates a chart in place (Plotly.react reuses the existing plot). Returns the time taken in ms. */
export async function draw(element: HTMLElement, chart: Chart): Promise<number> {
  const start = performance.now();
  await Plotly.react(element, chart.data, { autosize: true, ...chart.layout }, CONFIG);
  return performance.now() - start;
}

/**
 * Downloads a drawn chart as PNG or SVG, legend and axis titles included (they are part of the
 * layout), at least 800 px wide. Does nothing when nothing is drawn.
 */
export async function exportImage(element: HTMLElement, format: 'png' | 'svg', filename: string): Promise<void> {
  if (!element.classList.contains('js-plotly-plot')) return;
  const { width, height } = element.getBoundingClientRect();
  // At least 800 px wide: the sidebar is narrow, a figure for a slide or a paper is not.
  const scale = Math.max(1, 800 / Math.max(1, width));
  await Plotly.downloadImage(element, {
    format,
    filename,
    width: Math.round(width * scale),
    height: Math.round(Math.max(300, height) * Math.min(scale, 1.6)),
  });
}

export function clear(element: HTMLElement): void {
  Plotly.purge(element);
}

export function resize(element: HTMLElement): void {
  if (element.offsetParent !== null && element.classList.contains('js-plotly-plot')) Plotly.Plots.resize(element);
}
