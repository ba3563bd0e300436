// A VM-memory-like test and benchmark input (the mix measured in bun-runtime-notes.md §4): 4 KiB pages in runs
// of 1-32 pages, about 61% zero pages, 30% text-like pages (Zipf-ish words, numbers, newlines) and 9% random
// pages. Written in chunks, never whole in memory. Seeded, so a size always gives the same bytes.
import { open } from "node:fs/promises";

const PAGE = 4096;
const MAX_RUN_PAGES = 32;
const WRITE_CHUNK_BYTES = 4 << 20;
const ZERO_SHARE = 0.61;
const TEXT_SHARE = 0.3;

/** xorshift32: fast and reproducible (Math.random cannot be seeded). */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

function vocabulary(random: () => number): Uint8Array[] {
  const letters = "etaoinshrdlcumwfgypbvkjxqz";
  const words: Uint8Array[] = [];
  for (let i = 0; i < 2000; i++) {
    const len = 2 + Math.floor(random() * 9);
    let w = "";
    for (let j = 0; j < len; j++) w += letters[Math.floor(random() * random() * letters.length)];
    words.push(new TextEncoder().encode(i % 7 === 0 ? `${w}=${Math.floor(random() * 100000)}` : w));
  }
  return words;
}

function fillText(page: Uint8Array, words: Uint8Array[], random: () => number): void {
  let at = 0;
  while (at < page.length) {
    const word = words[Math.floor(words.length * random() ** 3)]!; // cubic skew: a few words dominate
    const n = Math.min(word.length, page.length - at);
    for (let i = 0; i < n; i++) page[at + i] = word[i]!;
    at += n;
    if (at < page.length) page[at++] = random() < 0.08 ? 0x0a : 0x20;
  }
}

function fillRandom(page: Uint8Array, random: () => number): void {
  const words = new Uint32Array(page.buffer, page.byteOffset, page.length / 4);
  for (let i = 0; i < words.length; i++) words[i] = (random() * 0x1_0000_0000) >>> 0;
}

/** Writes `bytes` (a multiple of 4 KiB) of VM-like memory to `path`. */
export async function writeSyntheticMemory(path: string, bytes: number, seed = 1): Promise<void> {
  if (bytes % PAGE !== 0) throw new Error(`size ${bytes} is not a multiple of ${PAGE}`);
  const random = prng(seed);
  const words = vocabulary(random);
  const file = await open(path, "w");
  try {
    const chunk = new Uint8Array(WRITE_CHUNK_BYTES);
    let pagesLeft = bytes / PAGE;
    let runLeft = 0;
    let kind = 0;
    while (pagesLeft > 0) {
      const pages = Math.min(pagesLeft, WRITE_CHUNK_BYTES / PAGE);
      chunk.fill(0, 0, pages * PAGE);
      for (let p = 0; p < pages; p++) {
        if (runLeft === 0) {
          runLeft = 1 + Math.floor(random() * MAX_RUN_PAGES);
          const r = random();
          kind = r < ZERO_SHARE ? 0 : r < ZERO_SHARE + TEXT_SHARE ? 1 : 2;
        }
        runLeft--;
        const page = chunk.subarray(p * PAGE, (p + 1) * PAGE);
        if (kind === 1) fillText(page, words, random);
        else if (kind === 2) fillRandom(page, random);
      }
      await file.write(chunk, 0, pages * PAGE);
      pagesLeft -= pages;
    }
  } finally {
    await file.close();
  }
}
