// TEMPORARY placeholder until the codecs land (lead's scaffold, to be replaced).
export const CODECS = { zstd: { extension: ".zst" }, lz4: { extension: ".lz4" } } as const;
