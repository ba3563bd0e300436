// Error messages leave the host without its file layout: an absolute path outside the data dir (a node ENOENT,
// a line of QEMU stderr, an image source) becomes `<path>`; one inside it is shown relative to it, as `<data>/…`.
import { isAbsolute, relative } from "node:path";

/** A `/` that starts a path (not inside a word, a relative path or a URL's host part), up to the characters that
 * end a path in prose. */
const ABSOLUTE_PATH = /(?<![\w.~-])\/[^\s'"`,;()<>[\]{}]*/g;
/** Sentence punctuation glued to the end of a path ("… /etc/x: no such file", "… in /var/lib."). */
const TRAILING_PUNCTUATION = /[.:]+$/;

export function redactHostPaths(message: string, dataDir: string): string {
  return message.replace(ABSOLUTE_PATH, (match) => {
    const path = match.replace(TRAILING_PUNCTUATION, "");
    const punctuation = match.slice(path.length);
    const inside = relative(dataDir, path);
    if (inside === "") return `<data>${punctuation}`;
    if (inside.startsWith("..") || isAbsolute(inside)) return `<path>${punctuation}`;
    return `<data>/${inside}${punctuation}`;
  });
}
