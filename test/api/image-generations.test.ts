// A rebuilt default image becomes a new generation of `default` at start-up: the files registered before stay
// where they are, listed as `default@<hash>`, and survive every later start (a lost index included). Placeholder
// builds: nothing here boots them.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { bootingGeneration, newerGeneration } from "../../src/core/images/generations.ts";
import { readVmConfig } from "../../src/core/instances/vm-config.ts";
import { imageContentHash } from "../../src/store/payload/manifest.ts";
import { startService, type TestService } from "../harness.ts";

const CMDLINE = "console=ttyS0 quiet panic=-1";
let root: string;
let dataDir: string;
const services: TestService[] = [];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "sv-gen-"));
  dataDir = join(root, "data");
});
afterEach(async () => {
  for (const svc of services.splice(0)) await svc.close();
  rmSync(root, { recursive: true, force: true });
});

/** A build output as scripts/build-guest leaves it; builds differ by their initrd. */
function build(name: string, initrd: string): { dir: string; hash: Promise<string> } {
  const dir = join(root, `build-${name}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "vmlinuz"), "not a kernel");
  writeFileSync(join(dir, "initrd.img"), initrd);
  writeFileSync(join(dir, "rootfs.ext4"), "");
  truncateSync(join(dir, "rootfs.ext4"), 4 * 1024 * 1024);
  writeFileSync(join(dir, "manifest.json"), JSON.stringify({ cmdline: CMDLINE }));
  const files = { kernel: join(dir, "vmlinuz"), initrd: join(dir, "initrd.img"), rootfs: join(dir, "rootfs.ext4"), cmdline: CMDLINE };
  return { dir, hash: imageContentHash(files) };
}

/** Starts the service on a data dir (the test's) with `buildDir` as its default image; stops it when asked or after the test. */
async function serve(buildDir: string, dir = dataDir): Promise<TestService> {
  const svc = await startService({ dataDir: dir, guestImageDir: buildDir });
  services.push(svc);
  return svc;
}

async function restart(svc: TestService, buildDir: string): Promise<TestService> {
  services.splice(services.indexOf(svc), 1);
  await svc.close();
  return serve(buildDir, svc.dataDir);
}

async function images(svc: TestService): Promise<{ name: string; kernel: string; initrd: string; created_at: string }[]> {
  const res = await svc.call("GET", "/images");
  expect(res.status).toBe(200);
  return res.body;
}

const short = async (hash: Promise<string>) => (await hash).slice(0, 12);

describe("default image generations", () => {
  test("a build with the same contents registers nothing new", async () => {
    const a = build("a", "initrd A");
    let svc = await serve(a.dir);
    const first = await images(svc);
    expect(first.map((i) => i.name)).toEqual(["default"]);
    svc = await restart(svc, a.dir);
    expect(await images(svc)).toEqual(first);
  });

  test("the file hashes build-guest records are what start-up compares; a manifest whose sizes disagree is not trusted", async () => {
    const a = build("a", "initrd A");
    let svc = await serve(a.dir);
    const first = await images(svc);
    // The same files with their hashes recorded, as scripts/build-guest writes them: the same content, nothing new.
    const recorded = (file: string, bytes?: number) => {
      const data = readFileSync(join(a.dir, file));
      return { sha256: new Bun.CryptoHasher("sha256").update(data).digest("hex"), bytes: bytes ?? data.length };
    };
    const files = { vmlinuz: recorded("vmlinuz"), "initrd.img": recorded("initrd.img"), "rootfs.ext4": recorded("rootfs.ext4") };
    writeFileSync(join(a.dir, "manifest.json"), JSON.stringify({ cmdline: CMDLINE, files }));
    svc = await restart(svc, a.dir);
    expect(await images(svc)).toEqual(first);
    // A stale manifest (recorded hash of other contents, size not the file's): the files are hashed, so still nothing new.
    const stale = { ...files, "initrd.img": { sha256: "0".repeat(64), bytes: 1 } };
    writeFileSync(join(a.dir, "manifest.json"), JSON.stringify({ cmdline: CMDLINE, files: stale }));
    svc = await restart(svc, a.dir);
    expect(await images(svc)).toEqual(first);
  });

  test("a build with other contents becomes `default`; the one before stays listed as default@<hash>, its files untouched", async () => {
    const [a, b] = [build("a", "initrd A"), build("b", "initrd B")];
    let svc = await serve(a.dir);
    const [before] = await images(svc);
    svc = await restart(svc, b.dir);
    const after = await images(svc);
    const older = `default@${await short(a.hash)}`;
    expect(after.map((i) => i.name)).toEqual(["default", older]);
    const [current, previous] = after;
    expect(previous).toMatchObject({ kernel: before!.kernel, initrd: before!.initrd, created_at: before!.created_at });
    expect(readFileSync(previous!.initrd, "utf8")).toBe("initrd A");
    expect(dirname(current!.initrd)).toBe(join(dataDir, "images", `default@${await short(b.hash)}`));
    expect(readFileSync(current!.initrd, "utf8")).toBe("initrd B");
    expect((await svc.call("GET", `/images/${encodeURIComponent(older)}`)).body.initrd).toBe(before!.initrd);

    // Later starts on the same build change nothing, and never remove the older generation.
    svc = await restart(svc, b.dir);
    expect(await images(svc)).toEqual(after);
    expect(readFileSync(previous!.initrd, "utf8")).toBe("initrd A");
  });

  test("a build that comes back makes its older generation `default` again, without a copy", async () => {
    const [a, b] = [build("a", "initrd A"), build("b", "initrd B")];
    let svc = await serve(a.dir);
    const [first] = await images(svc);
    svc = await restart(svc, b.dir);
    const [second] = await images(svc);
    svc = await restart(svc, a.dir);
    const back = await images(svc);
    expect(back.map((i) => i.name)).toEqual(["default", `default@${await short(b.hash)}`]);
    expect(back[0]).toMatchObject({ kernel: first!.kernel, initrd: first!.initrd });
    expect(back[1]).toMatchObject({ kernel: second!.kernel, initrd: second!.initrd });
    svc = await restart(svc, b.dir);
    expect((await images(svc)).map((i) => [i.name, i.initrd])).toEqual([
      ["default", second!.initrd],
      [`default@${await short(a.hash)}`, first!.initrd],
    ]);
  });

  test("a lost index gets every generation back from the image records; nothing is quarantined", async () => {
    const [a, b] = [build("a", "initrd A"), build("b", "initrd B")];
    let svc = await serve(a.dir);
    svc = await restart(svc, b.dir);
    const listed = await images(svc);
    services.splice(services.indexOf(svc), 1);
    await svc.close();
    for (const suffix of ["", "-wal", "-shm"]) rmSync(join(dataDir, `snapvisor.db${suffix}`), { force: true });
    svc = await serve(b.dir);
    expect(await images(svc)).toEqual(listed);
    expect(existsSync(join(dataDir, "quarantine"))).toBe(false);
  });

  test("snapshots of the older generation stay compatible after a rebuild; their manifests hash the generation they boot", async () => {
    const [a, b] = [build("a", "initrd A"), build("b", "initrd B")];
    let svc = await serve(a.dir);
    const created = await svc.call("POST", "/instances", { name: "on-a", size: "256MB", overlay_size: "16MB", network: { enabled: false } });
    const snapshot = async (name: string) => {
      const res = await svc.call("POST", `/instances/${created.body.id}/snapshots`, { kind: "Stopped", name });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body.id as string;
    };
    const before = await snapshot("before");
    svc = await restart(svc, b.dir);
    const after = await snapshot("after"); // the instance has not booted since: it still boots generation A
    for (const id of [before, after]) {
      expect((await svc.call("GET", `/snapshots/${id}/compatibility`)).body).toEqual({ compatible: true, reasons: [] });
      expect((await svc.sv.core.manifests.ensure(id)).image).toEqual({ name: "default", content_hash: await a.hash });
    }
  });

  test("an exported snapshot of an older generation imports where that generation is registered, onto its files there", async () => {
    const [a, b] = [build("a", "initrd A"), build("b", "initrd B")];
    let svc = await serve(a.dir);
    const created = await svc.call("POST", "/instances", { name: "on-a", size: "256MB", overlay_size: "16MB", network: { enabled: false } });
    svc = await restart(svc, b.dir);
    const snap = await svc.call("POST", `/instances/${created.body.id}/snapshots`, { kind: "Stopped", name: "on-a" });
    const res = await svc.sv.app.request(`/snapshots/${snap.body.id}/export`);
    expect(res.status).toBe(200);
    const archive = new Uint8Array(await res.arrayBuffer());
    const importInto = async (host: TestService) => (await host.sv.app.request("/snapshots/import", { method: "POST", body: archive })).status;

    const onlyB = await serve(b.dir, join(root, "only-b"));
    expect(await importInto(onlyB)).toBe(409); // image_missing: this host never had build A
    let other = await serve(a.dir, join(root, "other"));
    other = await restart(other, b.dir);
    expect(await importInto(other)).toBe(201);
    const older = other.sv.core.images.get(`default@${await short(a.hash)}`)!;
    expect(await readVmConfig(join(other.dataDir, "snapshots", snap.body.id, "guest"))).toMatchObject({ kernel: older.kernel, initrd: older.initrd });
  });

  test("a cold start moves an instance from an older generation to the current one, its disk kept", async () => {
    const [a, b] = [build("a", "initrd A"), build("b", "initrd B")];
    let svc = await serve(a.dir);
    const created = await svc.call("POST", "/instances", { name: "on-a", size: "256MB", overlay_size: "16MB", network: { enabled: false } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const config = await readVmConfig(join(dataDir, "guests", created.body.id));
    expect(newerGeneration(svc.sv.core, "default", config)).toBeUndefined(); // on the current generation

    svc = await restart(svc, b.dir);
    const current = svc.sv.core.images.get("default")!;
    expect(newerGeneration(svc.sv.core, "default", config)).toEqual(current);
    expect(bootingGeneration(config, current)).toEqual({ ...config, kernel: current.kernel, initrd: current.initrd!, cmdline: current.cmdline });
    // Files that are no generation of the image (another image's, a custom kernel) stay as they are.
    expect(newerGeneration(svc.sv.core, "default", { ...config, kernel: "/elsewhere/vmlinuz" })).toBeUndefined();
    expect(newerGeneration(svc.sv.core, "other", config)).toBeUndefined();
  });
});
