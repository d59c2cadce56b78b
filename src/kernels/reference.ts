/**
 * A float64 convolution in plain loops: the independent reference the kernel self-check compares
 * TensorFlow's kernels with (NHWC activations, HWIO kernels, explicit padding, as reslab uses them).
 */

/** A convolution's geometry. */
export interface ConvShape {
  batch: number;
  /** Input height = width. */
  size: number;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  /** Zeros added before and after each spatial dimension: [top, bottom] = [left, right]. */
  pad: [number, number];
}

export function outputSize(s: ConvShape): number {
  return Math.floor((s.size + s.pad[0] + s.pad[1] - s.kernel) / s.stride) + 1;
}

type Values = ArrayLike<number>;

/**
 * Calls `visit(xIndex, wIndex, yIndex)` for every multiply-add of the convolution (input pixel,
 * kernel tap and output pixel, as flat indices): forward and both gradients are the same loop.
 */
function eachTap(s: ConvShape, visit: (x: number, w: number, y: number) => void): void {
  const out = outputSize(s);
  const { size, inChannels: ci, outChannels: co, kernel: k } = s;
  for (let n = 0; n < s.batch; n++)
    for (let oy = 0; oy < out; oy++)
      for (let ox = 0; ox < out; ox++) {
        const yBase = ((n * out + oy) * out + ox) * co;
        for (let ky = 0; ky < k; ky++) {
          const iy = oy * s.stride + ky - s.pad[0];
          if (iy < 0 || iy >= size) continue;
          for (let kx = 0; kx < k; kx++) {
            const ix = ox * s.stride + kx - s.pad[0];
            if (ix < 0 || ix >= size) continue;
            const xBase = ((n * size + iy) * size + ix) * ci;
            const wBase = (ky * k + kx) * ci * co;
            for (let c = 0; c < ci; c++) for (let o = 0; o < co; o++) visit(xBase + c, wBase + c * co + o, yBase + o);
          }
        }
      }
}

/** y = conv(x, w). */
export function convForward(s: ConvShape, x: Values, w: Values): Float64Array {
  const y = new Float64Array(s.batch * outputSize(s) ** 2 * s.outChannels);
  eachTap(s, (xi, wi, yi) => (y[yi] += x[xi] * w[wi]));
  return y;
}

/** dL/dx given dL/dy. */
export function convInputGradient(s: ConvShape, w: Values, dy: Values): Float64Array {
  const dx = new Float64Array(s.batch * s.size * s.size * s.inChannels);
  eachTap(s, (xi, wi, yi) => (dx[xi] += w[wi] * dy[yi]));
  return dx;
}

/** dL/dw given dL/dy. */
export function convFilterGradient(s: ConvShape, x: Values, dy: Values): Float64Array {
  const dw = new Float64Array(s.kernel * s.kernel * s.inChannels * s.outChannels);
  eachTap(s, (xi, wi, yi) => (dw[wi] += x[xi] * dy[yi]));
  return dw;
}

/** max |actual - expected| / max |expected|: 1e-7..1e-6 for a correct float32 kernel, O(1) for a wrong one. */
export function relativeError(actual: Values, expected: Values): number {
  if (actual.length !== expected.length) return Infinity;
  let difference = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= difference)) difference = Number.isNaN(d) ? Infinity : d;
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return difference / Math.max(scale, 1e-30);
}

/**
 * Training-mode batch norm over the last dimension (gamma 1, beta 0, two-pass statistics) and its
 * input gradient, in float64.
 */
export function batchNormReference(x: Values, dy: Values, channels: number, epsilon: number): { y: Float64Array; dx: Float64Array } {
  const count = x.length / channels;
  const mean = new Float64Array(channels);
  const variance = new Float64Array(channels);
  for (let i = 0; i < x.length; i++) mean[i % channels] += x[i] / count;
  for (let i = 0; i < x.length; i++) variance[i % channels] += (x[i] - mean[i % channels]) ** 2 / count;
  const y = new Float64Array(x.length);
  const meanDy = new Float64Array(channels);
  const meanDyY = new Float64Array(channels);
  for (let i = 0; i < x.length; i++) {
    const c = i % channels;
    y[i] = (x[i] - mean[c]) / Math.sqrt(variance[c] + epsilon);
    meanDy[c] += dy[i] / count;
    meanDyY[c] += (dy[i] * y[i]) / count;
  }
  const dx = y.map((v, i) => {
    const c = i % channels;
    return (dy[i] - meanDy[c] - v * meanDyY[c]) / Math.sqrt(variance[c] + epsilon);
  });
  return { y, dx };
}
