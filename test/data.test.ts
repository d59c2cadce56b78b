import { strict as assert } from 'assert';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { bundledDataDir, IMAGE_BYTES, loadCifar10, readCifarBinary, RECORD_BYTES } from '../src/data/cifar';
import { meanImage, TrainingBatches, writeBatch } from '../src/data/preprocess';

const BUNDLED = bundledDataDir();

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-data-'));
}

describe('CIFAR-10 binary reader', () => {
  it('reads the bundled subset: 4,000 + 1,000 real images, the official class counts of its first records', () => {
    const data = loadCifar10(BUNDLED);
    assert.equal(data.train.count, 4000);
    assert.equal(data.test.count, 1000);
    // First records of the official data_batch_1: frog, truck, truck, deer, automobile.
    assert.deepEqual(Array.from(data.train.labels.subarray(0, 5)), [6, 9, 9, 4, 1]);
    // First records of test_batch: cat, ship, ship, airplane.
    assert.deepEqual(Array.from(data.test.labels.subarray(0, 4)), [3, 8, 8, 0]);
    const counts = new Array<number>(10).fill(0);
    data.train.labels.forEach((l) => counts[l]++);
    assert.ok(
      counts.every((c) => c > 300 && c < 500),
      `class counts ${counts}`,
    );
  });

  it('the bundled files are byte-exact records of the official batches (checksums)', () => {
    const md5 = (file: string) =>
      crypto
        .createHash('md5')
        .update(fs.readFileSync(path.join(BUNDLED, file)))
        .digest('hex');
    const sums = JSON.parse(fs.readFileSync(path.join(BUNDLED, 'checksums.json'), 'utf8')) as Record<string, string>;
    assert.equal(md5('train.bin'), sums['train.bin']);
    assert.equal(md5('test.bin'), sums['test.bin']);
  });

  it('a truncated file gives an error naming the file, its size and the expected size', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'train.bin');
    fs.writeFileSync(file, fs.readFileSync(path.join(BUNDLED, 'train.bin')).subarray(0, 5 * RECORD_BYTES + 100));
    assert.throws(
      () => readCifarBinary(file),
      new RegExp(
        `${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is truncated or corrupt: it has ${5 * RECORD_BYTES + 100} bytes, expected a non-zero multiple of 3073`,
      ),
    );
    fs.writeFileSync(path.join(dir, 'test_batch.bin'), fs.readFileSync(path.join(BUNDLED, 'test.bin')));
    fs.writeFileSync(path.join(dir, 'data_batch_1.bin'), fs.readFileSync(path.join(BUNDLED, 'train.bin')));
    assert.throws(
      () => loadCifar10(dir),
      /data_batch_1\.bin is truncated or corrupt: it has 12292000 bytes, expected 30730000 bytes \(10000 records/,
    );
  });

  it('a corrupt label byte is reported with its record', () => {
    const dir = tmpDir();
    const bytes = Buffer.from(fs.readFileSync(path.join(BUNDLED, 'test.bin')));
    bytes[7 * RECORD_BYTES] = 200;
    fs.writeFileSync(path.join(dir, 'test.bin'), bytes);
    assert.throws(() => readCifarBinary(path.join(dir, 'test.bin')), /is corrupt: record 7 has label 200, labels are 0-9/);
  });

  it('an empty or missing directory gives a clear error', () => {
    assert.throws(() => loadCifar10(path.join(tmpDir(), 'nope')), /does not exist/);
    assert.throws(() => loadCifar10(tmpDir()), /no CIFAR-10 binary files in .*expected data_batch_1\.bin/);
  });

  it('a file given as the directory, a missing test file and a damaged bundled copy are each named', () => {
    const file = path.join(tmpDir(), 'train.bin');
    fs.copyFileSync(path.join(BUNDLED, 'train.bin'), file);
    assert.throws(() => loadCifar10(file), /train\.bin is a file, not a directory \(give the folder that holds the \.bin files\)/);
    const dir = path.dirname(file);
    assert.throws(
      () => loadCifar10(dir),
      new RegExp(`${path.join(dir, 'test.bin').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is missing: train\\.bin and test\\.bin go together`),
    );
    const official = tmpDir();
    fs.writeFileSync(path.join(official, 'data_batch_1.bin'), Buffer.alloc(10));
    assert.throws(
      () => loadCifar10(official),
      /test_batch\.bin is missing: the official layout needs the test batch next to data_batch_1\.bin/,
    );
    // A damaged copy of the bundled subset (checksums.json beside it) is refused at load.
    const copy = tmpDir();
    for (const name of ['train.bin', 'test.bin', 'checksums.json']) fs.copyFileSync(path.join(BUNDLED, name), path.join(copy, name));
    const bytes = fs.readFileSync(path.join(copy, 'train.bin'));
    bytes[12345] ^= 1;
    fs.writeFileSync(path.join(copy, 'train.bin'), bytes);
    assert.throws(
      () => loadCifar10(copy),
      /train\.bin does not match .*checksums\.json \(MD5 [0-9a-f]{32}, expected 07704ae233cc40e200a600eed4f4e13c\): the file is damaged/,
    );
  });

  it('reads the official layout, also inside cifar-10-batches-bin/', () => {
    const dir = tmpDir();
    const inner = path.join(dir, 'cifar-10-batches-bin');
    fs.mkdirSync(inner);
    const test = fs.readFileSync(path.join(BUNDLED, 'test.bin'));
    const full = Buffer.concat(Array.from({ length: 10 }, () => test)); // 10,000 records
    fs.writeFileSync(path.join(inner, 'data_batch_1.bin'), full);
    fs.writeFileSync(path.join(inner, 'test_batch.bin'), full);
    const data = loadCifar10(dir);
    assert.equal(data.train.count, 10_000);
    assert.equal(data.source, inner);
  });
});

describe('preprocessing (§4.2)', () => {
  const data = loadCifar10(BUNDLED);

  it('the mean image is the per-pixel mean over the training set, in [0, 1] scale', () => {
    const mean = meanImage(data.train);
    for (const [y, x, c] of [
      [0, 0, 0],
      [15, 20, 1],
      [31, 31, 2],
    ]) {
      let sum = 0;
      for (let n = 0; n < data.train.count; n++) sum += data.train.pixels[n * IMAGE_BYTES + c * 1024 + y * 32 + x];
      assert.ok(Math.abs(mean[(y * 32 + x) * 3 + c] - sum / data.train.count / 255) < 1e-6);
    }
  });

  it('without augmentation, writes the mean-subtracted image in NHWC order', () => {
    const mean = meanImage(data.train);
    const out = new Float32Array(IMAGE_BYTES);
    writeBatch(data.test, [3], mean, out);
    const src = 3 * IMAGE_BYTES;
    assert.ok(Math.abs(out[(5 * 32 + 7) * 3 + 2] - (data.test.pixels[src + 2048 + 5 * 32 + 7] / 255 - mean[(5 * 32 + 7) * 3 + 2])) < 1e-6);
  });

  it('pads 4, crops 32x32 at the drawn offset and flips', () => {
    const mean = new Float32Array(IMAGE_BYTES); // zero mean: outputs are raw pixels / 255
    const out = new Float32Array(IMAGE_BYTES);
    // random() values: dy draw -> 0 (offset -4), dx draw -> 8/9 (offset +4), flip draw 0.1 (< 0.5: flip).
    const draws = [0, 8.5 / 9, 0.1];
    writeBatch(data.test, [0], mean, out, { pad: 4, flip: true }, () => draws.shift() as number);
    const pixel = (y: number, x: number, c: number) => data.test.pixels[c * 1024 + y * 32 + x] / 255;
    for (const [y, x] of [
      [0, 0],
      [3, 10],
      [4, 0],
      [10, 27],
      [10, 28],
      [31, 31],
    ]) {
      const sy = y - 4;
      const sx = 31 - x + 4;
      const expected = sy < 0 || sx > 31 ? 0 : pixel(sy, sx, 1);
      assert.ok(Math.abs(out[(y * 32 + x) * 3 + 1] - expected) < 1e-6, `(${y}, ${x})`);
    }
  });

  it('the batch stream depends only on (seed, iteration) and covers each epoch once', () => {
    const mean = meanImage(data.train);
    const a = new TrainingBatches(data.train, mean, 128, 5);
    const b = new TrainingBatches(data.train, mean, 128, 5);
    const seen = new Set<number>();
    for (let i = 0; i < a.batchesPerEpoch; i++) a.indices(i).forEach((j) => seen.add(j));
    assert.equal(seen.size, a.batchesPerEpoch * 128);
    const out1 = new Float32Array(128 * IMAGE_BYTES);
    const out2 = new Float32Array(128 * IMAGE_BYTES);
    const labels1 = new Int32Array(128);
    const labels2 = new Int32Array(128);
    a.write(40, out1, labels1);
    b.write(3, out2, labels2); // b visits another epoch first
    b.write(40, out2, labels2);
    assert.deepEqual(out1, out2);
    assert.deepEqual(labels1, labels2);
    assert.notDeepEqual(Array.from(a.indices(0)), Array.from(a.indices(a.batchesPerEpoch)));
  });
});
