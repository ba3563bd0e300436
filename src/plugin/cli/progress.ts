// A one-line progress indicator on stderr while a long call (boot, standby, restore, fork) is in flight.
const FRAMES = ["|", "/", "-", "\\"];
const TICK_MS = 120;

export async function withProgress<T>(label: string, work: Promise<T>): Promise<T> {
  if (!process.stderr.isTTY) return work;
  const started = performance.now();
  let frame = 0;
  const timer = setInterval(() => {
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    process.stderr.write(`\r${FRAMES[frame++ % FRAMES.length]} ${label} ${seconds}s`);
  }, TICK_MS);
  try {
    return await work;
  } finally {
    clearInterval(timer);
    process.stderr.write("\r\x1b[K");
  }
}
