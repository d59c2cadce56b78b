import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { bundledDataDir, loadCifar10 } from '../src/data/cifar';
import { downloadCifar10 } from '../src/data/download';

/**
 * A small CIFAR-10 archive in the official layout, built with the system's tar from real
 * bundled records (each batch 10,000 records: the bundled test records repeated).
 */
function buildArchive(dir: string): { file: string; md5: string; test: Buffer } {
  const inner = path.join(dir, 'src', 'cifar-10-batches-bin');
  fs.mkdirSync(inner, { recursive: true });
  const test = fs.readFileSync(path.join(bundledDataDir(), 'test.bin'));
  const batch = Buffer.concat(Array.from({ length: 10 }, () => test));
  fs.writeFileSync(path.join(inner, 'data_batch_1.bin'), batch);
  fs.writeFileSync(path.join(inner, 'test_batch.bin'), batch);
  fs.writeFileSync(path.join(inner, 'batches.meta.txt'), 'airplane\n');
  const file = path.join(dir, 'cifar-10-binary.tar.gz');
  const tar = spawnSync('tar', ['-czf', file, '-C', path.join(dir, 'src'), 'cifar-10-batches-bin']);
  assert.equal(tar.status, 0, String(tar.stderr));
  return { file, md5: crypto.createHash('md5').update(fs.readFileSync(file)).digest('hex'), test: batch };
}

/** Serves one file on 127.0.0.1 with Range support; can cut the first response off halfway. */
function serve(file: string, options: { cutFirst: boolean }) {
  const body = fs.readFileSync(file);
  const requests: Array<{ range?: string }> = [];
  const server = http.createServer((req, res) => {
    requests.push({ range: req.headers.range });
    const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = match ? Number(match[1]) : 0;
    const slice = body.subarray(start);
    res.writeHead(match ? 206 : 200, {
      'Content-Length': slice.length,
      ...(match ? { 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
    });
    if (options.cutFirst && requests.length === 1) {
      res.write(slice.subarray(0, slice.length >> 1), () => res.destroy());
      return;
    }
    res.end(slice);
  });
  return new Promise<{ url: string; requests: typeof requests; close: () => Promise<void> }>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}/cifar-10-binary.tar.gz`,
        requests,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

describe('CIFAR-10 download (local HTTP server on 127.0.0.1)', function () {
  this.timeout(120_000);
  let work: string;
  let archive: ReturnType<typeof buildArchive>;

  before(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-download-'));
    archive = buildArchive(work);
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  it('downloads with progress, resumes a cut-off transfer with a Range request, checks MD5, extracts atomically', async () => {
    const server = await serve(archive.file, { cutFirst: true });
    const cacheDir = path.join(work, 'cache1');
    const progress: number[] = [];
    try {
      const dir = await downloadCifar10({ cacheDir, url: server.url, md5: archive.md5, onProgress: (received) => progress.push(received) });
      assert.equal(dir, path.join(cacheDir, 'cifar-10-batches-bin'));
      assert.equal(server.requests.length, 2);
      assert.equal(server.requests[0].range, undefined);
      assert.match(server.requests[1].range ?? '', /^bytes=\d+-$/, 'the second request resumes');
      assert.ok(progress.length > 1 && progress[progress.length - 1] === fs.statSync(archive.file).size);
      const data = loadCifar10(cacheDir);
      assert.equal(data.train.count, 10_000);
      assert.deepEqual(Buffer.from(data.test.labels), Buffer.from(Array.from({ length: 10_000 }, (_, i) => archive.test[i * 3073])));
      assert.ok(!fs.readdirSync(cacheDir).some((f) => f.endsWith('.part') || f.includes('.tmp')), 'no partial files left');
      // Cached: a second call makes no request.
      await downloadCifar10({ cacheDir, url: server.url, md5: archive.md5 });
      assert.equal(server.requests.length, 2);
    } finally {
      await server.close();
    }
  });

  it('a corrupt archive (wrong MD5) is deleted, downloaded again, then reported; nothing looks complete', async () => {
    const server = await serve(archive.file, { cutFirst: false });
    const cacheDir = path.join(work, 'cache2');
    try {
      await assert.rejects(
        downloadCifar10({ cacheDir, url: server.url, md5: '0'.repeat(32) }),
        new RegExp(`has MD5 ${archive.md5}, expected 0{32}`),
      );
      assert.equal(server.requests.length, 2, 'one clean retry');
      assert.ok(!fs.existsSync(path.join(cacheDir, 'cifar-10-batches-bin')));
      assert.ok(!fs.existsSync(path.join(cacheDir, 'cifar-10-binary.tar.gz')));
    } finally {
      await server.close();
    }
  });

  it('an unreachable server gives a clear error', async () => {
    await assert.rejects(
      downloadCifar10({ cacheDir: path.join(work, 'cache3'), url: 'http://127.0.0.1:9/cifar-10-binary.tar.gz', attempts: 1 }),
      /download of http:\/\/127\.0\.0\.1:9\/cifar-10-binary\.tar\.gz failed: .*ECONNREFUSED/,
    );
  });
});
