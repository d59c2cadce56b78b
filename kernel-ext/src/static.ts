/**
 * Static renderings of a run view: SVG inside HTML (no scripts), so an executed notebook shows
 * its figures without the JupyterLab plugin — in plain JupyterLab, nbconvert's HTML and GitHub.
 */
import {
  depthColour,
  ERROR_CURVES,
  ErrorLine,
  errorLines,
  escapeHtml as escape,
  RunView,
  RunViewPayload,
  runLabel,
  validateRunViewPayload,
} from 'reslab-protocol';

const pct = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(1)}%`);
const lastOf = (values: number[]) => values[values.length - 1];

/** Each run's label among the runs of its payload (reslab-protocol's runLabel). */
const labeller = (payload: RunViewPayload) => (view: RunView) =>
  runLabel(
    view.run,
    payload.runs.map((r) => r.run),
  );

const WIDTH = 640;
const HEIGHT = 300;
const MARGIN = { left: 48, right: 12, top: 12, bottom: 36 };

function errorChart(payload: RunViewPayload): string {
  const maxIteration = Math.max(1, ...payload.runs.map((r) => Math.max(r.run.iterations, r.iteration)));
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (i: number) => Math.round((MARGIN.left + (i / maxIteration) * plotW) * 10) / 10;
  const y = (percent: number) => Math.round((MARGIN.top + (1 - percent / 100) * plotH) * 10) / 10;
  const polyline = (line: ErrorLine) =>
    line.x.length === 0
      ? ''
      : `<polyline fill="none" stroke="${line.colour}" stroke-width="${line.width}"${line.kind === 'train' ? ` stroke-dasharray="${ERROR_CURVES.train.svgDasharray}"` : ''} points="${line.x.map((it, k) => `${x(it).toFixed(1)},${y(line.y[k]).toFixed(1)}`).join(' ')}"/>`;
  const grid = [0, 20, 40, 60, 80, 100]
    .map(
      (e) =>
        `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(e)}" y2="${y(e)}" stroke="#ddd"/><text x="${MARGIN.left - 6}" y="${y(e) + 4}" text-anchor="end" font-size="11">${e}%</text>`,
    )
    .join('');
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (f) =>
        `<text x="${x(f * maxIteration)}" y="${HEIGHT - 18}" text-anchor="middle" font-size="11">${Math.round(f * maxIteration)}</text>`,
    )
    .join('');
  const curves = errorLines(payload.runs).map(polyline).join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif">` +
    `${grid}${ticks}<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 3}" text-anchor="middle" font-size="12">iteration</text>${curves}</svg>`
  );
}

/** Latest ||F(x)|| / ||x|| of every block as bars (the plugin shows the full history as a heatmap). */
function blockBars(view: RunView, label: (view: RunView) => string): string {
  const latest = view.probes?.latest;
  if (!latest || latest.length === 0) return '';
  const max = Math.max(1e-9, ...latest.map((b) => b.branchRatio).filter(Number.isFinite));
  const bar = 6;
  const width = Math.min(600, latest.length * (bar + 2));
  const rects = latest
    .map((b, i) => {
      const h = Math.round((Number.isFinite(b.branchRatio) ? b.branchRatio / max : 0) * 60);
      return `<rect x="${i * (bar + 2)}" y="${60 - h}" width="${bar}" height="${h}" fill="${depthColour(view.run.depth)}"><title>${escape(b.block)}: ${b.branchRatio.toFixed(3)}</title></rect>`;
    })
    .join('');
  return (
    `<div><small><bdi>${escape(label(view))}</bdi>: ‖F(x)‖/‖x‖ per block at iteration ${Number(view.probes?.iteration.slice(-1)[0] ?? NaN)} (max ${max.toFixed(3)})</small><br>` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="60">${rects}</svg></div>`
  );
}

/** The whole view as self-contained HTML (inline SVG, no scripts). */
export function staticHtml(payload: RunViewPayload): string {
  const problem = validateRunViewPayload(payload);
  if (problem) return `<div class="reslab-static"><b>reslab</b>: this view cannot be drawn: ${escape(problem)}</div>`;
  const label = labeller(payload);
  const legend = payload.runs
    .map((r) => `<span style="color:${depthColour(r.run.depth)};margin-right:1em">━ <bdi>${escape(label(r))}</bdi></span>`)
    .join('');
  const rows = payload.runs
    .map(
      (r) =>
        `<tr><td><bdi>${escape(label(r))}</bdi></td><td>${escape(r.status)}</td><td>${Number(r.iteration)}/${Number(r.run.iterations)}</td>` +
        `<td>${pct(lastOf(r.trainError.value))}</td><td>${pct(lastOf(r.testError.value))}</td><td>${r.imagesPerSecond ? r.imagesPerSecond.toFixed(0) : '–'}</td></tr>`,
    )
    .join('');
  return (
    `<div class="reslab-static"><b><bdi>${escape(payload.title ?? 'reslab')}</bdi></b>${payload.backend ? ` <small>(<bdi>${escape(payload.backend)}</bdi>)</small>` : ''}<br>` +
    `${errorChart(payload)}<div>${legend}<small>${ERROR_CURVES.legend} (training error: running, augmented)</small></div>` +
    `<table><tr><th>net</th><th>status</th><th>iteration</th><th>train error</th><th>test error</th><th>img/s</th></tr>${rows}</table>` +
    `${payload.runs.map((r) => blockBars(r, label)).join('')}</div>`
  );
}

/** One line per run, for text/plain and terminals. */
export function textSummary(payload: RunViewPayload): string {
  const problem = validateRunViewPayload(payload);
  if (problem) return `reslab: this view cannot be drawn: ${problem}`;
  const label = labeller(payload);
  return payload.runs
    .map(
      (r) =>
        `${label(r)} [${r.status}] iteration ${Number(r.iteration)}/${Number(r.run.iterations)} train error ${pct(lastOf(r.trainError.value))} ` +
        `test error ${pct(lastOf(r.testError.value))}${r.imagesPerSecond ? ` ${r.imagesPerSecond.toFixed(0)} img/s` : ''}`,
    )
    .join('\n');
}
