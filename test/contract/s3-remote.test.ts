// The S3 behaviour remotes rely on, checked against the local server through Bun's own S3 client, as the S3 API
// reference documents it: PUT then GET returns the bytes; HEAD says whether a key exists and its size; a GET of a
// missing key fails with NoSuchKey; ListObjectsV2 filters by prefix, pages with max-keys + start-after and says
// whether it was cut (IsTruncated); a ranged GET returns exactly the bytes asked, and a range past the end only
// the bytes there are (a pull reads each chunk as the range of its length + 1, so a remote cannot make it hold
// more); a PUT to an existing key replaces it whole. Multipart upload is checked too (5 MiB parts), though chunks (4 MiB) and manifests go up in
// one PUT each. Conditional PUT (If-None-Match) is not used: chunks are named by their content, so writing one
// twice writes the same bytes, and the manifest is written by its one pusher.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { S3Client } from "bun";
import { startLocalS3, type LocalS3, S3RVER_KEYS } from "../s3-server.ts";

let s3: LocalS3;
let client: S3Client;

beforeAll(async () => {
  s3 = await startLocalS3();
  client = new S3Client({ endpoint: s3.endpoint, bucket: s3.bucket, region: "us-east-1", ...S3RVER_KEYS });
});
afterAll(() => s3.stop());

const bytesOf = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

test("PUT then GET returns the bytes; HEAD reports existence and size; a missing key is NoSuchKey", async () => {
  const body = bytesOf(100_000, 1);
  await client.write("c/put-get", body);
  expect(await client.file("c/put-get").bytes()).toEqual(body);
  expect(await client.exists("c/put-get")).toBe(true);
  expect((await client.stat("c/put-get")).size).toBe(100_000);
  expect(await client.exists("c/absent")).toBe(false);
  const missing = await client.file("c/absent").bytes().catch((err: { code?: string }) => err);
  expect((missing as { code?: string }).code).toBe("NoSuchKey");
});

test("a PUT to an existing key replaces the object whole", async () => {
  await client.write("c/replace", bytesOf(5000, 1));
  await client.write("c/replace", bytesOf(300, 2));
  expect(await client.file("c/replace").bytes()).toEqual(bytesOf(300, 2));
});

test("ranged GET returns exactly the requested bytes; a range past the end, the bytes there are", async () => {
  const body = bytesOf(1 << 20, 3);
  await client.write("c/range", body);
  expect(await client.file("c/range").slice(1000, 5000).bytes()).toEqual(body.subarray(1000, 5000));
  expect(await client.file("c/range").slice((1 << 20) - 10).bytes()).toEqual(body.subarray((1 << 20) - 10));
  expect(await client.file("c/range").slice(0, (1 << 20) + 1).bytes()).toEqual(body);
});

test("listing filters by prefix and pages with max-keys and start-after until IsTruncated is false", async () => {
  const keys = Array.from({ length: 7 }, (_, i) => `list/chunks/${String(i).padStart(2, "0")}`);
  for (const key of keys) await client.write(key, key);
  await client.write("list/other", "x");
  const seen: string[] = [];
  let startAfter: string | undefined;
  for (let page = 0; page < 10; page++) {
    const listed = await client.list({ prefix: "list/chunks/", maxKeys: 3, ...(startAfter ? { startAfter } : {}) });
    const got = (listed.contents ?? []).map((o) => o.key);
    expect(got.length).toBeLessThanOrEqual(3);
    seen.push(...got);
    for (const object of listed.contents ?? []) expect(object.size).toBe(object.key.length);
    if (!listed.isTruncated) break;
    startAfter = got.at(-1);
  }
  expect(seen).toEqual(keys);
});

test("multipart upload (5 MiB parts) stores the whole object", async () => {
  const body = bytesOf(11 * 1024 * 1024 + 123, 4);
  const writer = client.file("c/multipart").writer({ partSize: 5 * 1024 * 1024 });
  writer.write(body);
  await writer.end();
  expect((await client.stat("c/multipart")).size).toBe(body.length);
  expect(new Bun.CryptoHasher("sha256").update(await client.file("c/multipart").bytes()).digest("hex")).toBe(
    new Bun.CryptoHasher("sha256").update(body).digest("hex"),
  );
});
