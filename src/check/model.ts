/**
 * check.model: compares a reader's whole network with reslab's model of that name — input and
 * output shapes, parameters, the sequence of convolutions, the number of shortcuts — and, when
 * the layers pair up, its logits with the same weights.
 */
import * as tf from '@tensorflow/tfjs';
import { buildModel, ModelOptions } from '../models/zoo';
import { CheckReport } from './report';
import { copyWeights, describeConv, fixedUniform, isConv, pairLayers, trainableParams, varyBatchNorms } from './weights';

const count = (n: number) => n.toLocaleString('en-US');
const TOLERANCE = 1e-3;

/** The layers that join a shortcut to its block: additions. */
const additions = (model: tf.LayersModel) => model.layers.filter((l) => l.getClassName() === 'Add');

/**
 * Checks `model` against reslab's `name` (e.g. `resnet20`, `plain56`; `options` as for
 * buildModel, e.g. `{ width: 0.5 }`). Prints the report (unless `quiet`) and returns it.
 */
export function checkModel(model: tf.LayersModel, name: string, options: ModelOptions & { quiet?: boolean } = {}): CheckReport {
  const { quiet, ...modelOptions } = options;
  const reference = buildModel(name, modelOptions);
  const report = new CheckReport(
    `your model against reslab's ${name}${modelOptions.width ? ` (width ${modelOptions.width})` : ''}`,
    `your model is ${name}, layer for layer.`,
  );
  try {
    const inWant = JSON.stringify(reference.inputs[0].shape.slice(1));
    const inGot = JSON.stringify(model.inputs[0].shape.slice(1));
    const outWant = JSON.stringify(reference.outputs[0].shape.slice(1));
    const outGot = JSON.stringify(model.outputs[0].shape.slice(1));
    report.add(
      inWant === inGot && outWant === outGot,
      `input ${inGot} and output ${outGot}${inWant === inGot && outWant === outGot ? '' : `; expected ${inWant} and ${outWant}`}`,
    );
    const wantParams = trainableParams(reference);
    const gotParams = trainableParams(model);
    report.add(
      wantParams === gotParams,
      `${count(gotParams)} trainable parameters${wantParams === gotParams ? '' : `, ${name} has ${count(wantParams)} (${gotParams > wantParams ? '+' : '−'}${count(Math.abs(gotParams - wantParams))})`}`,
    );
    const wantConvs = reference.layers.filter(isConv);
    const gotConvs = model.layers.filter(isConv);
    // The paper's depth counts the layers with weights on the main path: 3×3 (and 7×7) convs and the classifier.
    const depthOf = (m: tf.LayersModel) => m.layers.filter((l) => isConv(l) && l.getWeights()[0].shape[0] > 1).length + 1;
    if (depthOf(model) !== depthOf(reference))
      report.diagnose(
        'depth',
        `yours has ${depthOf(model)} weighted layers on its main path (3×3 convs and the classifier), ${name} has ${depthOf(reference)}: a CIFAR net of depth 6n + 2 has n blocks per stage (${name}: n = ${(depthOf(reference) - 2) / 6}).`,
      );
    const firstDifferent = wantConvs.findIndex((c, i) => !gotConvs[i] || describeConv(c) !== describeConv(gotConvs[i]));
    if (firstDifferent < 0 && gotConvs.length === wantConvs.length)
      report.add(true, `${gotConvs.length} convolutions, the same kernels and strides in the same order`);
    else if (firstDifferent < 0)
      report.add(
        false,
        `${gotConvs.length} convolutions, ${name} has ${wantConvs.length}: yours has ${gotConvs.length - wantConvs.length} more after the last one ${name} has`,
      );
    else {
      const want = wantConvs[firstDifferent];
      const got = gotConvs[firstDifferent];
      report.add(
        false,
        `convolution ${firstDifferent + 1}: yours is ${got ? describeConv(got) : 'missing'}, ${name}'s (${want.name}) is ${describeConv(want)}`,
      );
      if (/stage\d+_block1_conv1$/.test(want.name) && got)
        report.diagnose(
          'stage-start',
          `${want.name} starts a stage: the first block of stages 2 and 3 doubles the filters and halves the map with a stride of 2 in its first conv.`,
        );
    }
    const wantAdds = additions(reference).length;
    const gotAdds = additions(model).length;
    if (!report.add(wantAdds === gotAdds, `${gotAdds} shortcuts (Add layers)${wantAdds === gotAdds ? '' : `, ${name} has ${wantAdds}`}`))
      report.diagnose(
        'shortcuts',
        wantAdds > gotAdds
          ? `${wantAdds - gotAdds} blocks have no shortcut: every block of a ResNet adds its input.`
          : `yours adds shortcuts that ${name} does not have${wantAdds === 0 ? ': a plain net has none' : ''}.`,
      );
    if (!report.passed) return report;
    const pairing = pairLayers(reference, model);
    if ('problem' in pairing) {
      report.add(false, pairing.problem);
      return report;
    }
    varyBatchNorms(reference, 3);
    const backup = pairing.pairs.map(([, theirs]) => theirs.getWeights().map((w) => w.clone()));
    copyWeights(pairing.pairs);
    const [h, w, c] = reference.inputs[0].shape.slice(1) as number[];
    const x = tf.tensor4d(fixedUniform(2 * h * w * c, -1, 1, 5), [2, h, w, c]);
    const difference = tf.tidy(
      () =>
        (reference.predict(x) as tf.Tensor)
          .sub(model.predict(x) as tf.Tensor)
          .abs()
          .max()
          .dataSync()[0],
    );
    // The reader's model keeps its own weights: the comparison borrowed reslab's.
    pairing.pairs.forEach(([, theirs], i) => theirs.setWeights(backup[i]));
    tf.dispose([x, ...backup.flat()]);
    if (
      !report.add(
        difference <= TOLERANCE,
        `with ${name}'s weights your logits ${difference <= TOLERANCE ? 'equal' : 'differ from'} reslab's (largest difference ${difference.toExponential(1)})`,
      )
    )
      report.diagnose('wiring', 'the layers are the same, but they are connected differently: check each block with check.block.');
    return report;
  } finally {
    reference.dispose();
    if (!quiet) console.log(report.toString());
  }
}
