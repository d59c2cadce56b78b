/**
 * TensorBoard event files, written directly: TFRecord framing (length, masked CRC-32C of the
 * length, payload, masked CRC-32C of the payload) around serialized `tensorflow.Event` protocol
 * buffers holding scalar and histogram summaries. Only the fields TensorBoard reads are encoded.
 */
import { maskedCrc32c } from './crc32c';

/** One value of a summary: a scalar, or a histogram of several values. */
export type SummaryValue = { tag: string; scalar: number } | { tag: string; histogram: number[] };

/** Protocol buffer wire encoding of the few field kinds events need. */
class ProtoWriter {
  private readonly parts: Buffer[] = [];

  private key(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  varint(value: number): void {
    const bytes: number[] = [];
    let v = BigInt.asUintN(64, BigInt(Math.trunc(value)));
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) byte |= 0x80;
      bytes.push(byte);
    } while (v > 0n);
    this.parts.push(Buffer.from(bytes));
  }

  int64(field: number, value: number): this {
    this.key(field, 0);
    this.varint(value);
    return this;
  }

  /** A fixed-width field: wire type 1 (64-bit double) or 5 (32-bit float). */
  private fixed(field: number, value: number, wireType: 1 | 5): this {
    this.key(field, wireType);
    const b = Buffer.alloc(wireType === 1 ? 8 : 4);
    if (wireType === 1) b.writeDoubleLE(value);
    else b.writeFloatLE(value);
    this.parts.push(b);
    return this;
  }

  double(field: number, value: number): this {
    return this.fixed(field, value, 1);
  }

  float(field: number, value: number): this {
    return this.fixed(field, value, 5);
  }

  bytes(field: number, value: Buffer): this {
    this.key(field, 2);
    this.varint(value.length);
    this.parts.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, Buffer.from(value, 'utf8'));
  }

  packedDoubles(field: number, values: number[]): this {
    const b = Buffer.alloc(8 * values.length);
    values.forEach((v, i) => b.writeDoubleLE(v, 8 * i));
    return this.bytes(field, b);
  }

  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** `tensorflow.HistogramProto` of `values`: at most 30 equal-width buckets between min and max. */
function histogramProto(values: number[]): Buffer {
  const min = Math.min(...values);
  const max = Math.max(...values);
  const count = max > min ? Math.min(30, values.length) : 1;
  const width = (max - min) / count;
  const limits = Array.from({ length: count }, (_, i) => (i === count - 1 ? max : min + (i + 1) * width));
  const buckets = new Array<number>(count).fill(0);
  for (const v of values) buckets[width > 0 ? Math.min(count - 1, Math.floor((v - min) / width)) : 0] += 1;
  return new ProtoWriter()
    .double(1, min)
    .double(2, max)
    .double(3, values.length)
    .double(
      4,
      values.reduce((s, v) => s + v, 0),
    )
    .double(
      5,
      values.reduce((s, v) => s + v * v, 0),
    )
    .packedDoubles(6, limits)
    .packedDoubles(7, buckets)
    .done();
}

function summaryProto(values: SummaryValue[]): Buffer {
  const summary = new ProtoWriter();
  for (const value of values) {
    const v = new ProtoWriter().string(1, value.tag);
    if ('scalar' in value) v.float(2, value.scalar);
    else v.bytes(5, histogramProto(value.histogram));
    summary.bytes(1, v.done());
  }
  return summary.done();
}

/** The first event of every file: which version of the format follows. */
export function fileVersionEvent(wallTimeSeconds: number): Buffer {
  return new ProtoWriter().double(1, wallTimeSeconds).string(3, 'brain.Event:2').done();
}

/** An event holding a summary of scalars and histograms at one step. */
export function summaryEvent(wallTimeSeconds: number, step: number, values: SummaryValue[]): Buffer {
  return new ProtoWriter().double(1, wallTimeSeconds).int64(2, step).bytes(5, summaryProto(values)).done();
}

/** One TFRecord: the payload framed with its length and both masked CRC-32Cs. */
export function tfRecord(payload: Buffer): Buffer {
  const header = Buffer.alloc(12);
  header.writeBigUInt64LE(BigInt(payload.length), 0);
  header.writeUInt32LE(maskedCrc32c(header.subarray(0, 8)), 8);
  const footer = Buffer.alloc(4);
  footer.writeUInt32LE(maskedCrc32c(payload), 0);
  return Buffer.concat([header, payload, footer]);
}
