// The image record, `image.json` in <data>/images/<name>/: what the image row says about the files beside it
// (names relative to the dir, so a moved data dir still works), so a lost index gets its images back too.
import { basename, join } from "node:path";
import { z } from "zod";
import type { ImageRow } from "../schema.ts";
import { IMAGE_RECORD } from "./layout.ts";
import { formatVersionOf, readRecord, writeRecord } from "./record-file.ts";

const FileName = z.string().regex(/^[^/]+$/, "a file name in the image dir");

const ImageRecordFile = z
  .object({
    format_version: z.number().int().positive().optional(),
    name: z.string(),
    kernel: FileName,
    initrd: FileName.nullable(),
    rootfs: FileName.nullable(),
    cmdline: z.string(),
    createdAt: z.iso.datetime(),
  })
  .transform(({ format_version, createdAt, ...rest }) => ({ ...rest, formatVersion: formatVersionOf(format_version), createdAt: new Date(createdAt) }));

/** Written into the image dir (or the staging dir that becomes it) before the row commits. */
export async function writeImageRecord(imageDir: string, row: ImageRow): Promise<void> {
  const name = (path: string | null) => (path === null ? null : basename(path));
  await writeRecord(join(imageDir, IMAGE_RECORD), { ...row, kernel: name(row.kernel), initrd: name(row.initrd), rootfs: name(row.rootfs), createdAt: row.createdAt.toISOString() });
}

/** The row the record of `imageDir` describes, its files named by their paths in that dir. */
export async function readImageRecord(imageDir: string): Promise<ImageRow> {
  const { formatVersion: _version, ...record } = await readRecord(join(imageDir, IMAGE_RECORD), ImageRecordFile, "image record");
  const path = (file: string | null) => (file === null ? null : join(imageDir, file));
  return { ...record, kernel: join(imageDir, record.kernel), initrd: path(record.initrd), rootfs: path(record.rootfs) };
}
