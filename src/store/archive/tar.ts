// The archive format of exported snapshots: POSIX ustar, regular files only, written and read as streams. The
// writer makes one header per file (the caller streams the body and its padding); the reader checks every header
// (checksum, type, size, name) and hands each body out as a stream, so a multi-GiB member never sits in memory.
// Standard tools read what the writer writes (`tar -xf`), and the reader takes what `tar --format=ustar` makes.

export const TAR_BLOCK = 512;
/** Two zero blocks end an archive. */
export const TAR_END = new Uint8Array(2 * TAR_BLOCK);
const NAME_BYTES = 100;
const PREFIX_BYTES = 155;
/** The largest size the 11 octal digits of a ustar header hold (8 GiB - 1). */
export const TAR_MAX_FILE_BYTES = 8 ** 11 - 1;

export class TarError extends Error {
  override readonly name = "TarError";
}

/** Bytes an entry takes: its header, its body and the body's padding to a whole block. */
export function tarEntryBytes(size: number): number {
  return TAR_BLOCK + size + tarPaddingBytes(size);
}

export function tarPaddingBytes(size: number): number {
  return (TAR_BLOCK - (size % TAR_BLOCK)) % TAR_BLOCK;
}

/** The ustar header of a regular file `path` (`/`-separated, relative) of `size` bytes. */
export function tarHeader(path: string, size: number, mtime: Date, mode = 0o600): Uint8Array {
  if (size > TAR_MAX_FILE_BYTES) throw new TarError(`${path}: ${size} bytes is more than a ustar member holds`);
  const { name, prefix } = splitName(path);
  const header = new Uint8Array(TAR_BLOCK);
  const put = (offset: number, length: number, text: string) => header.set(new TextEncoder().encode(text).subarray(0, length), offset);
  const octal = (offset: number, length: number, value: number) => put(offset, length, `${value.toString(8).padStart(length - 1, "0")}\0`);
  put(0, NAME_BYTES, name);
  octal(100, 8, mode);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, Math.floor(mtime.getTime() / 1000));
  put(148, 8, " ".repeat(8)); // counted as spaces while the checksum is computed
  put(156, 1, "0");
  put(257, 8, "ustar\u000000");
  put(345, PREFIX_BYTES, prefix);
  put(148, 8, `${checksum(header).toString(8).padStart(6, "0")}\0 `);
  return header;
}

export interface TarEntry {
  path: string;
  size: number;
  /** The member's bytes; must be read to its end (or abandoned with the archive) before the next entry. */
  body: AsyncGenerator<Uint8Array>;
}

/** The regular-file members of a ustar stream. A stream that ends early, a bad header or another member type is a TarError. */
export async function* readTar(source: AsyncIterable<Uint8Array>): AsyncGenerator<TarEntry> {
  const input = new ByteReader(source);
  for (;;) {
    const header = await input.exact(TAR_BLOCK, "an entry header");
    if (header.every((b) => b === 0)) {
      await input.exact(TAR_BLOCK, "the end-of-archive block");
      return;
    }
    const entry = parseHeader(header);
    let consumed = false;
    const body = (async function* () {
      yield* input.pieces(entry.size, `the body of ${entry.path}`);
      await input.exact(tarPaddingBytes(entry.size), `the padding of ${entry.path}`);
      consumed = true;
    })();
    yield { ...entry, body };
    if (!consumed) throw new TarError(`the body of ${entry.path} was not read`);
  }
}

function parseHeader(header: Uint8Array): { path: string; size: number } {
  const text = (offset: number, length: number) => {
    const field = header.subarray(offset, offset + length);
    const end = field.indexOf(0);
    return new TextDecoder().decode(end < 0 ? field : field.subarray(0, end));
  };
  const octal = (offset: number, length: number, what: string) => {
    const digits = text(offset, length).trim();
    if (!/^[0-7]+$/.test(digits)) throw new TarError(`entry header: ${what} is not an octal number`);
    return Number.parseInt(digits, 8);
  };
  if (!text(257, 6).startsWith("ustar")) throw new TarError("entry header: not a ustar header");
  if (octal(148, 8, "checksum") !== checksum(header)) throw new TarError("entry header: checksum does not match");
  const type = String.fromCharCode(header[156]!);
  const prefix = text(345, PREFIX_BYTES);
  const path = prefix ? `${prefix}/${text(0, NAME_BYTES)}` : text(0, NAME_BYTES);
  if (type !== "0" && type !== "\0") throw new TarError(`entry ${path}: only regular files are accepted (type ${JSON.stringify(type)})`);
  return { path, size: octal(124, 12, "size") };
}

function checksum(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
  return sum;
}

function splitName(path: string): { name: string; prefix: string } {
  const bytes = (s: string) => new TextEncoder().encode(s).length;
  if (bytes(path) <= NAME_BYTES) return { name: path, prefix: "" };
  for (let cut = path.indexOf("/"); cut > 0; cut = path.indexOf("/", cut + 1)) {
    const prefix = path.slice(0, cut);
    const name = path.slice(cut + 1);
    if (bytes(prefix) <= PREFIX_BYTES && bytes(name) <= NAME_BYTES) return { name, prefix };
  }
  throw new TarError(`${path}: too long for a ustar name`);
}

/** Exact-length reads over a stream of arbitrary pieces. */
class ByteReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private pending: Uint8Array = new Uint8Array(0);

  constructor(source: AsyncIterable<Uint8Array>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** `length` bytes as one buffer (headers and padding: at most a block or two). */
  async exact(length: number, what: string): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    let filled = 0;
    for await (const piece of this.pieces(length, what)) {
      out.set(piece, filled);
      filled += piece.length;
    }
    return out;
  }

  /** The next `length` bytes, in the pieces they arrive in. */
  async *pieces(length: number, what: string): AsyncGenerator<Uint8Array> {
    let left = length;
    while (left > 0) {
      if (this.pending.length === 0) {
        const next = await this.iterator.next();
        if (next.done) throw new TarError(`archive ends inside ${what}`);
        this.pending = next.value;
        continue;
      }
      const take = Math.min(left, this.pending.length);
      yield this.pending.subarray(0, take);
      this.pending = this.pending.subarray(take);
      left -= take;
    }
  }
}
