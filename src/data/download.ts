import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';

/** The official CIFAR-10 binary archive and its MD5 (from the dataset's page). */
export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
export const CIFAR10_MD5 = 'c32a1d4ab5d03f1284b67883e8d87530';
const EXTRACTED_DIR = 'cifar-10-batches-bin';
const COMPLETE_MARKER = '.complete';

/**
 * reslab's cache (the CIFAR-10 download, the kernel self-check's results): $RESLAB_CACHE, else
 * $XDG_CACHE_HOME/reslab, else ~/.cache/reslab. (The data a run trains on is `--data-dir` or
 * RESLAB_DATA_DIR in the notebooks.)
 */
export function defaultCacheDir(): string {
  if (process.env.RESLAB_CACHE) return process.env.RESLAB_CACHE;
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'reslab');
}

export interface DownloadOptions {
  cacheDir?: string;
  url?: string;
  md5?: string;
  /** Called as bytes arrive: received so far, total if known. */
  onProgress?: (received: number, total: number | undefined) => void;
  /** Attempts after a failed or corrupt transfer (default 2: resume, then start clean). */
  attempts?: number;
}

function md5Of(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = crypto.createHash('md5');
    fs.createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject);
  });
}

/**
 * Downloads `url` into `target`, through `target.part`: a partial file never has the final name.
 * An existing `.part` is resumed with an HTTP Range request when the server supports it.
 */
function fetchToFile(url: string, target: string, onProgress?: DownloadOptions['onProgress'], redirects = 5): Promise<void> {
  const part = `${target}.part`;
  const have = fs.existsSync(part) ? fs.statSync(part).size : 0;
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.get(url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {} }, (response) => {
      const status = response.statusCode ?? 0;
      if (status >= 300 && status < 400 && response.headers.location && redirects > 0) {
        response.resume();
        fetchToFile(new URL(response.headers.location, url).toString(), target, onProgress, redirects - 1).then(resolve, reject);
        return;
      }
      if (status !== 200 && status !== 206) {
        response.resume();
        reject(new Error(`download of ${url} failed: HTTP ${status}`));
        return;
      }
      const resuming = status === 206;
      let received = resuming ? have : 0;
      const length = Number(response.headers['content-length']);
      const total = Number.isFinite(length) ? length + received : undefined;
      const sink = fs.createWriteStream(part, { flags: resuming ? 'a' : 'w' });
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        onProgress?.(received, total);
      });
      response.on('close', () => {
        if (!response.complete) sink.destroy(new Error(`download of ${url} was cut off after ${received} bytes`));
      });
      response.pipe(sink);
      sink.on('error', reject);
      sink.on('finish', () => {
        if (total !== undefined && received !== total) {
          reject(new Error(`download of ${url} ended after ${received} of ${total} bytes`));
          return;
        }
        fs.renameSync(part, target);
        resolve();
      });
    });
    request.on('error', (error) => reject(new Error(`download of ${url} failed: ${error.message}`)));
  });
}

/** Extracts regular files of a .tar.gz into `dest` (ustar/GNU headers; no links). */
export function extractTarGz(archive: string, dest: string): string[] {
  const tar = zlib.gunzipSync(fs.readFileSync(archive));
  const written: string[] = [];
  let offset = 0;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, length: number) => header.subarray(start, start + length).toString('latin1').replace(/\0.*$/s, '');
    const prefix = field(345, 155);
    const name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1) || '0';
    offset += 512;
    if (!Number.isFinite(size) || offset + size > tar.length) throw new Error(`${archive} is truncated or corrupt: bad tar entry '${name}'`);
    if (type === '0') {
      const relative = path.normalize(name);
      if (relative.startsWith('..') || path.isAbsolute(relative)) throw new Error(`${archive} has an unsafe path '${name}'`);
      const file = path.join(dest, relative);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, tar.subarray(offset, offset + size));
      written.push(relative);
    }
    offset += Math.ceil(size / 512) * 512;
  }
  return written;
}

/**
 * Makes sure CIFAR-10 is in the cache and returns the directory with its binary batches.
 * Download → MD5 check → extraction into a temporary directory renamed into place, so an
 * interrupted run leaves nothing that looks complete. A corrupt archive is deleted and
 * downloaded again from scratch.
 */
export async function downloadCifar10(options: DownloadOptions = {}): Promise<string> {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const url = options.url ?? CIFAR10_URL;
  const md5 = options.md5 ?? CIFAR10_MD5;
  const finalDir = path.join(cacheDir, EXTRACTED_DIR);
  if (fs.existsSync(path.join(finalDir, COMPLETE_MARKER))) return finalDir;
  fs.mkdirSync(cacheDir, { recursive: true });
  const archive = path.join(cacheDir, path.basename(new URL(url).pathname) || 'cifar-10-binary.tar.gz');
  const attempts = options.attempts ?? 2;
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      if (!fs.existsSync(archive)) await fetchToFile(url, archive, options.onProgress);
      const actual = await md5Of(archive);
      if (actual !== md5) {
        fs.rmSync(archive, { force: true });
        throw new Error(`${archive} has MD5 ${actual}, expected ${md5} (deleted; it will be downloaded again)`);
      }
      lastError = undefined;
      break;
    } catch (error) {
      lastError = error as Error;
    }
  }
  if (lastError) throw lastError;
  const staging = `${finalDir}.tmp-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  const files = extractTarGz(archive, staging);
  const inner = path.join(staging, EXTRACTED_DIR);
  const source = fs.existsSync(inner) ? inner : staging;
  if (!files.some((f) => f.endsWith('test_batch.bin'))) {
    throw new Error(`${archive} does not contain ${EXTRACTED_DIR}/test_batch.bin`);
  }
  fs.writeFileSync(path.join(source, COMPLETE_MARKER), `${md5}\n`);
  fs.rmSync(finalDir, { recursive: true, force: true });
  fs.renameSync(source, finalDir);
  fs.rmSync(staging, { recursive: true, force: true });
  return finalDir;
}
