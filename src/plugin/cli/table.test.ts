import { expect, test } from "bun:test";
import { humanBytes, renderTable } from "./table.ts";

test("humanBytes rounds in binary units", () => {
  expect([0, 512, 4608, 1048576, 1170321131, 20 * 1024 ** 4].map(humanBytes)).toEqual(["0 B", "512 B", "4.5 KiB", "1.0 MiB", "1.1 GiB", "20 TiB"]);
});

test("tables align columns, show byte counts for people and missing values as -", () => {
  const rows = [
    { id: "a1", size_bytes: 1170321131, tags: { env: "prod" } },
    { id: "b22", size_bytes: null, tags: {} },
  ];
  expect(renderTable(rows, ["id", "size_bytes", "tags"])).toBe(["ID   SIZE     TAGS", "a1   1.1 GiB  env=prod", "b22  -        -"].join("\n"));
});

test("a column can be shown under its own header", () => {
  const rows = [{ allocated_bytes: 4608, size_bytes: 1170321131 }];
  const columns = [{ key: "allocated_bytes", header: "disk" }, { key: "size_bytes", header: "apparent" }];
  expect(renderTable(rows, columns)).toBe(["DISK     APPARENT", "4.5 KiB  1.1 GiB"].join("\n"));
});
