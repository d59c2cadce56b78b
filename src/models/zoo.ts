import * as tf from '@tensorflow/tfjs';
import { BLOCK_KINDS, BlockOrder, BlockStyle, BottleneckStride, DEFAULT_BLOCK_STYLE, ShortcutOption, basicBlock } from '../blocks/blocks';
import { buildNetwork, NetworkSpec } from './network';

/** Options of every model factory; everything has the paper's default. */
export interface ModelOptions {
  /** Shortcut option (§3.3): default A for CIFAR (§4.2), B for ImageNet (Table 2 / 3). */
  shortcut?: ShortcutOption;
  /** `post` (2015, default) or `pre` (pre-activation, 2016). */
  order?: BlockOrder;
  /** Start each residual branch at zero (last BN gamma = 0). Default false, as in the paper. */
  zeroInitResidual?: boolean;
  /** Bottleneck stride placement: the paper's `1x1` (default) or the later `3x3` variant. */
  bottleneckStride?: BottleneckStride;
  /** CIFAR only: multiplies the 16/32/64 filters (e.g. 0.5 for a quick CPU scale). */
  width?: number;
  numClasses?: number;
  /** Input height, width, channels: default 32x32x3 (CIFAR) or 224x224x3 (ImageNet). */
  inputShape?: [number, number, number];
  /** Seed of the weight initializers: the same seed builds identical weights. */
  seed?: number;
  bnMomentum?: number;
  bnEpsilon?: number;
}

/** Which architecture family a model name denotes. */
export interface ModelId {
  /** `resnet` (residual) or `plain` (the same layers without shortcuts). */
  family: 'resnet' | 'plain';
  depth: number;
  dataset: 'cifar' | 'imagenet';
}

/** ImageNet depths (Table 1): block kind and blocks per stage. */
export const IMAGENET_DEPTHS: Record<number, { block: 'basic' | 'bottleneck'; blocks: [number, number, number, number] }> = {
  18: { block: 'basic', blocks: [2, 2, 2, 2] },
  34: { block: 'basic', blocks: [3, 4, 6, 3] },
  50: { block: 'bottleneck', blocks: [3, 4, 6, 3] },
  101: { block: 'bottleneck', blocks: [3, 4, 23, 3] },
  152: { block: 'bottleneck', blocks: [3, 8, 36, 3] },
};

const SHORTCUTS: readonly ShortcutOption[] = ['A', 'B', 'C'];
const ORDERS: readonly BlockOrder[] = ['post', 'pre'];

/** Throws unless `depth` is a valid CIFAR depth 6n+2 (n >= 1); returns n. */
export function cifarBlocksPerStage(depth: number): number {
  if (!Number.isInteger(depth) || depth < 8 || (depth - 2) % 6 !== 0) {
    throw new Error(`invalid CIFAR depth ${depth}: depth must be 6n+2 with n >= 1 (e.g. 8, 20, 32, 44, 56, 110, 1202)`);
  }
  return (depth - 2) / 6;
}

function styleFrom(options: ModelOptions, residual: boolean, defaultShortcut: ShortcutOption): BlockStyle {
  const shortcut = options.shortcut ?? defaultShortcut;
  if (!SHORTCUTS.includes(shortcut)) {
    throw new Error(`unknown shortcut option '${String(shortcut)}': expected one of A, B, C (paper §3.3)`);
  }
  const order = options.order ?? DEFAULT_BLOCK_STYLE.order;
  if (!ORDERS.includes(order)) {
    throw new Error(`unknown block order '${String(order)}': expected 'post' (2015) or 'pre' (pre-activation, 2016)`);
  }
  const bottleneckStride = options.bottleneckStride ?? DEFAULT_BLOCK_STYLE.bottleneckStride;
  if (bottleneckStride !== '1x1' && bottleneckStride !== '3x3') {
    throw new Error(`unknown bottleneck stride '${String(bottleneckStride)}': expected '1x1' (paper) or '3x3'`);
  }
  return {
    residual,
    shortcut,
    order,
    zeroInitResidual: options.zeroInitResidual ?? DEFAULT_BLOCK_STYLE.zeroInitResidual,
    bottleneckStride,
    bnMomentum: options.bnMomentum ?? DEFAULT_BLOCK_STYLE.bnMomentum,
    bnEpsilon: options.bnEpsilon ?? DEFAULT_BLOCK_STYLE.bnEpsilon,
  };
}

function checkCommon(options: ModelOptions): void {
  if (options.numClasses !== undefined && (!Number.isInteger(options.numClasses) || options.numClasses < 1)) {
    throw new Error(`numClasses must be a positive integer, got ${options.numClasses}`);
  }
  if (options.inputShape !== undefined) {
    const shape = options.inputShape;
    if (shape.length !== 3 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new Error(`inputShape must be [height, width, channels] of positive integers, got ${JSON.stringify(shape)}`);
    }
  }
}

/** The spec of a CIFAR net (§4.2): 6n+2 layers, 3 stages of n basic blocks at 16/32/64 filters. */
export function cifarSpec(depth: number, residual: boolean, options: ModelOptions = {}): NetworkSpec {
  const n = cifarBlocksPerStage(depth);
  checkCommon(options);
  const width = options.width ?? 1;
  if (!(width > 0) || !Number.isFinite(width)) throw new Error(`width must be a positive number, got ${width}`);
  const filters = (base: number) => Math.max(1, Math.round(base * width));
  return {
    name: `${residual ? 'resnet' : 'plain'}${depth}`,
    inputShape: options.inputShape ?? [32, 32, 3],
    stem: { kind: 'cifar', filters: filters(16) },
    block: basicBlock,
    stages: [
      { filters: filters(16), blocks: n, stride: 1 },
      { filters: filters(32), blocks: n, stride: 2 },
      { filters: filters(64), blocks: n, stride: 2 },
    ],
    numClasses: options.numClasses ?? 10,
    style: styleFrom(options, residual, 'A'),
    seed: options.seed,
  };
}

/** The spec of an ImageNet net (Table 1): depth 18, 34, 50, 101 or 152. */
export function imagenetSpec(depth: number, residual: boolean, options: ModelOptions = {}): NetworkSpec {
  const entry = IMAGENET_DEPTHS[depth];
  if (!entry) {
    throw new Error(`invalid ImageNet depth ${depth}: expected one of ${Object.keys(IMAGENET_DEPTHS).join(', ')} (Table 1)`);
  }
  checkCommon(options);
  if (options.width !== undefined && options.width !== 1) throw new Error('width applies to CIFAR nets only');
  return {
    name: `${residual ? 'resnet' : 'plain'}${depth}`,
    inputShape: options.inputShape ?? [224, 224, 3],
    stem: { kind: 'imagenet', filters: 64 },
    block: BLOCK_KINDS[entry.block],
    stages: [64, 128, 256, 512].map((filters, s) => ({ filters, blocks: entry.blocks[s], stride: s === 0 ? 1 : 2 })),
    numClasses: options.numClasses ?? 1000,
    style: styleFrom(options, residual, 'B'),
    seed: options.seed,
  };
}

/**
 * Parses a model name: `resnet20`, `plain56`, `resnet110`, `resnet50`, `plain34`, ...
 * Depths 18/34/50/101/152 are the ImageNet nets (Table 1); other 6n+2 depths are CIFAR nets.
 * Prefix `cifar-` (e.g. `cifar-resnet50`) forces the CIFAR family.
 */
export function parseModelName(name: string): ModelId {
  const match = /^(cifar-|imagenet-)?(resnet|plain)(\d+)$/.exec(name.trim().toLowerCase());
  if (!match) {
    throw new Error(
      `unknown model '${name}': expected resnet<depth> or plain<depth>, e.g. resnet20, plain56, resnet110 (CIFAR, depth 6n+2) ` +
        `or resnet18, resnet34, resnet50, resnet101, resnet152, plain18, plain34 (ImageNet)`,
    );
  }
  const [, prefix, family, digits] = match;
  const depth = Number(digits);
  const dataset = prefix === 'cifar-' ? 'cifar' : prefix === 'imagenet-' ? 'imagenet' : depth in IMAGENET_DEPTHS ? 'imagenet' : 'cifar';
  if (dataset === 'cifar') cifarBlocksPerStage(depth);
  else if (!(depth in IMAGENET_DEPTHS)) imagenetSpec(depth, true);
  return { family: family as ModelId['family'], depth, dataset };
}

/**
 * The name of a model, the inverse of {@link parseModelName}: `resnet56`, `plain34`, and
 * `cifar-resnet50` for a CIFAR net whose depth is also an ImageNet depth.
 */
export function modelName(id: ModelId): string {
  const base = `${id.family}${id.depth}`;
  const imagenetDepth = id.depth in IMAGENET_DEPTHS;
  if (id.dataset === 'cifar') return imagenetDepth ? `cifar-${base}` : base;
  return imagenetDepth ? base : `imagenet-${base}`;
}

/** The spec of a model (a name is parsed by {@link parseModelName}). */
export function modelSpec(model: string | ModelId, options: ModelOptions = {}): NetworkSpec {
  const id = typeof model === 'string' ? parseModelName(model) : model;
  const residual = id.family === 'resnet';
  return id.dataset === 'cifar' ? cifarSpec(id.depth, residual, options) : imagenetSpec(id.depth, residual, options);
}

/** Builds a model by name or id, e.g. `buildModel('resnet56', {shortcut: 'B'})`. */
export function buildModel(model: string | ModelId, options: ModelOptions = {}): tf.LayersModel {
  return buildNetwork(modelSpec(model, options));
}

/** CIFAR ResNet-(6n+2) (§4.2), option A by default. */
export function cifarResNet(depth: number, options: ModelOptions = {}): tf.LayersModel {
  return buildNetwork(cifarSpec(depth, true, options));
}

/** CIFAR Plain-(6n+2): the ResNet's exact layers without shortcuts. */
export function cifarPlainNet(depth: number, options: ModelOptions = {}): tf.LayersModel {
  return buildNetwork(cifarSpec(depth, false, options));
}

/** ImageNet ResNet-18/34/50/101/152 (Table 1), option B by default. */
export function imagenetResNet(depth: number, options: ModelOptions = {}): tf.LayersModel {
  return buildNetwork(imagenetSpec(depth, true, options));
}

/** ImageNet plain net of the same depth (the paper trains plain-18 and plain-34). */
export function imagenetPlainNet(depth: number, options: ModelOptions = {}): tf.LayersModel {
  return buildNetwork(imagenetSpec(depth, false, options));
}

export const resnet20 = (options?: ModelOptions) => cifarResNet(20, options);
export const resnet32 = (options?: ModelOptions) => cifarResNet(32, options);
export const resnet44 = (options?: ModelOptions) => cifarResNet(44, options);
export const resnet56 = (options?: ModelOptions) => cifarResNet(56, options);
export const resnet110 = (options?: ModelOptions) => cifarResNet(110, options);
export const resnet1202 = (options?: ModelOptions) => cifarResNet(1202, options);
export const plain20 = (options?: ModelOptions) => cifarPlainNet(20, options);
export const plain32 = (options?: ModelOptions) => cifarPlainNet(32, options);
export const plain44 = (options?: ModelOptions) => cifarPlainNet(44, options);
export const plain56 = (options?: ModelOptions) => cifarPlainNet(56, options);
export const plain110 = (options?: ModelOptions) => cifarPlainNet(110, options);
export const resnet18 = (options?: ModelOptions) => imagenetResNet(18, options);
export const resnet34 = (options?: ModelOptions) => imagenetResNet(34, options);
export const resnet50 = (options?: ModelOptions) => imagenetResNet(50, options);
export const resnet101 = (options?: ModelOptions) => imagenetResNet(101, options);
export const resnet152 = (options?: ModelOptions) => imagenetResNet(152, options);
export const plain18 = (options?: ModelOptions) => imagenetPlainNet(18, options);
export const plain34 = (options?: ModelOptions) => imagenetPlainNet(34, options);
