import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

/** One CIFAR-10 record: 1 label byte + 3072 pixel bytes (1024 red, 1024 green, 1024 blue, row-major). */
export const RECORD_BYTES = 3073;
export const IMAGE_BYTES = 3072;
export const IMAGE_SIZE = 32;
export const RECORDS_PER_OFFICIAL_BATCH = 10_000;

/** Images and labels of one split, pixels as stored in the file (CHW per image, bytes). */
export interface CifarSplit {
  /** count x 3072 bytes, each image planar: R plane, G plane, B plane. */
  pixels: Uint8Array;
  labels: Uint8Array;
  count: number;
}

/** A loaded dataset and where it came from. */
export interface CifarDataset {
  train: CifarSplit;
  test: CifarSplit;
  /** Directory the files were read from. */
  source: string;
  files: string[];
}

const OFFICIAL_TRAIN = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
const OFFICIAL_TEST = 'test_batch.bin';

/** Reads and validates one file in the CIFAR-10 binary format. */
export function readCifarBinary(file: string, expectedRecords?: number): CifarSplit {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    throw new Error(`cannot read CIFAR-10 file ${file}: ${(error as Error).message}`, { cause: error });
  }
  const expectedSize = expectedRecords === undefined ? undefined : expectedRecords * RECORD_BYTES;
  if (bytes.length === 0 || bytes.length % RECORD_BYTES !== 0 || (expectedSize !== undefined && bytes.length !== expectedSize)) {
    const expected = expectedSize !== undefined
      ? `${expectedSize} bytes (${expectedRecords} records of ${RECORD_BYTES} bytes)`
      : `a non-zero multiple of ${RECORD_BYTES} bytes (1 label byte + 3072 pixel bytes per record)`;
    throw new Error(`CIFAR-10 file ${file} is truncated or corrupt: it has ${bytes.length} bytes, expected ${expected}`);
  }
  const count = bytes.length / RECORD_BYTES;
  const pixels = new Uint8Array(count * IMAGE_BYTES);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const offset = i * RECORD_BYTES;
    const label = bytes[offset];
    if (label > 9) {
      throw new Error(`CIFAR-10 file ${file} is corrupt: record ${i} has label ${label}, labels are 0-9`);
    }
    labels[i] = label;
    pixels.set(bytes.subarray(offset + 1, offset + RECORD_BYTES), i * IMAGE_BYTES);
  }
  return { pixels, labels, count };
}

function concat(splits: CifarSplit[]): CifarSplit {
  if (splits.length === 1) return splits[0];
  const count = splits.reduce((sum, s) => sum + s.count, 0);
  const pixels = new Uint8Array(count * IMAGE_BYTES);
  const labels = new Uint8Array(count);
  let at = 0;
  for (const s of splits) {
    pixels.set(s.pixels, at * IMAGE_BYTES);
    labels.set(s.labels, at);
    at += s.count;
  }
  return { pixels, labels, count };
}

/** The first `limit` examples of a split (no copy). */
export function takeFirst(split: CifarSplit, limit?: number): CifarSplit {
  if (limit === undefined || limit >= split.count) return split;
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`an example limit must be a positive integer, got ${limit}`);
  return { pixels: split.pixels.subarray(0, limit * IMAGE_BYTES), labels: split.labels.subarray(0, limit), count: limit };
}

/** The CIFAR-10 subset shipped with reslab (4,000 training and 1,000 test images, byte-exact). */
export function bundledDataDir(): string {
  return path.resolve(__dirname, '..', '..', '..', 'data', 'cifar10-subset');
}

/**
 * Loads CIFAR-10 from a directory holding either the official files (`data_batch_1.bin` …
 * `data_batch_5.bin`, `test_batch.bin`, possibly inside `cifar-10-batches-bin/`) or the
 * bundled layout (`train.bin`, `test.bin`). Official batches must be complete (10,000 records).
 */
export function loadCifar10(dir: string): CifarDataset {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    throw new Error(`CIFAR-10 data directory ${dir} does not exist`);
  }
  if (!stat.isDirectory()) throw new Error(`CIFAR-10 data directory ${dir} is a file, not a directory (give the folder that holds the .bin files)`);
  try {
    fs.readdirSync(dir);
  } catch (error) {
    throw new Error(`cannot read the CIFAR-10 data directory ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
      cause: error,
    });
  }
  const nested = path.join(dir, 'cifar-10-batches-bin');
  const root = fs.existsSync(path.join(nested, OFFICIAL_TEST)) || fs.existsSync(path.join(nested, OFFICIAL_TRAIN[0])) ? nested : dir;
  const official = OFFICIAL_TRAIN.filter((name) => fs.existsSync(path.join(root, name)));
  if (official.length > 0) {
    if (!fs.existsSync(path.join(root, OFFICIAL_TEST))) throw new Error(`${path.join(root, OFFICIAL_TEST)} is missing: the official layout needs the test batch next to ${official.join(', ')}`);
    const files = [...official, OFFICIAL_TEST].map((name) => path.join(root, name));
    const train = concat(official.map((name) => readCifarBinary(path.join(root, name), RECORDS_PER_OFFICIAL_BATCH)));
    const test = readCifarBinary(path.join(root, OFFICIAL_TEST), RECORDS_PER_OFFICIAL_BATCH);
    return { train, test, source: root, files };
  }
  const bundled = ['train.bin', 'test.bin'].map((name) => path.join(dir, name));
  const present = bundled.filter((file) => fs.existsSync(file));
  if (present.length === 1) throw new Error(`${bundled.find((file) => !present.includes(file))} is missing: train.bin and test.bin go together`);
  if (present.length === 2) {
    verifyChecksums(dir);
    return { train: readCifarBinary(bundled[0]), test: readCifarBinary(bundled[1]), source: dir, files: bundled };
  }
  throw new Error(
    `no CIFAR-10 binary files in ${dir}: expected data_batch_1.bin … data_batch_5.bin and test_batch.bin ` +
      '(the official cifar-10-batches-bin layout) or train.bin and test.bin',
  );
}

/** Where a directory ships `checksums.json` (the bundled subset does), every listed file must match it. */
function verifyChecksums(dir: string): void {
  const file = path.join(dir, 'checksums.json');
  if (!fs.existsSync(file)) return;
  const expected = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
  for (const [name, md5] of Object.entries(expected)) {
    const actual = crypto.createHash('md5').update(fs.readFileSync(path.join(dir, name))).digest('hex');
    if (actual !== md5) {
      throw new Error(`${path.join(dir, name)} does not match ${file} (MD5 ${actual}, expected ${md5}): the file is damaged; restore it (git checkout, or reinstall reslab)`);
    }
  }
}

/**
 * Where a dataset came from, without the machine's paths (for outputs that are shared, such as
 * committed notebooks): the bundled subset, or the name of the folder that held the files.
 */
export function describeDataSource(dataset: CifarDataset): string {
  if (path.resolve(dataset.source) === bundledDataDir()) return 'the bundled CIFAR-10 subset';
  return `CIFAR-10 files in a folder named ${path.basename(dataset.source)}`;
}
