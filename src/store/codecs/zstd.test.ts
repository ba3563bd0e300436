import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { collect, pieces } from "../../../test/streams.ts";
import { compressZstd, decompressZstd } from "./zstd.ts";

const dir = mkdtempSync(join(tmpdir(), "zstd-codec-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function zstdCli(command: string, input: Uint8Array): Uint8Array {
  writeFileSync(join(dir, "in"), input);
  const run = Bun.spawnSync(["sh", "-c", `${command} < '${join(dir, "in")}'`]);
  expect(run.exitCode, run.stderr.toString()).toBe(0);
  return run.stdout;
}

const text = new TextEncoder().encode("guest memory page with some text 0123456789\n".repeat(200_000));
const data = Buffer.concat([text, new Uint8Array(3 << 20), crypto.getRandomValues(new Uint8Array(1 << 16)), text]);

describe("zstd codec", () => {
  test("one frame per chunk; `zstd -d` reads the concatenation and so do we", async () => {
    const out = await collect(compressZstd(pieces(data, 1 << 20), 3));
    expect(out.length).toBeLessThan(data.length / 10);
    expect(Buffer.compare(zstdCli("zstd -d -c", out), data)).toBe(0);
    expect(Buffer.compare(await collect(decompressZstd(pieces(out, 100_000))), data)).toBe(0);
  });

  test("reads files made by the CLI: one big frame, frames without a content size, several frames", async () => {
    const single = zstdCli("zstd -1 -T1 -c", data);
    const piped = zstdCli("cat | zstd -19 -c", data.subarray(0, 1 << 20)); // no content size in the header
    const two = Buffer.concat([zstdCli("zstd -3 -c", data.subarray(0, 5000)), zstdCli("zstd -1 -c", data.subarray(5000))]);
    expect(Buffer.compare(await collect(decompressZstd(pieces(single, 4 << 20))), data)).toBe(0);
    expect(Buffer.compare(await collect(decompressZstd(pieces(piped, 777))), data.subarray(0, 1 << 20))).toBe(0);
    expect(Buffer.compare(await collect(decompressZstd(pieces(two, 1 << 20))), data)).toBe(0);
  });

  test("an empty input compresses to a valid frame", async () => {
    const out = await collect(compressZstd(pieces(new Uint8Array(0), 1), 1));
    expect(out.length).toBeGreaterThan(0);
    expect(zstdCli("zstd -d -c", out).length).toBe(0);
  });

  test("truncated or foreign input is an error", async () => {
    const out = await collect(compressZstd(pieces(data, 1 << 20), 1));
    await expect(collect(decompressZstd(pieces(out.subarray(0, out.length - 100), 1 << 20)))).rejects.toThrow();
    await expect(collect(decompressZstd(pieces(text.subarray(0, 4096), 1024)))).rejects.toThrow();
  });

  test("a consumer that stops early releases the decoder and the source", async () => {
    const out = zstdCli("zstd -1 -c", new Uint8Array(64 << 20)); // expands ~10000x: the decoder must not run ahead
    let sourceClosed = false;
    async function* source() {
      try {
        yield* pieces(out, 1024);
      } finally {
        sourceClosed = true;
      }
    }
    for await (const piece of decompressZstd(source())) {
      expect(piece.length).toBeGreaterThan(0);
      break;
    }
    expect(sourceClosed).toBe(true);
  });
});
