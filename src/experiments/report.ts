import * as fs from 'fs';
import * as path from 'path';
import { escapeHtml } from '../protocol/labels';
import { figure7, ResponseCurve, responseCurvesFromProbes, responsesCsv } from '../probes/responses';
import { figure1, figure6, loadRuns, PlotlyFigure, RunRecord, table6, table6Csv, Table6Row } from './figures';

/** Extra figures (e.g. Fig. 7 from src/probes) that a report can carry. */
export interface ReportSection {
  id: string;
  title: string;
  figure: PlotlyFigure;
}

/** JSON that is safe inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

function plotlySource(): string {
  return fs.readFileSync(require.resolve('plotly.js-dist-min'), 'utf8');
}

function tableHtml(rows: Table6Row[]): string {
  const body = rows
    .map((r) => {
      const test = r.seeds > 1 ? `${r.testError.mean.toFixed(2)} ± ${r.testError.std.toFixed(2)}` : r.testError.mean.toFixed(2);
      return `<tr><td>${escapeHtml(r.net)}</td><td>${(r.params / 1e6).toFixed(2)}M</td><td>${r.seeds}</td><td>${r.iterations}</td>` +
        `<td>${r.trainError.toFixed(1)}</td><td>${r.trainEvalError === undefined ? '–' : r.trainEvalError.toFixed(1)}</td>` +
        `<td><b>${test}</b></td><td>${r.paper ?? '–'}</td><td>${r.wallSeconds.toFixed(0)}</td><td>${r.imagesPerSecond.toFixed(0)}</td></tr>`;
    })
    .join('\n');
  return `<table><thead><tr><th>net</th><th>params</th><th>seeds</th><th>iterations</th><th>train error % (running)</th>` +
    `<th>train error % (inference)</th><th>test error %</th><th>paper Table 6 %</th><th>wall s</th><th>images/s</th></tr></thead>\n<tbody>${body}</tbody></table>`;
}

/** A self-contained HTML report (plotly.js inlined: it opens offline). */
export function reportHtml(records: RunRecord[], extra: ReportSection[] = []): string {
  const rows = table6(records);
  const sections: ReportSection[] = [
    { id: 'fig1', title: 'Figure 1 — degradation of plain nets', figure: figure1(records) },
    { id: 'fig6', title: 'Figure 6 — plain nets vs ResNets', figure: figure6(records) },
    ...extra,
  ].filter((s) => s.figure.data.length > 0);
  const first = records[0]?.run;
  const setup = first
    ? `${escapeHtml(first.preset)} preset, width ${first.width}, batch ${first.batchSize}, ${first.iterations} iterations, shortcut option ${escapeHtml(first.shortcut)}`
    : 'no runs';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>reslab report — degradation on CIFAR-10</title>
<style>body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child{text-align:left}
.plot{width:100%;height:460px}</style>
<script>${plotlySource()}</script></head>
<body><h1>Deep residual learning: the degradation problem on CIFAR-10</h1>
<p>He et al. 2015, reproduced with reslab. ${records.length} runs: ${setup}. Dashed lines: training error (running, augmented);
solid: test error (inference mode).</p>
${sections.map((s) => `<h2>${escapeHtml(s.title)}</h2><div class="plot" id="${s.id}"></div>`).join('\n')}
<h2>Table 6 — final errors</h2>
${tableHtml(rows)}
<p>The paper's numbers are for 64k iterations on all 50k training images; compare them with paper-scale runs only.</p>
<script>
const figures = ${scriptJson(Object.fromEntries(sections.map((s) => [s.id, s.figure])))};
for (const [id, figure] of Object.entries(figures)) Plotly.newPlot(id, figure.data, figure.layout, {responsive: true});
</script></body></html>
`;
}

/**
 * Writes index.html, figures.json, table6.csv and table6.json for the runs in `runsDir`.
 * Figure 7 comes from `curves` when given, else from the runs' last probe events.
 */
export function writeReport(runsDir: string, outDir: string, curves?: ResponseCurve[]): { records: RunRecord[]; rows: Table6Row[] } {
  const records = loadRuns(runsDir);
  if (records.length === 0) throw new Error(`no runs with metrics.jsonl in ${runsDir}`);
  fs.mkdirSync(outDir, { recursive: true });
  const responses = curves ?? responseCurvesFromProbes(records);
  const extra: ReportSection[] = responses.length
    ? [{ id: 'figure7', title: 'Figure 7 — standard deviations of layer responses', figure: figure7(responses) }]
    : [];
  if (responses.length) fs.writeFileSync(path.join(outDir, 'responses.csv'), responsesCsv(responses));
  const rows = table6(records);
  const figures = { figure1: figure1(records), figure6: figure6(records), ...Object.fromEntries(extra.map((s) => [s.id, s.figure])) };
  fs.writeFileSync(path.join(outDir, 'figures.json'), `${JSON.stringify(figures)}\n`);
  fs.writeFileSync(path.join(outDir, 'table6.csv'), table6Csv(rows));
  fs.writeFileSync(path.join(outDir, 'table6.json'), `${JSON.stringify(rows, null, 2)}\n`);
  fs.writeFileSync(path.join(outDir, 'index.html'), reportHtml(records, extra));
  return { records, rows };
}
