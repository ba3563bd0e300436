import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { receiveStream } from "./stream-receiver.ts";

const dir = mkdtempSync(join(tmpdir(), "receiver-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const dial = (uri: string) =>
  new Promise<Socket>((resolve, reject) => {
    const socket = connect(uri.slice("unix:".length));
    socket.on("connect", () => resolve(socket)).on("error", reject);
  });

describe("receiveStream", () => {
  test("the bytes of one connection, in order, land under the name once the sender closes", async () => {
    const path = join(dir, "state");
    const receiver = (await receiveStream(path))!;
    const sender = await dial(receiver.uri);
    const parts = Array.from({ length: 50 }, (_, i) => Buffer.alloc(8191, i));
    for (const part of parts) sender.write(part);
    // Not renamed while the sender is still connected.
    await Bun.sleep(20);
    expect(existsSync(path)).toBe(false);
    sender.end();
    await receiver.done;
    await receiver.close();
    expect(readFileSync(path)).toEqual(Buffer.concat(parts));
    expect(existsSync(`${path}.partial`) || existsSync(`${path}.sock`)).toBe(false);
  });

  test("a second connection is ended unheard", async () => {
    const path = join(dir, "two");
    const receiver = (await receiveStream(path))!;
    const first = await dial(receiver.uri);
    const second = await dial(receiver.uri);
    second.write("intruder");
    const ended = new Promise((resolve) => second.on("close", resolve));
    await ended;
    first.end("mine");
    await receiver.done;
    await receiver.close();
    expect(readFileSync(path, "utf8")).toBe("mine");
  });

  test("closed before the sender finished: no file, no partial, no socket", async () => {
    const path = join(dir, "cut");
    const receiver = (await receiveStream(path))!;
    const sender = await dial(receiver.uri);
    sender.write("half");
    await Bun.sleep(10);
    await receiver.close();
    sender.destroy();
    expect(existsSync(path) || existsSync(`${path}.partial`) || existsSync(`${path}.sock`)).toBe(false);
  });

  test("a socket path longer than sun_path allows is refused with null", async () => {
    expect(await receiveStream(join(dir, "x".repeat(120)))).toBeNull();
  });
});
