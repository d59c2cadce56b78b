/**
 * Shows a reslab figure (a Plotly spec from reslab's experiments) in a notebook: the Plotly MIME
 * type for interactive renderers (the reslab JupyterLab extension renders it) plus a static SVG
 * of its line traces for every other viewer (nbconvert, GitHub, plain JupyterLab).
 */
import { PlotlyFigure } from 'reslab';
import { escapeHtml as escape, PLOTLY_MIME } from 'reslab-protocol';

interface LineTrace {
  name?: string;
  x?: number[];
  y?: number[];
  xaxis?: string;
  line?: { color?: string; dash?: string; width?: number };
}

function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + 1e-9; t += step) ticks.push(Number(t.toPrecision(6)));
  return ticks;
}

function axisTitle(layout: Record<string, unknown>, key: string): string {
  const axis = layout[key] as { title?: { text?: string } } | undefined;
  return axis?.title?.text ?? '';
}

/** Static SVG of a figure's line traces, one panel per x axis (x, x2, ...), side by side. */
export function figureSvg(figure: PlotlyFigure, width = 900, height = 340): string {
  const traces = figure.data as LineTrace[];
  const axes = [...new Set(traces.map((t) => t.xaxis ?? 'x'))].sort();
  const panelWidth = width / Math.max(1, axes.length);
  const margin = { left: 52, right: 12, top: 28, bottom: 40 };
  const panels = axes.map((axis, p) => {
    const own = traces.filter((t) => (t.xaxis ?? 'x') === axis && t.x && t.y && t.x.length > 0);
    const xs = own.flatMap((t) => t.x as number[]);
    const ys = own.flatMap((t) => t.y as number[]).filter(Number.isFinite);
    const [x0, x1] = [Math.min(0, ...xs), Math.max(1, ...xs)];
    const [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
    const pad = (y1 - y0) * 0.05 || 1;
    const ymin = y0 - pad;
    const ymax = y1 + pad;
    const left = p * panelWidth + margin.left;
    const plotW = panelWidth - margin.left - margin.right;
    const plotH = height - margin.top - margin.bottom;
    const sx = (x: number) => (left + ((x - x0) / (x1 - x0 || 1)) * plotW).toFixed(1);
    const sy = (y: number) => (margin.top + (1 - (y - ymin) / (ymax - ymin)) * plotH).toFixed(1);
    const suffix = axis === 'x' ? '' : axis.slice(1);
    const grid = niceTicks(ymin, ymax)
      .map(
        (t) =>
          `<line x1="${left}" x2="${left + plotW}" y1="${sy(t)}" y2="${sy(t)}" stroke="#e5e5e5"/><text x="${left - 5}" y="${Number(sy(t)) + 4}" text-anchor="end" font-size="10">${t}</text>`,
      )
      .join('');
    const xticks = niceTicks(x0, x1)
      .map((t) => `<text x="${sx(t)}" y="${height - margin.bottom + 14}" text-anchor="middle" font-size="10">${t}</text>`)
      .join('');
    const lines = own
      .map((t) => {
        const points = (t.x as number[]).map((x, i) => `${sx(x)},${sy((t.y as number[])[i])}`).join(' ');
        const dash = t.line?.dash === 'dash' ? ' stroke-dasharray="6,3"' : t.line?.dash === 'dot' ? ' stroke-dasharray="2,3"' : '';
        return `<polyline fill="none" stroke="${t.line?.color ?? '#333'}" stroke-width="${t.line?.width ?? 1.5}"${dash} points="${points}"><title>${escape(t.name ?? '')}</title></polyline>`;
      })
      .join('');
    return (
      `${grid}${xticks}<rect x="${left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>${lines}` +
      `<text x="${left + plotW / 2}" y="${height - 6}" text-anchor="middle" font-size="11">${escape(axisTitle(figure.layout, `xaxis${suffix}`))}</text>` +
      `<text x="${left - 40}" y="${margin.top + plotH / 2}" text-anchor="middle" font-size="11" transform="rotate(-90 ${left - 40} ${margin.top + plotH / 2})">${escape(axisTitle(figure.layout, `yaxis${suffix}`))}</text>`
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">${panels.join('')}</svg>`;
}

/** HTML: title, the SVG, and a legend of the named traces. */
export function figureHtml(figure: PlotlyFigure): string {
  const title = (figure.layout.title as { text?: string } | undefined)?.text ?? '';
  const seen = new Set<string>();
  const legend = (figure.data as LineTrace[])
    .filter((t) => t.name && t.x && t.x.length > 0 && !seen.has(t.name) && seen.add(t.name))
    .map(
      (t) =>
        `<span style="color:${t.line?.color ?? '#333'};margin-right:1em;white-space:nowrap">${t.line?.dash === 'dash' ? '╌╌' : '━━'} ${escape(t.name as string)}</span>`,
    )
    .join(' ');
  return `<div class="reslab-figure"><b>${escape(title)}</b><br>${figureSvg(figure)}<div style="font-size:12px">${legend}</div></div>`;
}

/** The display bundle of a figure: Plotly JSON + static HTML + text. */
export function figureBundle(figure: PlotlyFigure): Record<string, unknown> {
  const title = (figure.layout.title as { text?: string } | undefined)?.text ?? 'figure';
  return { [PLOTLY_MIME]: figure, 'text/html': figureHtml(figure), 'text/plain': `${title} (${figure.data.length} traces)` };
}
