// Stream helpers for codec tests.

/** Feeds `data` in pieces of `size` bytes, each copied into one reused buffer (as file-codec's reader does). */
export async function* pieces(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  const reused = new Uint8Array(size);
  for (let at = 0; at < data.length; at += size) {
    const n = Math.min(size, data.length - at);
    reused.set(data.subarray(at, at + n));
    yield reused.subarray(0, n);
  }
}

/** Everything a stream yields, copied as it comes (pieces may be reused buffers). */
export async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of stream) parts.push(part.slice());
  return Buffer.concat(parts);
}
