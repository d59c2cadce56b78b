import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import '../blocks/shortcut-a'; // registers the custom layer before models are loaded
import { CifarDataset } from '../data/cifar';
import { exampleTensors } from '../data/tensors';
import { csvLine } from './csv';
import { PlotlyFigure } from './figures';
import { netName, depthColour, runLabel } from 'reslab-protocol';
import { createProbe, layerResponses } from '../probes';
import { RunRecord, RunsRoot, runSplit } from '../runs';
import { TrainConfig } from '../train/config';
import '../models/legacy-batch-norm'; // runs saved by earlier versions

/** Std of every 3x3 layer's response of one trained net, in layer order (paper Fig. 7). */
export interface ResponseCurve {
  runId: string;
  family: 'resnet' | 'plain';
  depth: number;
  /** The run's legend label (variant and seed where they tell runs apart); the net's name when absent. */
  label?: string;
  stds: number[];
  /** `model`: the saved trained model on test images; `probe`: the run's last probe event. */
  source: 'model' | 'probe';
  iteration?: number;
}

/**
 * Layer responses of each run's trained model (runs/<id>/model), measured on the first
 * `images` test images preprocessed with that run's training mean. Runs without a saved model
 * fall back to their last probe event.
 */
export async function responseCurves(
  records: RunRecord[],
  runsDir: string,
  data: CifarDataset | undefined,
  images = 500,
): Promise<ResponseCurve[]> {
  const curves: ResponseCurve[] = [];
  for (const record of records) {
    const run = new RunsRoot(runsDir).run(record.runId);
    const { family, depth } = record.run;
    const label = runLabel(
      record.run,
      records.map((r) => r.run),
    );
    if (data && fs.existsSync(run.modelFile)) {
      // The mean the run trained with: the same split as the trainer's, by construction.
      const { mean } = runSplit(data, run.readConfig<TrainConfig>());
      const { images: x, labels: y } = exampleTensors(data.test, mean, images);
      const model = await tf.loadLayersModel(`file://${run.modelFile}`);
      const probe = createProbe(model, x, y);
      curves.push({
        runId: record.runId,
        family,
        depth,
        label,
        stds: layerResponses(probe()),
        source: 'model',
        iteration: record.end?.iteration,
      });
      probe.dispose();
      tf.dispose([x, y]);
      model.dispose();
      continue;
    }
    const last = record.probes[record.probes.length - 1];
    if (last)
      curves.push({
        runId: record.runId,
        family,
        depth,
        label,
        stds: layerResponses(last.blocks),
        source: 'probe',
        iteration: last.iteration,
      });
  }
  return curves;
}

/** Fig. 7 from the runs' last probe events (no model loading; used by the report). */
export function responseCurvesFromProbes(records: RunRecord[]): ResponseCurve[] {
  return records.flatMap((r) => {
    const last = r.probes[r.probes.length - 1];
    return last
      ? [
          {
            runId: r.runId,
            family: r.run.family,
            depth: r.run.depth,
            label: runLabel(
              r.run,
              records.map((other) => other.run),
            ),
            stds: layerResponses(last.blocks),
            source: 'probe' as const,
            iteration: last.iteration,
          },
        ]
      : [];
  });
}

/**
 * Paper Fig. 7: std of layer responses, in the original layer order (left) and sorted by
 * magnitude (right). Plain nets dashed, ResNets solid; residual nets respond less.
 */
export function figure7(curves: ResponseCurve[]): PlotlyFigure {
  const trace = (c: ResponseCurve, values: number[], axis: '' | '2') => ({
    type: 'scatter',
    mode: 'lines+markers',
    marker: { size: 4 },
    name: c.label ?? netName(c),
    legendgroup: c.runId,
    showlegend: axis === '',
    x: values.map((_, i) => i + 1),
    y: values,
    line: { color: depthColour(c.depth), dash: c.family === 'plain' ? 'dash' : 'solid', width: 1.5 },
    xaxis: `x${axis}`,
    yaxis: `y${axis}`,
  });
  return {
    data: curves.flatMap((c) => [
      trace(c, c.stds, ''),
      trace(
        c,
        [...c.stds].sort((a, b) => b - a),
        '2',
      ),
    ]),
    layout: {
      title: { text: 'Figure 7: std of layer responses (3x3 layers, after BN, before addition/ReLU)' },
      grid: { rows: 1, columns: 2, pattern: 'independent' },
      xaxis: { title: { text: 'layer index (original order)' } },
      yaxis: { title: { text: 'std' } },
      xaxis2: { title: { text: 'layer index (sorted by magnitude)' } },
      yaxis2: { title: { text: 'std' } },
      legend: { orientation: 'h', y: -0.25, yanchor: 'top' },
      margin: { b: 110 },
    },
  };
}

/** The curves as CSV: run, family, depth, source (the trained model or the last probe), layer, std. */
export function responsesCsv(curves: ResponseCurve[]): string {
  const lines = ['run,family,depth,source,layer,std'];
  for (const c of curves) c.stds.forEach((s, i) => lines.push(csvLine([c.runId, c.family, c.depth, c.source, i + 1, s])));
  return `${lines.join('\n')}\n`;
}
