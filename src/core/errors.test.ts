import { describe, expect, test } from "bun:test";
import { DomainError, inStep, isNoSpace } from "./errors.ts";

const errno = (code: string, message: string) => Object.assign(new Error(message), { code });

describe("what counts as a full disk", () => {
  test("ENOSPC, EDQUOT and EFBIG by code or message, however deep in the cause chain", () => {
    expect(isNoSpace(errno("ENOSPC", "write failed"))).toBe(true);
    expect(isNoSpace(errno("EDQUOT", "quota"))).toBe(true);
    expect(isNoSpace(new Error("ENOSPC: no space left on device, write"))).toBe(true);
    expect(isNoSpace(inStep("copy guest dir for snapshot", errno("ENOSPC", "x")))).toBe(true);
    expect(isNoSpace(new DomainError("internal", "outer", undefined, { cause: inStep("inner", new Error("File too large")) }))).toBe(true);
  });

  test("QEMU's exec: migration writer that lost its pipe (its cat hit the full disk)", () => {
    expect(isNoSpace(new Error("snapshot VM: snapshot: migrate: Unable to write to command: Broken pipe"))).toBe(true);
  });

  test("other failures are not", () => {
    expect(isNoSpace(errno("EACCES", "permission denied"))).toBe(false);
    expect(isNoSpace(new Error("migrate: Cannot allocate memory"))).toBe(false);
    expect(isNoSpace(undefined)).toBe(false);
    expect(isNoSpace("ENOSPC")).toBe(false);
  });

  test("a cause chain that loops ends", () => {
    const a = new Error("a") as Error & { cause?: unknown };
    a.cause = a;
    expect(isNoSpace(a)).toBe(false);
  });
});

describe("inStep", () => {
  test("a full disk anywhere below is 507 insufficient_storage, naming the step", () => {
    const err = inStep("compress memory", inStep("write", Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" })));
    expect(err.kind).toBe("insufficient_storage");
    expect(err.message).toStartWith("compress memory: write: ENOSPC");
  });

  test("other failures keep their kind", () => {
    expect(inStep("copy", new Error("EACCES")).kind).toBe("internal");
  });
});
