// Our own glue for lz4-wasm's LZ4 *block* compressor (lz4_flex compiled to WASM; lz4-block.ts decodes). The
// published package cannot run in Bun: its glue does `import * as wasm from "./lz4_wasm_bg.wasm"`, which Bun
// does not instantiate (bun-runtime-notes.md §4). We embed the .wasm with `type: "file"` (so a
// `bun build --compile` binary carries it; no __dirname reads, §5) and instantiate it ourselves, once per
// thread. The calling convention mirrors the package's generated `lz4_wasm_bg.js`.
import wasmPath from "lz4-wasm/lz4_wasm_bg.wasm" with { type: "file" };

interface Lz4WasmExports {
  memory: WebAssembly.Memory;
  /** Writes [ptr, len] of the result at `retptr`. Output = 4-byte LE uncompressed size + LZ4 block. */
  compress(retptr: number, ptr: number, len: number): void;
  __wbindgen_add_to_stack_pointer(delta: number): number;
  __wbindgen_malloc(size: number): number;
  __wbindgen_free(ptr: number, size: number): void;
}

/** Size of lz4-wasm's own header in front of each block: the uncompressed length, u32 little-endian. */
export const LZ4_WASM_SIZE_PREFIX = 4;

let instance: Lz4WasmExports | undefined;

/** Instantiates the embedded module for this thread (a few ms, once); compressBlock needs it loaded. */
export async function loadLz4Wasm(): Promise<void> {
  if (instance) return;
  // The package's own .d.ts types this import as the module's exports; with `type: "file"` it is a path.
  const bytes = await Bun.file(wasmPath as unknown as string).arrayBuffer();
  const imports = {
    // The module's only import builds error strings for `decompress`, which we do not call.
    "./lz4_wasm_bg.js": { __wbindgen_string_new: () => 0 },
  };
  const { instance: wasm } = await WebAssembly.instantiate(bytes, imports);
  instance = wasm.exports as unknown as Lz4WasmExports;
}

function loaded(): Lz4WasmExports {
  if (!instance) throw new Error("lz4-wasm is not loaded: await loadLz4Wasm() first");
  return instance;
}

/**
 * Compresses `input` into one LZ4 block and hands [4-byte LE uncompressed size + block] to `use`. The view
 * points into WASM memory and is valid only during `use`, so callers copy it once to where it must go.
 */
export function compressBlock<T>(input: Uint8Array, use: (prefixedBlock: Uint8Array) => T): T {
  const wasm = loaded();
  const retptr = wasm.__wbindgen_add_to_stack_pointer(-16);
  try {
    const inPtr = wasm.__wbindgen_malloc(input.length);
    new Uint8Array(wasm.memory.buffer).set(input, inPtr);
    wasm.compress(retptr, inPtr, input.length); // takes ownership of (and frees) the input allocation
    const [outPtr = 0, outLen = 0] = new Int32Array(wasm.memory.buffer, retptr, 2);
    try {
      return use(new Uint8Array(wasm.memory.buffer, outPtr, outLen));
    } finally {
      wasm.__wbindgen_free(outPtr, outLen);
    }
  } finally {
    wasm.__wbindgen_add_to_stack_pointer(16);
  }
}
