// Generations of an image. Instance and snapshot records name an image's files by absolute path, and snapshot
// manifests by their content hash, so a rebuilt default image never replaces files in place: the build is copied
// into a dir of its own (<data>/images/default@<hash>/) and becomes `default`, and the files it replaces stay
// registered as `default@<their hash>`, listed and never removed. An instance booted from an older generation
// boots the current one at its next cold start (start.ts); a restore keeps the files it was captured with.
import { dirname } from "node:path";
import type { VmConfig } from "../../hv/hypervisor.ts";
import { writeImageRecord } from "../../store/payload/image-record.ts";
import type { ImagesRepo } from "../../store/images-repo.ts";
import type { ImageRow } from "../../store/schema.ts";

// What these functions use of the core context, named here: the manifest jobs (through the context) use
// generationBooting, so importing the context type would close an import circle.
interface Images {
  images: ImagesRepo;
}
interface ImagesAndHashes extends Images {
  manifests: { imageHash(image: ImageRow): Promise<string> };
}

/** Enough of the content hash to tell builds apart in a name; also the generation's dir name. */
const HASH_DIGITS = 12;

export function generationName(image: string, contentHash: string): string {
  return `${image}@${contentHash.slice(0, HASH_DIGITS)}`;
}

/**
 * `current` (whose contents hash to `contentHash`) becomes an older generation: its row and its dir's record are
 * named `<image>@<hash>`. Its files stay where they are. Run again after a crash, it changes nothing.
 */
export async function retireGeneration(ctx: Images, current: ImageRow, contentHash: string): Promise<void> {
  const retired = { ...current, name: generationName(current.name, contentHash) };
  await writeImageRecord(dirname(retired.kernel), retired);
  ctx.images.upsert(retired);
}

/** An older generation of `image` (its build came back) becomes `image` again, in its own dir. */
export async function reinstateGeneration(ctx: Images, older: ImageRow, image: string): Promise<void> {
  const current = { ...older, name: image };
  await writeImageRecord(dirname(current.kernel), current);
  ctx.images.rename(older.name, current);
}

/** What looks images up: the repo, or anything with its two reads. */
export type ImageLookup = Pick<ImagesRepo, "get" | "list">;

/** The generation of `image` whose kernel and initrd `config` (a VM record's) boots; `image` as registered now when none does. */
export function generationBooting(images: ImageLookup, image: string, config: BootFiles): ImageRow | undefined {
  const current = images.get(image);
  if (!current || bootsFilesOf(config, current)) return current;
  return images.list().find((row) => row.name.startsWith(`${image}@`) && bootsFilesOf(config, row)) ?? current;
}

/** The current generation of `image` when `config` boots an older one of it, else undefined. */
export function newerGeneration(ctx: Images, image: string, config: BootFiles): ImageRow | undefined {
  const booted = generationBooting(ctx.images, image, config);
  return booted && booted.name !== image ? ctx.images.get(image) : undefined;
}

/** The generation of `image` (current or older) whose contents hash to `contentHash`, if this host has it. */
export async function generationWithContent(ctx: ImagesAndHashes, image: string, contentHash: string): Promise<ImageRow | undefined> {
  for (const row of [ctx.images.get(image), ctx.images.get(generationName(image, contentHash))]) {
    if (row && (await ctx.manifests.imageHash(row)) === contentHash) return row;
  }
  return undefined;
}

interface BootFiles {
  kernel?: unknown;
  initrd?: unknown;
}

function bootsFilesOf(config: BootFiles, image: ImageRow): boolean {
  return config.kernel === image.kernel && (config.initrd ?? null) === image.initrd;
}

/** `config` booting `image`'s kernel, initrd and command line; its own disks and hardware are kept. */
export function bootingGeneration(config: VmConfig, image: ImageRow): VmConfig {
  const { initrd: _older, ...rest } = config;
  return { ...rest, kernel: image.kernel, ...(image.initrd ? { initrd: image.initrd } : {}), cmdline: image.cmdline };
}
