/**
 * Checks for a reader's own code, as the tutorials' exercises use them: `check.block(yourBlock)`,
 * `check.model(yourModel, 'resnet20')`. Each compares with reslab's own on fixed inputs and says in
 * plain words what differs.
 */
import { checkBlock } from './block';
import { checkModel } from './model';

export { BlockFunction, BlockCheckOptions } from './block';
export { CheckReport, CheckLine } from './report';
export { checkBlock, checkModel };

/** `check.block(fn, options)` and `check.model(model, name, options)`. */
export const check = { block: checkBlock, model: checkModel };
