import * as path from 'path';
import { verdictLines } from '../experiments/claims';
import { table6Markdown } from '../experiments/figures';
import { loadRuns } from '../runs';
import { writeReport } from '../experiments/report';
import { responseCurves } from '../experiments/figure7';
import { Command, numberFlag, UsageError } from './command';
import { datasetFrom } from './training-flags';

export const responsesCommand: Command = {
  usage: 'reslab responses <runs-dir> [--out report/] [--images 500] [--data-dir DIR | --download]',
  summary: 'paper Fig. 7: std of each 3x3 layer response of the trained nets, layer order and sorted',
  options: { out: { type: 'string' }, images: { type: 'string' }, 'data-dir': { type: 'string' }, download: { type: 'boolean' } },
  async run(positionals, values) {
    if (positionals.length !== 1) throw new UsageError(`expected the runs directory\nusage: ${responsesCommand.usage}`);
    const runsDir = positionals[0];
    const outDir = (values.out as string | undefined) ?? 'report';
    const data = await datasetFrom(values);
    const curves = await responseCurves(loadRuns(runsDir), runsDir, data, numberFlag(values, 'images') ?? 500);
    if (curves.length === 0) throw new Error(`no trained models or probe events in ${runsDir}`);
    writeReport(runsDir, outDir, curves);
    for (const c of curves) {
      const mean = c.stds.reduce((a, b) => a + b, 0) / c.stds.length;
      console.log(
        `${c.runId.padEnd(22)} ${String(c.stds.length).padStart(3)} layers  mean std ${mean.toFixed(3)}  max ${Math.max(...c.stds).toFixed(3)}  (${c.source})`,
      );
    }
    console.error(`Figure 7: ${path.join(outDir, 'index.html')}, ${path.join(outDir, 'responses.csv')}`);
  },
};

export const reportCommand: Command = {
  usage: 'reslab report <runs-dir> [--out report/]',
  summary: 'Figure 1, Figure 6, Table 6 (CSV, JSON) and a self-contained HTML report from a runs directory',
  options: { out: { type: 'string' } },
  run(positionals, values) {
    if (positionals.length !== 1) throw new UsageError(`expected the runs directory\nusage: ${reportCommand.usage}`);
    const outDir = (values.out as string | undefined) ?? 'report';
    const { rows, verdicts, scale, unfinished } = writeReport(positionals[0], outDir);
    console.log(table6Markdown(rows));
    if (unfinished) console.log(`\n${unfinished}.`);
    if (verdicts.length) console.log(`\n${verdictLines(verdicts, scale).join('\n')}`);
    console.error(`report: ${path.join(outDir, 'index.html')}`);
  },
};
