import * as fs from 'fs';
import * as path from 'path';
import { escapeHtml, testErrorText } from 'reslab-protocol';
import { figure7, ResponseCurve, responseCurvesFromProbes, responsesCsv } from './figure7';
import { assessClaims, ClaimVerdict, describeScale, NOISE_POINTS, scaleOf, Scale, verdictHeadline } from './claims';
import { loadRuns, RunRecord } from '../runs';
import { figure1, figure6, PlotlyFigure, table6, table6Csv, Table6Row } from './figures';

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
      const test = testErrorText(r.testError, r.seeds);
      return (
        `<tr><td>${escapeHtml(r.net)}</td><td>${(r.params / 1e6).toFixed(2)}M</td><td>${r.seeds}</td><td>${r.iterations}</td>` +
        `<td>${r.trainError.toFixed(1)}</td><td>${r.trainEvalError === undefined ? '–' : r.trainEvalError.toFixed(1)}</td>` +
        `<td><b>${test}</b></td><td>${r.paper ?? '–'}</td><td>${Number.isFinite(r.wallSeconds) ? r.wallSeconds.toFixed(0) : '–'}</td><td>${r.imagesPerSecond.toFixed(0)}</td></tr>`
      );
    })
    .join('\n');
  return (
    `<table><thead><tr><th>net</th><th>params</th><th>seeds</th><th>iterations</th><th>train error % (running)</th>` +
    `<th>train error % (inference)</th><th>test error %</th><th>paper Table 6 %</th><th>wall s</th><th>images/s</th></tr></thead>\n<tbody>${body}</tbody></table>`
  );
}

const VERDICT_CLASS: Record<ClaimVerdict['verdict'], string> = {
  reproduced: 'yes',
  'not reproduced': 'no',
  'not at this scale': 'scale',
  'not tested': 'untested',
};

/** The paper's claims, each with its verdict, the numbers behind it and the paper's own. */
function claimsHtml(verdicts: ClaimVerdict[], scale: Scale): string {
  const rows = verdicts
    .map(
      (v) =>
        `<tr class="${VERDICT_CLASS[v.verdict]}"><td class="verdict">${escapeHtml(v.verdict)}</td>` +
        `<td><b>${escapeHtml(v.claim)}</b> <span class="fig">(${escapeHtml(v.figure)})</span><br>${escapeHtml(v.evidence)}` +
        `${v.why ? `<br><i>Why: ${escapeHtml(v.why)}.</i>` : ''}</td><td class="paper">${escapeHtml(v.paper)}</td></tr>`,
    )
    .join('\n');
  return `<h2>The paper's claims, checked on these runs: ${escapeHtml(verdictHeadline(verdicts))}</h2>
<p class="scale">Scale: ${escapeHtml(describeScale(scale))}; batch ${Number(scale.batchSize)}. Verdicts are computed from the runs below
(differences under ${NOISE_POINTS} points of training error count as noise; "not at this scale" means the runs are smaller than the paper's protocol
and do not show the claim yet).</p>
<table class="claims"><thead><tr><th>verdict</th><th>claim and what these runs measured</th><th>the paper</th></tr></thead>
<tbody>${rows}</tbody></table>`;
}

/** A self-contained HTML report (plotly.js inlined: it opens offline). */
/** The precisions the runs trained in, for the report's setup line: `fp32`, `bf16 mixed precision` or both. */
function precisionsOf(records: RunRecord[]): string {
  const bf16 = records.filter((r) => r.run.precision === 'bf16').length;
  if (bf16 === 0) return 'fp32';
  return bf16 === records.length ? 'bf16 mixed precision' : `fp32 and bf16 mixed precision (${bf16} of ${records.length} runs)`;
}

export function reportHtml(records: RunRecord[], extra: ReportSection[] = [], verdicts: ClaimVerdict[] = [], unfinished = ''): string {
  const rows = table6(records);
  const sections: ReportSection[] = [
    { id: 'fig1', title: 'Figure 1 — degradation of plain nets', figure: figure1(records) },
    { id: 'fig6', title: 'Figure 6 — plain nets vs ResNets', figure: figure6(records) },
    ...extra,
  ].filter((s) => s.figure.data.length > 0);
  const first = records[0]?.run;
  const setup = first
    ? `<bdi>${escapeHtml(first.preset)}</bdi> preset, width ${Number(first.width)}, batch ${Number(first.batchSize)}, ${Number(first.iterations)} iterations, ` +
      `shortcut option <bdi>${escapeHtml(first.shortcut)}</bdi>${first.trainImages === undefined ? '' : `, ${Number(first.trainImages)} training images`}` +
      `, ${precisionsOf(records)}`
    : 'no runs';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>reslab report — degradation on CIFAR-10</title>
<style>body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child{text-align:left}
.plot{width:100%;height:460px}
table.claims td,table.claims th{text-align:left;vertical-align:top}table.claims td.verdict{font-weight:bold;white-space:nowrap}
tr.yes td.verdict{background:#d7f0d2;color:#135e13}tr.no td.verdict{background:#f6d5d5;color:#8a1414}
tr.scale td.verdict{background:#fbecc6;color:#6b4a00}tr.untested td.verdict{background:#eee;color:#555}
td.paper{color:#444;font-size:90%;max-width:20em}.fig{color:#666;font-weight:normal}.scale{color:#333}</style>
<script>${plotlySource()}</script></head>
<body><h1>Deep residual learning: the degradation problem on CIFAR-10</h1>
<p>He et al. 2015, reproduced with reslab. ${records.length} runs: ${setup}. Dashed thin lines: training error (running, augmented);
bold: test error (inference mode).</p>
${unfinished ? `<p class="unfinished"><b>${escapeHtml(unfinished)}.</b></p>` : ''}
${verdicts.length ? claimsHtml(verdicts, scaleOf(records.filter((r) => r.end?.status === 'completed'))) : ''}
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
 * Writes `files` as the directory `outDir`, all or nothing: into a fresh sibling directory first,
 * which then replaces `outDir`. An interrupt leaves the previous report whole; files of an earlier
 * report that this one does not write are gone; nothing is written through a link planted in `outDir`.
 */
function writeDirectoryAtomically(outDir: string, files: Record<string, string>): void {
  const target = path.resolve(outDir);
  if (fs.existsSync(target) && !fs.statSync(target).isDirectory()) throw new Error(`--out ${outDir} is a file, not a directory`);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  let fresh: string;
  try {
    fresh = fs.mkdtempSync(`${target}.writing-`);
  } catch (error) {
    throw new Error(`cannot write the report to ${outDir}: ${(error as Error).message}`, { cause: error });
  }
  try {
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(fresh, name), text, { flag: 'wx' });
    const old = `${fresh}.old`;
    if (fs.existsSync(target)) fs.renameSync(target, old);
    fs.renameSync(fresh, target);
    fs.rmSync(old, { recursive: true, force: true });
  } catch (error) {
    fs.rmSync(fresh, { recursive: true, force: true });
    throw error;
  }
}

/** Runs that have not completed: shown in Table 6 and the figures, not judged by the claims. */
function unfinishedNote(records: RunRecord[]): string {
  const open = records.filter((r) => r.end?.status !== 'completed');
  if (open.length === 0) return '';
  const where = (r: RunRecord) =>
    `${r.runId} (iteration ${r.train[r.train.length - 1]?.iteration ?? 0} of ${r.run.iterations}, ${r.end?.status ?? 'still training'})`;
  return `${open.length} run(s) not finished and not judged: ${open.map(where).join(', ')}`;
}

/**
 * Writes index.html, figures.json, table6.csv, table6.json and summary.json (and responses.csv)
 * for the runs in `runsDir`, as one directory written all at once. Figure 7 comes from `curves`
 * when given, else from the runs' last probe events. The claims are judged on completed runs only.
 */
export function writeReport(
  runsDir: string,
  outDir: string,
  curves?: ResponseCurve[],
): { records: RunRecord[]; rows: Table6Row[]; verdicts: ClaimVerdict[]; scale: Scale; unfinished: string } {
  const records = loadRuns(runsDir);
  if (records.length === 0) throw new Error(`no runs with metrics.jsonl in ${runsDir}`);
  const finished = records.filter((r) => r.end?.status === 'completed');
  const responses = curves ?? responseCurvesFromProbes(records);
  const extra: ReportSection[] = responses.length
    ? [{ id: 'figure7', title: 'Figure 7 — standard deviations of layer responses', figure: figure7(responses) }]
    : [];
  const rows = table6(records);
  const judged = new Set(finished.map((r) => r.runId));
  const verdicts = finished.length
    ? assessClaims(
        finished,
        responses.filter((c) => judged.has(c.runId)),
      )
    : [];
  const scale = scaleOf(finished.length ? finished : records);
  const unfinished = unfinishedNote(records);
  const figures = { figure1: figure1(records), figure6: figure6(records), ...Object.fromEntries(extra.map((s) => [s.id, s.figure])) };
  const summary = {
    scale,
    claims: verdicts,
    unfinished: records.filter((r) => !judged.has(r.runId)).map((r) => r.runId),
    nets: rows.map((r) => ({
      net: r.net,
      family: r.family,
      depth: r.depth,
      seeds: r.seeds,
      iterations: r.iterations,
      trainError: r.trainError,
      trainEvalError: r.trainEvalError ?? null,
      testError: r.testError.mean,
      testErrorStd: r.testError.std,
    })),
  };
  writeDirectoryAtomically(outDir, {
    ...(responses.length ? { 'responses.csv': responsesCsv(responses) } : {}),
    'figures.json': `${JSON.stringify(figures)}\n`,
    'table6.csv': table6Csv(rows),
    'table6.json': `${JSON.stringify(rows, null, 2)}\n`,
    'summary.json': `${JSON.stringify(summary, null, 2)}\n`,
    'index.html': reportHtml(records, extra, verdicts, unfinished),
  });
  return { records, rows, verdicts, scale, unfinished };
}
