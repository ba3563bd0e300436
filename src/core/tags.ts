// User tags on instances, snapshots and schedules (reference §2.2, `lib/tags`): one validator shared by request
// bodies, list filters and schedule metadata, so every resource accepts exactly the same tags.

export class TagsError extends Error {
  override readonly name = "TagsError";
}

export const MAX_TAG_ENTRIES = 50;
export const MAX_TAG_KEY_CHARS = 128;
export const MAX_TAG_VALUE_CHARS = 256;
const TAG_CHARS = /^[A-Za-z0-9 _.:/=+@-]*$/;

/**
 * Checks `tags` and returns a copy. Keys are checked in sorted order (as the reference does), so the error for a
 * body with several bad keys is always the same one.
 */
export function validateTags(tags: unknown, field = "tags"): Record<string, string> {
  const fail = (reason: string) => new TagsError(`${field}: ${reason}`);
  if (!isPlainObject(tags)) throw fail("must be an object of string values");
  const keys = Object.keys(tags).sort();
  if (keys.length > MAX_TAG_ENTRIES) throw fail(`too many entries: ${keys.length} (max ${MAX_TAG_ENTRIES})`);
  for (const key of keys) {
    const k = JSON.stringify(key);
    // Lengths count characters (code points), like Go's utf8.RuneCountInString.
    const keyLength = [...key].length;
    if (keyLength < 1 || keyLength > MAX_TAG_KEY_CHARS) {
      throw fail(`key ${k} length ${keyLength} out of range [1,${MAX_TAG_KEY_CHARS}]`);
    }
    if (!TAG_CHARS.test(key)) throw fail(`key ${k} contains invalid characters`);
    const value = tags[key];
    if (typeof value !== "string") throw fail(`value for key ${k} must be a string`);
    const valueLength = [...value].length;
    if (valueLength > MAX_TAG_VALUE_CHARS) {
      throw fail(`value for key ${k} length ${valueLength} out of range [0,${MAX_TAG_VALUE_CHARS}]`);
    }
    if (!TAG_CHARS.test(value)) throw fail(`value for key ${k} contains invalid characters`);
  }
  // Object.fromEntries defines own properties, so even a "__proto__" key stays an ordinary tag.
  return Object.fromEntries(keys.map((key) => [key, tags[key] as string]));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
