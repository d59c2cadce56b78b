/**
 * Shows a reslab figure (a Plotly spec from reslab's experiments) in a notebook: the Plotly MIME
 * type for interactive renderers (the reslab JupyterLab extension renders it) plus a static SVG
 * for every other viewer (nbconvert, GitHub, plain JupyterLab): lines (dashed or not, with
 * markers), bands (`fill: 'tonexty'`) and heatmaps, one panel per x axis.
 */
import { PlotlyFigure } from 'reslab';
import { escapeHtml as escape, PLOTLY_MIME, viridis, withOpacity } from 'reslab-protocol';

interface Trace {
  type?: string;
  name?: string;
  mode?: string;
  showlegend?: boolean;
  fill?: string;
  fillcolor?: string;
  x?: Array<number | string>;
  y?: Array<number | string>;
  z?: number[][];
  xaxis?: string;
  line?: { color?: string; dash?: string; width?: number };
  marker?: { color?: string };
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

type Layout = Record<string, unknown>;

function axisTitle(layout: Layout, key: string): string {
  const axis = layout[key] as { title?: { text?: string } } | undefined;
  return axis?.title?.text ?? '';
}

/** The panel titles of a figure: annotations placed above each panel (Plotly's subplot titles), by x axis. */
function panelTitle(layout: Layout, axis: string): string {
  const annotations = (layout.annotations as Array<{ text?: string; xref?: string }> | undefined) ?? [];
  const own = annotations.find((a) => a.xref === `${axis} domain` || a.xref === axis);
  return own?.text ?? '';
}

const numbers = (values: Array<number | string> | undefined) => (values ?? []).map(Number);

/** `colour` if it is a plain colour value (hex, rgb(a), hsl(a)), else `fallback`: nothing else reaches an SVG or CSS attribute. */
function safeColour(colour: string | undefined, fallback: string): string {
  return colour !== undefined && /^(#[0-9a-f]{3,8}|(rgb|rgba|hsl|hsla)\([0-9., %]+\))$/i.test(colour) ? colour : fallback;
}

/** A trace's line (or marker) colour. */
const colourOf = (t: Trace) => safeColour(t.line?.color ?? t.marker?.color, '#333');

interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** A heatmap: one cell per (x, y), Viridis over the panel's own range. */
function heatmap(trace: Trace, box: Box): string {
  const z = trace.z ?? [];
  const rows = z.length;
  const columns = Math.max(0, ...z.map((r) => r.length));
  if (rows === 0 || columns === 0) return '';
  const finite = z.flat().filter(Number.isFinite);
  const [lo, hi] = [Math.min(...finite), Math.max(...finite)];
  const cw = box.width / columns;
  const ch = box.height / rows;
  const ys = trace.y ?? [];
  const xs = trace.x ?? [];
  const cells = z
    .map((row, r) =>
      row
        .map(
          (v, c) =>
            `<rect x="${(box.left + c * cw).toFixed(1)}" y="${(box.top + r * ch).toFixed(1)}" width="${(cw + 0.3).toFixed(1)}" height="${(ch + 0.3).toFixed(1)}" fill="${Number.isFinite(v) ? viridis(hi > lo ? (v - lo) / (hi - lo) : 0.5) : '#eee'}"><title>${escape(`${ys[r] ?? r} @ ${xs[c] ?? c}: ${Number.isFinite(v) ? v.toPrecision(3) : 'not measured'}`)}</title></rect>`,
        )
        .join(''),
    )
    .join('');
  const every = Math.max(1, Math.ceil(rows / 12));
  const labels = ys
    .map((label, r) =>
      r % every === 0
        ? `<text x="${box.left - 4}" y="${(box.top + (r + 0.5) * ch + 3).toFixed(1)}" text-anchor="end" font-size="9">${escape(String(label))}</text>`
        : '',
    )
    .join('');
  const xticks = [0, Math.floor((columns - 1) / 2), columns - 1]
    .filter((c, i, all) => all.indexOf(c) === i)
    .map(
      (c) =>
        `<text x="${(box.left + (c + 0.5) * cw).toFixed(1)}" y="${box.top + box.height + 13}" text-anchor="middle" font-size="10">${escape(String(xs[c] ?? c))}</text>`,
    )
    .join('');
  const scale = `<text x="${box.left + box.width}" y="${box.top - 4}" text-anchor="end" font-size="9">dark ${lo.toPrecision(2)} → light ${hi.toPrecision(2)}</text>`;
  return cells + labels + xticks + scale;
}

/** Static SVG of a figure, one panel per x axis (x, x2, ...), side by side. */
export function figureSvg(figure: PlotlyFigure, width = 900, height = 340): string {
  const traces = figure.data as Trace[];
  const axes = [...new Set(traces.map((t) => t.xaxis ?? 'x'))].sort();
  const panelWidth = width / Math.max(1, axes.length);
  const hasHeatmap = traces.some((t) => t.type === 'heatmap');
  const margin = { left: hasHeatmap ? 84 : 52, right: 12, top: 30, bottom: 40 };
  const panels = axes.map((axis, p) => {
    const own = traces.filter((t) => (t.xaxis ?? 'x') === axis);
    const left = p * panelWidth + margin.left;
    const plotW = panelWidth - margin.left - margin.right;
    const plotH = height - margin.top - margin.bottom;
    const suffix = axis === 'x' ? '' : axis.slice(1);
    const title = `<text x="${left + plotW / 2}" y="16" text-anchor="middle" font-size="12" font-weight="bold">${escape(panelTitle(figure.layout, axis))}</text>`;
    const labels =
      `<text x="${left + plotW / 2}" y="${height - 6}" text-anchor="middle" font-size="11">${escape(axisTitle(figure.layout, `xaxis${suffix}`))}</text>` +
      `<text x="${left - margin.left + 12}" y="${margin.top + plotH / 2}" text-anchor="middle" font-size="11" transform="rotate(-90 ${left - margin.left + 12} ${margin.top + plotH / 2})">${escape(axisTitle(figure.layout, `yaxis${suffix}`))}</text>`;
    const map = own.find((t) => t.type === 'heatmap');
    if (map) return title + heatmap(map, { left, top: margin.top, width: plotW, height: plotH }) + labels;
    const lines = own.filter((t) => t.x && t.y && t.x.length > 0);
    const xs = lines.flatMap((t) => numbers(t.x));
    const ys = lines.flatMap((t) => numbers(t.y)).filter(Number.isFinite);
    const [x0, x1] = [Math.min(0, ...xs), Math.max(1, ...xs)];
    const [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
    const pad = (y1 - y0) * 0.05 || 1;
    const ymin = y0 - pad;
    const ymax = y1 + pad;
    const sx = (x: number) => (left + ((x - x0) / (x1 - x0 || 1)) * plotW).toFixed(1);
    const sy = (y: number) => (margin.top + (1 - (y - ymin) / (ymax - ymin)) * plotH).toFixed(1);
    const points = (t: Trace) => numbers(t.x).map((x, i) => `${sx(x)},${sy(numbers(t.y)[i])}`);
    const grid = niceTicks(ymin, ymax)
      .map(
        (t) =>
          `<line x1="${left}" x2="${left + plotW}" y1="${sy(t)}" y2="${sy(t)}" stroke="#e5e5e5"/><text x="${left - 5}" y="${Number(sy(t)) + 4}" text-anchor="end" font-size="10">${t}</text>`,
      )
      .join('');
    const xticks = niceTicks(x0, x1)
      .map((t) => `<text x="${sx(t)}" y="${height - margin.bottom + 14}" text-anchor="middle" font-size="10">${t}</text>`)
      .join('');
    const drawn = lines
      .map((t, i) => {
        const colour = colourOf(t);
        // A band: this trace filled down (or up) to the one before it, as Plotly's 'tonexty'.
        const band =
          t.fill === 'tonexty' && i > 0
            ? `<polygon fill="${safeColour(t.fillcolor, withOpacity(colour, 0.15))}" stroke="none" points="${[...points(lines[i - 1]), ...points(t).reverse()].join(' ')}"/>`
            : '';
        const dash = t.line?.dash === 'dash' ? ' stroke-dasharray="6,3"' : t.line?.dash === 'dot' ? ' stroke-dasharray="2,3"' : '';
        const widthOf = Number(t.line?.width ?? 1.5) || 0;
        const mode = t.mode ?? 'lines';
        const line =
          mode.includes('lines') && widthOf > 0
            ? `<polyline fill="none" stroke="${colour}" stroke-width="${widthOf}"${dash} points="${points(t).join(' ')}"><title>${escape(t.name ?? '')}</title></polyline>`
            : '';
        const markers = mode.includes('markers')
          ? points(t)
              .map((pt, k) => {
                const [cx, cy] = pt.split(',');
                return `<circle cx="${cx}" cy="${cy}" r="2.6" fill="${colour}"><title>${escape(`${t.name ?? ''}: ${String((t.x ?? [])[k])}, ${String((t.y ?? [])[k])}`)}</title></circle>`;
              })
              .join('')
          : '';
        return band + line + markers;
      })
      .join('');
    return `${title}${grid}${xticks}<rect x="${left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>${drawn}${labels}`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">${panels.join('')}</svg>`;
}

/** HTML: title, the SVG, and a legend of the named traces that Plotly would list. */
export function figureHtml(figure: PlotlyFigure): string {
  const title = (figure.layout.title as { text?: string } | undefined)?.text ?? '';
  const seen = new Set<string>();
  const legend = (figure.data as Trace[])
    .filter(
      (t) => t.type !== 'heatmap' && t.showlegend !== false && t.name && t.x && t.x.length > 0 && !seen.has(t.name) && seen.add(t.name),
    )
    .map(
      (t) =>
        `<span style="color:${colourOf(t)};margin-right:1em;white-space:nowrap">${t.line?.dash === 'dash' ? '╌╌' : t.line?.dash === 'dot' ? '┈┈' : '━━'} ${escape(t.name as string)}</span>`,
    )
    .join(' ');
  const filled = (figure.data as Trace[]).filter((t) => t.fill === 'tonexty');
  const seeds = filled.length > 0 && filled.every((t) => (t.name ?? '').endsWith('(lowest seed)'));
  const bands = filled.length
    ? `<br><small>shaded: ${seeds ? 'from the lowest to the highest seed' : 'from the lowest to the highest value averaged'}</small>`
    : '';
  return `<div class="reslab-figure"><b>${escape(title)}</b><br>${figureSvg(figure)}<div style="font-size:12px">${legend}${bands}</div></div>`;
}

/** The display bundle of a figure: Plotly JSON + static HTML + text. */
export function figureBundle(figure: PlotlyFigure): Record<string, unknown> {
  const title = (figure.layout.title as { text?: string } | undefined)?.text ?? 'figure';
  return { [PLOTLY_MIME]: figure, 'text/html': figureHtml(figure), 'text/plain': `${title} (${figure.data.length} traces)` };
}
