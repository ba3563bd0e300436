// TEMPORARY placeholder until the codecs land (lead's scaffold, to be replaced).
export async function runCodec(opts: {
  op: "compress" | "decompress";
  algorithm: "zstd" | "lz4";
  level?: number;
  src: string;
  dst: string;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}): Promise<{ bytesIn: number; bytesOut: number; ms: number }> {
  const input = new Uint8Array(await Bun.file(opts.src).arrayBuffer());
  const out = opts.op === "compress" ? Bun.zstdCompressSync(input, { level: opts.level ?? 1 }) : Bun.zstdDecompressSync(input);
  await Bun.write(opts.dst, out);
  return { bytesIn: input.length, bytesOut: out.length, ms: 0 };
}
