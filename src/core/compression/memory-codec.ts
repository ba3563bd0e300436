// One memory file through a codec: compressed next to the raw file and committed before the raw file goes, or
// decompressed back to the raw name. Either way a crash leaves at least one complete form of the memory.
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { commitFile } from "../../fs/atomic.ts";
import { CODEC_NAMES } from "../../store/codecs/codec-table.ts";
import { runCodec } from "../../store/codecs/codec-runner.ts";
import type { CodecResult } from "../../store/codecs/file-codec.ts";
import { compressedPath, inFlightPath, storedMemoryForm } from "../../store/payload/memory-forms.ts";
import type { EnabledCompression } from "../../store/schema.ts";

/** Replaces the raw file `raw` by its compressed form. Aborting `signal` keeps the raw file. */
export async function compressMemory(
  raw: string,
  policy: EnabledCompression,
  opts: { signal: AbortSignal; onProgress: (done: number, total: number) => void },
): Promise<CodecResult> {
  await removeCompressedForms(raw);
  const out = compressedPath(raw, policy.algorithm);
  const tmp = inFlightPath(out);
  try {
    const result = await runCodec({ op: "compress", algorithm: policy.algorithm, level: policy.level, src: raw, dst: tmp, ...opts });
    await commitFile(tmp, out);
    await rm(raw);
    return result;
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Leaves only the raw `memoryFile` in `dir`: an existing raw file is kept and compressed siblings removed;
 * otherwise the compressed form is decompressed to the raw name.
 */
export async function makeMemoryRaw(dir: string, memoryFile: string): Promise<void> {
  const raw = join(dir, memoryFile);
  const form = storedMemoryForm(dir, memoryFile);
  if (!form) throw new Error(`no memory file ${raw} in any form`);
  if (form.kind === "compressed") {
    const tmp = inFlightPath(raw);
    try {
      await runCodec({ op: "decompress", algorithm: form.codec, src: compressedPath(raw, form.codec), dst: tmp });
      await commitFile(tmp, raw);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }
  await removeCompressedForms(raw);
}

async function removeCompressedForms(raw: string): Promise<void> {
  for (const a of CODEC_NAMES) {
    await rm(compressedPath(raw, a), { force: true });
    await rm(inFlightPath(compressedPath(raw, a)), { force: true });
  }
}
