/**
 * A deliberately naive NHWC reference in plain JavaScript numbers (float64), written from the
 * definitions, to check TensorFlow's results against something that shares no code with them.
 */

/** An NHWC feature map of one image: data[y][x][c]. */
export type Image = number[][][];

export function zerosImage(height: number, width: number, channels: number): Image {
  return Array.from({ length: height }, () => Array.from({ length: width }, () => new Array<number>(channels).fill(0)));
}

/** Reshapes flat NHWC values of one image. */
export function imageFrom(values: ArrayLike<number>, height: number, width: number, channels: number): Image {
  const image = zerosImage(height, width, channels);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < channels; c++) {
        image[y][x][c] = values[(y * width + x) * channels + c];
      }
  return image;
}

export function flatten(image: Image): number[] {
  return image.flat(2);
}

/**
 * Convolution with a kernel[ky][kx][in][out], symmetric zero padding `pad`, and `stride`:
 * out[i][j] = sum kernel[ky][kx] * in[i*s - pad + ky][j*s - pad + kx].
 */
export function conv2d(input: Image, kernel: number[][][][], stride: number, pad: number): Image {
  const k = kernel.length;
  const inH = input.length;
  const inW = input[0].length;
  const outC = kernel[0][0][0].length;
  const outH = Math.floor((inH + 2 * pad - k) / stride) + 1;
  const outW = Math.floor((inW + 2 * pad - k) / stride) + 1;
  const out = zerosImage(outH, outW, outC);
  for (let i = 0; i < outH; i++)
    for (let j = 0; j < outW; j++)
      for (let o = 0; o < outC; o++) {
        let sum = 0;
        for (let ky = 0; ky < k; ky++)
          for (let kx = 0; kx < k; kx++) {
            const y = i * stride - pad + ky;
            const x = j * stride - pad + kx;
            if (y < 0 || x < 0 || y >= inH || x >= inW) continue;
            for (let c = 0; c < input[y][x].length; c++) sum += kernel[ky][kx][c][o] * input[y][x][c];
          }
        out[i][j][o] = sum;
      }
  return out;
}

/** Inference-mode batch norm: gamma * (x - mean) / sqrt(variance + eps) + beta, per channel. */
export function batchNorm(input: Image, gamma: number[], beta: number[], mean: number[], variance: number[], eps: number): Image {
  return input.map((row) => row.map((pixel) => pixel.map((v, c) => (gamma[c] * (v - mean[c])) / Math.sqrt(variance[c] + eps) + beta[c])));
}

export function relu(input: Image): Image {
  return input.map((row) => row.map((pixel) => pixel.map((v) => Math.max(0, v))));
}

export function add(a: Image, b: Image): Image {
  return a.map((row, y) => row.map((pixel, x) => pixel.map((v, c) => v + b[y][x][c])));
}

/** Option A: keep pixels (0, s, 2s, ...) and append zero channels up to `outChannels`. */
export function shortcutA(input: Image, stride: number, outChannels: number): Image {
  const out: Image = [];
  for (let y = 0; y < input.length; y += stride) {
    const row: number[][] = [];
    for (let x = 0; x < input[0].length; x += stride) {
      row.push([...input[y][x], ...new Array<number>(outChannels - input[y][x].length).fill(0)]);
    }
    out.push(row);
  }
  return out;
}

/** A deterministic kernel[k][k][in][out] with varied signs, from a simple formula. */
export function patternKernel(k: number, inC: number, outC: number, salt: number): number[][][][] {
  return Array.from({ length: k }, (_, ky) =>
    Array.from({ length: k }, (_, kx) =>
      Array.from({ length: inC }, (_, c) =>
        Array.from({ length: outC }, (_, o) => Math.sin(1.3 * ky + 0.7 * kx + 0.31 * c + 0.17 * o + salt) * 0.4),
      ),
    ),
  );
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}
