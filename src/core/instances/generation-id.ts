// VM generation ids: a random (version 4) GUID per VM identity. A fork gets a new one, so a guest kernel with
// vmgenid support sees the change at resume and reseeds its RNG instead of repeating its source's random numbers.
export function generationIdFrom(bytes: Uint8Array): string {
  if (bytes.length < 16) throw new Error("a generation id needs 16 random bytes");
  const b = Uint8Array.from(bytes.subarray(0, 16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
