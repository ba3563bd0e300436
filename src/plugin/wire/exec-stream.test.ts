// The NDJSON stream of /exec/stream: events in order, multi-byte characters split across chunks arrive whole, and a
// client that does not read costs at most the limit: the rest is dropped and flagged.
import { expect, test } from "bun:test";
import { ExecStreamOutput } from "./exec-stream.ts";

async function events(output: ExecStreamOutput): Promise<Record<string, unknown>[]> {
  const text = await new Response(output.readable).text();
  return text.trim().split("\n").map((line) => JSON.parse(line));
}

test("output, then the exit, one JSON object per line; a character split across chunks is whole", async () => {
  const output = new ExecStreamOutput(1024);
  const euro = new TextEncoder().encode("€");
  output.write("stdout", new TextEncoder().encode("a\n"));
  output.write("stderr", euro.subarray(0, 1));
  output.write("stderr", euro.subarray(1));
  output.exit(3);
  expect(await events(output)).toEqual([
    { type: "stdout", data: "a\n" },
    { type: "stderr", data: "€" },
    { type: "exit", exit_code: 3, stdout_truncated: false, stderr_truncated: false },
  ]);
});

test("a client that does not read holds at most the limit; what did not fit is flagged", async () => {
  const output = new ExecStreamOutput(1000);
  for (let i = 0; i < 1000; i++) output.write("stdout", new Uint8Array(100).fill(0x61));
  output.exit(0);
  const all = await events(output);
  const kept = all.filter((e) => e.type === "stdout").reduce((n, e) => n + String(e.data).length, 0);
  expect(kept).toBeLessThanOrEqual(1000);
  expect(all.at(-1)).toEqual({ type: "exit", exit_code: 0, stdout_truncated: true, stderr_truncated: false });
});

test("a failure after the stream started is its last line", async () => {
  const output = new ExecStreamOutput(1024);
  output.fail({ code: "invalid_state", message: "interrupted" });
  expect(await events(output)).toEqual([{ type: "error", code: "invalid_state", message: "interrupted" }]);
});
