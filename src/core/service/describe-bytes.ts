// Byte counts in messages: exact, for scripts, with a rounded binary-unit figure for people.

/** e.g.: "268435456 bytes (256.0 MiB)". */
export function describeBytes(bytes: number): string {
  const units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
  let value = bytes;
  let unit = "";
  for (const u of units) {
    if (value < 1024) break;
    value /= 1024;
    unit = u;
  }
  return unit ? `${bytes} bytes (${value.toFixed(1)} ${unit})` : `${bytes} bytes`;
}
