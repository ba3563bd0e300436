// Quoting for the POSIX shell lines hv builds: guest-agent scripts and QEMU's `exec:` migration helpers.

/** Single-quotes a word for POSIX sh: nothing inside single quotes is special except the quote itself. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}
