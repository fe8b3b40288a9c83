// Checkpoint files: one self-describing binary file per checkpoint.
//
//   bytes 0-3   "GSCK"
//   bytes 4-7   format version (uint32 LE)
//   bytes 8-11  header length H (uint32 LE)
//   12..12+H    JSON header (UTF-8, space-padded to a multiple of 4): meta + tensor table
//   then        tensor data, little-endian float32/int32, at the offsets the table gives
//
// Files are written to a temporary name beside the target, flushed, then renamed into place, so a
// crash or a full disk leaves either the old file or the new one, never half of one.
import { open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';

const MAGIC = 'GSCK';
const FORMAT_VERSION = 1;

export interface StoredTensor {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  values: Float32Array | Int32Array;
}

interface TensorEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  offset: number;
  length: number;
}

export interface CheckpointFile<M> {
  meta: M;
  tensors: StoredTensor[];
}

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

export async function writeCheckpoint<M>(path: string, meta: M, tensors: StoredTensor[]): Promise<number> {
  const table: TensorEntry[] = [];
  let offset = 0;
  for (const t of tensors) {
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (t.values.length !== expected) {
      throw new CheckpointError(`tensor ${t.name}: ${t.values.length} values for shape [${t.shape.join(', ')}]`);
    }
    table.push({ name: t.name, shape: t.shape, dtype: t.dtype, offset, length: t.values.length });
    offset += t.values.length * 4;
  }
  let headerText = JSON.stringify({ meta, tensors: table });
  headerText += ' '.repeat((4 - (Buffer.byteLength(headerText) % 4)) % 4);
  const header = Buffer.from(headerText, 'utf8');
  const prefix = Buffer.alloc(12);
  prefix.write(MAGIC, 0, 'ascii');
  prefix.writeUInt32LE(FORMAT_VERSION, 4);
  prefix.writeUInt32LE(header.length, 8);

  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const file = await open(tmp, 'w');
  try {
    await file.write(prefix);
    await file.write(header);
    for (const t of tensors) {
      const bytes = new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength);
      await file.write(bytes);
    }
    await file.sync();
    await file.close();
    await rename(tmp, path);
  } catch (err) {
    await file.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  return 12 + header.length + offset;
}

export async function readCheckpoint<M>(path: string): Promise<CheckpointFile<M>> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    throw new CheckpointError(`cannot read checkpoint ${path}: ${(err as Error).message}`);
  }
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== MAGIC) {
    throw new CheckpointError(`${path} is not a GAN Studio checkpoint`);
  }
  const version = buf.readUInt32LE(4);
  if (version !== FORMAT_VERSION) throw new CheckpointError(`${path}: unsupported checkpoint format ${version}`);
  const headerLength = buf.readUInt32LE(8);
  if (12 + headerLength > buf.length) throw new CheckpointError(`${path} is truncated (header)`);
  let parsed: { meta: M; tensors: TensorEntry[] };
  try {
    parsed = JSON.parse(buf.toString('utf8', 12, 12 + headerLength));
  } catch {
    throw new CheckpointError(`${path} has a corrupt header`);
  }
  const dataStart = 12 + headerLength;
  const tensors = parsed.tensors.map((entry) => {
    const start = dataStart + entry.offset;
    const end = start + entry.length * 4;
    if (end > buf.length) throw new CheckpointError(`${path} is truncated (tensor ${entry.name})`);
    // Copy into a fresh, aligned buffer: the file buffer's offset may not be 4-byte aligned.
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset + start, entry.length * 4).slice();
    const values = entry.dtype === 'int32' ? new Int32Array(bytes.buffer) : new Float32Array(bytes.buffer);
    return { name: entry.name, shape: entry.shape, dtype: entry.dtype, values };
  });
  return { meta: parsed.meta, tensors };
}
