import { BlockOrder, BottleneckStride, ShortcutOption } from '../blocks/blocks';
import { ModelOptions } from '../models/zoo';
import { defined, FlagValues, numberFlag } from './command';

/** Flags that choose model options, shared by every command that builds a model. */
export const modelOptionFlags = {
  shortcut: { type: 'string' },
  order: { type: 'string' },
  width: { type: 'string' },
  'bottleneck-stride': { type: 'string' },
  'zero-init-residual': { type: 'boolean' },
  classes: { type: 'string' },
} as const;

/** Model options from flags; absent flags stay undefined (the preset or the paper decides). */
export function modelOptionsFrom(values: FlagValues): ModelOptions {
  const shortcut = values.shortcut as string | undefined;
  return defined({
    shortcut: shortcut?.toUpperCase() as ShortcutOption | undefined,
    order: values.order as BlockOrder | undefined,
    width: numberFlag(values, 'width'),
    bottleneckStride: values['bottleneck-stride'] as BottleneckStride | undefined,
    zeroInitResidual: values['zero-init-residual'] === true ? true : undefined,
    numClasses: numberFlag(values, 'classes'),
  });
}
