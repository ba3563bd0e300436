import { expect, test } from "bun:test";
import { z } from "@hono/zod-openapi";
import { validationMessage } from "./validation-message.ts";

const Body = z.strictObject({
  name: z.string(),
  retention: z.strictObject({ max_count: z.number().int().optional() }).optional(),
});

const messageFor = (input: unknown) => {
  const result = Body.safeParse(input);
  if (result.success) throw new Error("expected a failure");
  return validationMessage(result.error.issues);
};

test("an unknown field is named, even when it makes a required one look missing", () => {
  expect(messageFor({ nmae: "x" })).toBe('unknown field "nmae"');
  expect(messageFor({ name: "x", target_sate: "Running", extra: 1 })).toBe('unknown fields "target_sate", "extra"');
  expect(messageFor({ name: "x", retention: { maxcount: 3 } })).toBe('unknown field "retention.maxcount"');
});

test("other issues name the field they are about", () => {
  expect(messageFor({ name: 3 })).toStartWith("name: ");
  expect(messageFor({ name: "x", retention: { max_count: 1.5 } })).toStartWith("retention.max_count: ");
});
