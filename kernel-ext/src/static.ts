/**
 * Static renderings of a run view: SVG inside HTML (no scripts), so an executed notebook shows
 * its figures without the JupyterLab plugin — in plain JupyterLab, nbconvert's HTML and GitHub.
 * The same encoding as the report: plain nets and ResNets in separate panels, seeds of a net as
 * their mean with a min–max band, block statistics as one heatmap per family.
 */
import {
  ERROR_CURVES,
  ErrorLine,
  errorLines,
  escapeHtml as escape,
  netGroups,
  Panel,
  panelsOf,
  RunView,
  RunViewPayload,
  validateRunViewPayload,
  viridis,
  withOpacity,
} from 'reslab-protocol';

const pct = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(1)}%`);
const lastOf = (values: number[]) => values[values.length - 1];
const meanOf = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const round1 = (v: number) => (Math.round(v * 10) / 10).toFixed(1);
const PANEL_TITLE: Record<Panel, string> = { plain: 'plain', resnet: 'ResNet' };

const PANEL_WIDTH = 420;
const HEIGHT = 280;
const MARGIN = { left: 44, right: 20, top: 22, bottom: 36 };

/** One family's error curves: dashed training and bold test error, each net's seeds as a band. */
function errorPanel(panel: Panel, lines: ErrorLine[], maxIteration: number): string {
  const plotW = PANEL_WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (i: number) => round1(MARGIN.left + (i / maxIteration) * plotW);
  const y = (percent: number) => round1(MARGIN.top + (1 - percent / 100) * plotH);
  const points = (xs: number[], ys: number[]) => xs.map((it, k) => `${x(it)},${y(ys[k])}`).join(' ');
  const band = (line: ErrorLine) =>
    line.band && line.x.length > 0
      ? `<polygon fill="${withOpacity(line.colour, line.kind === 'test' ? 0.18 : 0.1)}" stroke="none" points="${points(line.x, line.band.upper)} ${points([...line.x].reverse(), [...line.band.lower].reverse())}"/>`
      : '';
  const polyline = (line: ErrorLine) =>
    line.x.length === 0
      ? ''
      : `<polyline fill="none" stroke="${line.colour}" stroke-width="${line.width}"${line.kind === 'train' ? ` stroke-dasharray="${ERROR_CURVES.train.svgDasharray}"` : ''} points="${points(line.x, line.y)}"><title>${escape(`${line.label} ${line.kind}`)}</title></polyline>`;
  const grid = [0, 20, 40, 60, 80, 100]
    .map(
      (e) =>
        `<line x1="${MARGIN.left}" x2="${PANEL_WIDTH - MARGIN.right}" y1="${y(e)}" y2="${y(e)}" stroke="#ddd"/><text x="${MARGIN.left - 5}" y="${Number(y(e)) + 4}" text-anchor="end" font-size="11">${e}%</text>`,
    )
    .join('');
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (f) =>
        `<text x="${x(f * maxIteration)}" y="${HEIGHT - 18}" text-anchor="middle" font-size="11">${Math.round(f * maxIteration)}</text>`,
    )
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${PANEL_WIDTH}" height="${HEIGHT}" viewBox="0 0 ${PANEL_WIDTH} ${HEIGHT}" font-family="sans-serif">` +
    `<text x="${MARGIN.left + plotW / 2}" y="14" text-anchor="middle" font-size="13" font-weight="bold">${PANEL_TITLE[panel]}</text>` +
    `${grid}${ticks}<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 3}" text-anchor="middle" font-size="12">iteration</text>` +
    `${lines.map(band).join('')}${lines.map(polyline).join('')}</svg>`
  );
}

/** A panel's legend: each net once, by name when every line of the view averages the same number of seeds (said once below). */
function legendOf(lines: ErrorLine[], sameSeeds: boolean): string {
  return lines
    .filter((l) => l.kind === 'test')
    .map(
      (l) =>
        `<span style="color:${l.colour};margin-right:1em;white-space:nowrap">━ <bdi>${escape(sameSeeds ? l.net : l.label)}</bdi></span>`,
    )
    .join(' ');
}

function errorCharts(payload: RunViewPayload): string {
  const maxIteration = Math.max(1, ...payload.runs.map((r) => Math.max(r.run.iterations, r.iteration)));
  const lines = errorLines(payload.runs);
  const seedCounts = new Set(lines.map((l) => l.seeds?.length ?? 1));
  const sameSeeds = seedCounts.size === 1 && !seedCounts.has(1);
  const seedsNote = sameSeeds ? `each line: the mean of ${[...seedCounts][0]} seeds, shaded from the lowest to the highest seed; ` : '';
  const panels = panelsOf(payload.runs).map((panel) => {
    const own = lines.filter((l) => l.panel === panel);
    return `<div style="width:${PANEL_WIDTH}px">${errorPanel(panel, own, maxIteration)}<div style="padding-left:${MARGIN.left}px">${legendOf(own, sameSeeds)}</div></div>`;
  });
  const banded = !sameSeeds && lines.some((l) => l.band) ? '; shaded: lowest to highest seed' : '';
  return (
    `<div style="display:flex;flex-wrap:wrap;gap:8px">${panels.join('')}</div>` +
    `<div><small>${seedsNote}${ERROR_CURVES.legend} (training error: running, augmented)${banded}</small></div>`
  );
}

/**
 * The latest ‖F(x)‖/‖x‖ of every block of one family's nets as one heatmap: a row per net (the
 * mean over its seeds), a column per block, one colour scale (the plugin shows the full history).
 */
function blockHeatmap(panel: Panel, runs: RunView[], max: number): string {
  const rows = netGroups(runs.filter((r) => r.run.family === panel && (r.probes?.latest.length ?? 0) > 0)).map(({ label, runs: group }) => {
    const blocks = group[0].probes?.latest ?? [];
    const values = blocks.map((_, i) => meanOf(group.map((r) => r.probes?.latest[i]?.branchRatio ?? NaN)));
    const iteration = Math.min(...group.map((r) => lastOf(r.probes?.iteration ?? []) ?? NaN));
    return { label, blocks: blocks.map((b) => b.block), values, iteration };
  });
  if (rows.length === 0) return '';
  const columns = Math.max(...rows.map((r) => r.values.length));
  const labelWidth = 190;
  const cell = Math.max(4, Math.min(18, Math.floor(560 / columns)));
  const rowHeight = 16;
  const width = labelWidth + columns * cell + 10;
  const height = rows.length * rowHeight + 34;
  const cells = rows
    .map((row, r) => {
      const top = 4 + r * rowHeight;
      const name = `<text x="${labelWidth - 6}" y="${top + 12}" text-anchor="end" font-size="11">${escape(row.label)}</text>`;
      const rects = row.values
        .map(
          (v, i) =>
            `<rect x="${labelWidth + i * cell}" y="${top}" width="${cell - 1}" height="${rowHeight - 2}" fill="${Number.isFinite(v) ? viridis(v / max) : '#eee'}"><title>${escape(`${row.label}, ${row.blocks[i]}: ${Number.isFinite(v) ? v.toFixed(3) : 'not measured'} (iteration ${row.iteration})`)}</title></rect>`,
        )
        .join('');
      return name + rects;
    })
    .join('');
  const scaleTop = rows.length * rowHeight + 12;
  const scale = [0, 0.25, 0.5, 0.75, 1]
    .map((t, k) => `<rect x="${labelWidth + k * 24}" y="${scaleTop}" width="24" height="8" fill="${viridis(t)}"/>`)
    .join('');
  return (
    `<div><small><b>${PANEL_TITLE[panel]}</b>: ‖F(x)‖/‖x‖ of every block (columns, input to output) at each net's latest probe; one colour scale for both families</small><br>` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">${cells}${scale}` +
    `<text x="${labelWidth - 6}" y="${scaleTop + 8}" text-anchor="end" font-size="10">0</text>` +
    `<text x="${labelWidth + 5 * 24 + 4}" y="${scaleTop + 8}" font-size="10">${max.toFixed(3)}</text></svg></div>`
  );
}

/** One row per net: its seeds' status, progress and latest errors (the mean over seeds, with their range). */
function netTable(payload: RunViewPayload): string {
  const cell = (values: number[]) => {
    const finite = values.filter(Number.isFinite);
    if (finite.length === 0) return '–';
    if (finite.length === 1) return pct(finite[0]);
    return `${pct(meanOf(finite))} <small>(${pct(Math.min(...finite))}–${pct(Math.max(...finite))})</small>`;
  };
  const rows = netGroups(payload.runs)
    .map(({ label, runs }) => {
      const statuses =
        runs.length === 1
          ? [runs[0].status]
          : [...new Set(runs.map((r) => r.status))].map((s) => `${runs.filter((r) => r.status === s).length} ${s}`);
      const speeds = runs.map((r) => r.imagesPerSecond).filter((v): v is number => v !== undefined && Number.isFinite(v));
      return (
        `<tr><td><bdi>${escape(label)}</bdi></td><td>${escape(statuses.join(', '))}</td><td>${Math.min(...runs.map((r) => Number(r.iteration)))}/${Number(runs[0].run.iterations)}</td>` +
        `<td>${cell(runs.map((r) => lastOf(r.trainError.value)))}</td><td>${cell(runs.map((r) => lastOf(r.testError.value)))}</td>` +
        `<td>${speeds.length ? meanOf(speeds).toFixed(0) : '–'}</td></tr>`
      );
    })
    .join('');
  return `<table><tr><th>net</th><th>status</th><th>iteration</th><th>train error</th><th>test error</th><th>img/s</th></tr>${rows}</table>`;
}

/** The whole view as self-contained HTML (inline SVG, no scripts). */
export function staticHtml(payload: RunViewPayload): string {
  const problem = validateRunViewPayload(payload);
  if (problem) return `<div class="reslab-static"><b>reslab</b>: this view cannot be drawn: ${escape(problem)}</div>`;
  // The highest mean ratio of any net: one scale, so that plain and ResNet rows compare by colour.
  const ratioScale = Math.max(
    1e-9,
    ...netGroups(payload.runs).flatMap(({ runs }) =>
      (runs[0].probes?.latest ?? [])
        .map((_, i) => meanOf(runs.map((r) => r.probes?.latest[i]?.branchRatio ?? NaN)))
        .filter(Number.isFinite),
    ),
  );
  return (
    `<div class="reslab-static"><b><bdi>${escape(payload.title ?? 'reslab')}</bdi></b>${payload.backend ? ` <small>(<bdi>${escape(payload.backend)}</bdi>)</small>` : ''}<br>` +
    `${errorCharts(payload)}${netTable(payload)}${panelsOf(payload.runs)
      .map((panel) => blockHeatmap(panel, payload.runs, ratioScale))
      .join('')}</div>`
  );
}

/** One line per run, for text/plain and terminals. */
export function textSummary(payload: RunViewPayload): string {
  const problem = validateRunViewPayload(payload);
  if (problem) return `reslab: this view cannot be drawn: ${problem}`;
  return netGroups(payload.runs, { seeds: 'each' })
    .map(({ label, runs: [r] }) => {
      return (
        `${label} [${r.status}] iteration ${Number(r.iteration)}/${Number(r.run.iterations)} train error ${pct(lastOf(r.trainError.value))} ` +
        `test error ${pct(lastOf(r.testError.value))}${r.imagesPerSecond ? ` ${r.imagesPerSecond.toFixed(0)} img/s` : ''}`
      );
    })
    .join('\n');
}
