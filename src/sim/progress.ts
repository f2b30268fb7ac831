/** A terminal progress bar (steps/s, ETA) on stderr; silent in CI and when asked. */
import type { ProgressSink } from "./engine";

export function createProgress(options: { quiet?: boolean; stream?: NodeJS.WriteStream } = {}): ProgressSink {
  const stream = options.stream ?? process.stderr;
  if (options.quiet || process.env.CI) return { start() {}, tick() {}, end() {} };
  const tty = Boolean(stream.isTTY);
  let label = "";
  let unit = "steps";
  let total = 1;
  let started = 0;
  let lastDraw = 0;
  let lastDecile = -1;
  const line = (done: number) => {
    const elapsed = (Date.now() - started) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const eta = rate > 0 ? (total - done) / rate : 0;
    const width = 28;
    const filled = Math.round((done / total) * width);
    return (
      `${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total} ${unit}` +
      `  ${rate < 1 ? `${(rate * 3_600).toFixed(0)} ${unit}/h` : `${rate.toFixed(1)} ${unit}/s`}  ETA ${formatSeconds(eta)}`
    );
  };
  return {
    start(name, steps, what = "steps") {
      label = name;
      unit = what;
      total = Math.max(1, steps);
      started = Date.now();
      lastDraw = 0;
      lastDecile = -1;
    },
    tick(done) {
      if (tty) {
        const now = Date.now();
        if (now - lastDraw < 100 && done < total) return;
        lastDraw = now;
        stream.write(`\r${line(done)}\x1b[K`);
      } else {
        // piped: one line per tenth
        const decile = Math.floor((done / total) * 10);
        if (decile !== lastDecile) {
          lastDecile = decile;
          stream.write(`${line(done)}\n`);
        }
      }
    },
    end() {
      if (tty) stream.write("\n");
    },
  };
}

export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}
