/**
 * Checks for a reader's own code, as the tutorials' exercises use them: `check.block(yourBlock)`,
 * `check.model(yourModel, 'resnet20')`, `check.answer(question, yours, expected)`. Each compares with reslab's own on fixed inputs and says in
 * plain words what differs.
 */
import { checkBlock } from './block';
import { checkModel } from './model';
import { checkAnswer } from './answer';

export { BlockFunction, BlockCheckOptions } from './block';
export { CheckReport, CheckLine } from './report';
export { checkBlock, checkModel, checkAnswer };

/** `check.block(fn, options)`, `check.model(model, name, options)`, `check.answer(question, yours, expected)`. */
export const check = { block: checkBlock, model: checkModel, answer: checkAnswer };
