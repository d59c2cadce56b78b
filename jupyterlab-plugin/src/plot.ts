import Plotly from 'plotly.js-dist';
import { Chart } from './model';

const CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ['lasso2d', 'select2d'] };

/** Draws or updates a chart in place (Plotly.react reuses the existing plot). Returns the time taken in ms. */
export async function draw(element: HTMLElement, chart: Chart): Promise<number> {
  const start = performance.now();
  await Plotly.react(element, chart.data, { autosize: true, ...chart.layout }, CONFIG);
  return performance.now() - start;
}

export function clear(element: HTMLElement): void {
  Plotly.purge(element);
}

export function resize(element: HTMLElement): void {
  if (element.offsetParent !== null && element.classList.contains('js-plotly-plot')) Plotly.Plots.resize(element);
}
