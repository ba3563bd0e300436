// An "older build" of the default guest image for tests of image generations: today's build with files added to
// (or replaced in) its initramfs by a second archive appended to initrd.img, which the kernel unpacks over the
// first. A marker file tells from inside the guest which generation it booted.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GUEST_DIR } from "../harness.ts";

/** Where the guest sees which build it booted: present only in older builds made here. */
export const GENERATION_MARKER = "/etc/image-generation";

/** Writes the build into `dir`: `files` (initramfs paths without the leading slash → content, mode) on top of today's. */
export function writeOlderBuild(dir: string, files: Record<string, { content: string; mode: number }>): string {
  mkdirSync(dir, { recursive: true });
  for (const name of ["vmlinuz", "rootfs.ext4", "manifest.json"]) copyFileSync(join(GUEST_DIR, name), join(dir, name));
  const appended = Bun.gzipSync(newcArchive(files));
  writeFileSync(join(dir, "initrd.img"), Buffer.concat([readFileSync(join(GUEST_DIR, "initrd.img")), appended]));
  return dir;
}

/** A cpio archive in the kernel's initramfs format (newc): regular files only, then the trailer. */
function newcArchive(files: Record<string, { content: string; mode: number }>): Uint8Array<ArrayBuffer> {
  const parts: Buffer[] = [];
  const pad = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  const entry = (name: string, mode: number, data: Buffer) => {
    const fields = [1, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, Buffer.byteLength(name) + 1, 0];
    const header = Buffer.from(`070701${fields.map((f) => f.toString(16).padStart(8, "0")).join("")}${name}\0`);
    parts.push(header, pad(header.length), data, pad(data.length));
  };
  for (const [name, { content, mode }] of Object.entries(files)) entry(name, 0o100000 | mode, Buffer.from(content));
  entry("TRAILER!!!", 0, Buffer.alloc(0));
  return new Uint8Array(Buffer.concat(parts));
}
