import { expect, test } from "bun:test";
import { LZ4_WASM_SIZE_PREFIX, compressBlock, loadLz4Wasm } from "./lz4-wasm-loader.ts";
import { decodeLz4Block } from "./lz4-block.ts";

test("compresses a block behind lz4-wasm's 4-byte size prefix, and frees what it allocates", async () => {
  await loadLz4Wasm();
  const data = new TextEncoder().encode("0123456789abcdef".repeat(65536)); // 1 MiB
  for (let i = 0; i < 200; i++) {
    // 200 MiB through the module: its memory would have to grow past that if inputs or outputs leaked.
    compressBlock(data, (prefixed) => {
      expect(new DataView(prefixed.buffer, prefixed.byteOffset).getUint32(0, true)).toBe(data.length);
      const out = new Uint8Array(data.length);
      expect(decodeLz4Block(prefixed.subarray(LZ4_WASM_SIZE_PREFIX), out, 0, out.length, 0)).toBe(data.length);
      expect(Buffer.compare(out, data)).toBe(0);
      expect(prefixed.buffer.byteLength).toBeLessThan(64 << 20);
    });
  }
});
