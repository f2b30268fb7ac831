/**
 * The coverage gate: reads the Istanbul report of `npm run coverage` and fails when the contracts'
 * line or branch coverage is below the thresholds.
 *
 *   npm run coverage          # solidity-coverage: writes coverage.json and coverage/
 *   npm run coverage:check    # this script: per-file table, totals, exit 1 below a threshold
 *   npm run coverage:gate     # both
 *
 * Measured: every contracts/**.sol except contracts/mocks/ (test doubles) and files without
 * executable lines (interfaces, constants). A contract missing from the report fails the gate
 * rather than escaping it. Thresholds: COVERAGE_MIN_LINES (default 95) and COVERAGE_MIN_BRANCHES
 * (default 90), in %. An argument names another report file; --markdown prints the table as
 * Markdown (for the README).
 */
import fs from "node:fs";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..");
const CONTRACTS = "contracts/";
const EXCLUDED = ["contracts/mocks/"];
const DEFAULT_REPORTS = ["coverage.json", "coverage/coverage-final.json"];

interface Location {
  line: number;
}
interface FileCoverage {
  path: string;
  l?: Record<string, number>;
  b: Record<string, number[]>;
  branchMap: Record<string, { line: number; type: string; locations: { start: Location }[] }>;
  statementMap: Record<string, { start: Location }>;
  s: Record<string, number>;
}

export interface FileFigures {
  file: string;
  linesHit: number;
  lines: number;
  branchesHit: number;
  branches: number;
  /** Line numbers with no hit. */
  uncoveredLines: number[];
  /** "line (arm)" of every branch arm never taken; arm 1 of an `if` is its implicit else. */
  uncoveredBranches: string[];
}

const pct = (hit: number, total: number): number => (total === 0 ? 100 : (100 * hit) / total);
const fmt = (hit: number, total: number): string =>
  total === 0 ? "0/0 -" : `${hit}/${total} ${pct(hit, total).toFixed(2)} %`;

/** Collapses sorted line numbers into ranges: 3,4,5,9 → "3-5, 9". */
function ranges(lines: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < lines.length;) {
    let j = i;
    while (j + 1 < lines.length && lines[j + 1] === lines[j] + 1) ++j;
    out.push(i === j ? `${lines[i]}` : `${lines[i]}-${lines[j]}`);
    i = j + 1;
  }
  return out.join(", ");
}

function relative(file: string): string {
  return (path.isAbsolute(file) ? path.relative(ROOT, file) : file).split(path.sep).join("/");
}

function listSources(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}${e.name}`;
    if (e.isDirectory()) return listSources(`${rel}/`);
    return e.name.endsWith(".sol") ? [rel] : [];
  });
}

export function figures(file: string, c: FileCoverage): FileFigures {
  // solidity-coverage fills `l`; Istanbul derives it from the statements when absent
  let lineHits = c.l;
  if (!lineHits) {
    lineHits = {};
    for (const [id, loc] of Object.entries(c.statementMap)) {
      const line = String(loc.start.line);
      lineHits[line] = Math.max(lineHits[line] ?? 0, c.s[id] ?? 0);
    }
  }
  const uncoveredLines = Object.entries(lineHits)
    .filter(([, hits]) => hits === 0)
    .map(([line]) => Number(line))
    .sort((a, b) => a - b);
  const uncoveredBranches: string[] = [];
  let branches = 0;
  let branchesHit = 0;
  for (const [id, counts] of Object.entries(c.b)) {
    branches += counts.length;
    counts.forEach((hits, arm) => {
      if (hits > 0) ++branchesHit;
      else {
        const where = c.branchMap[id];
        uncoveredBranches.push(`${where?.line ?? "?"} (${where?.type ?? "branch"} arm ${arm})`);
      }
    });
  }
  const lines = Object.keys(lineHits).length;
  return {
    file,
    linesHit: lines - uncoveredLines.length,
    lines,
    branchesHit,
    branches,
    uncoveredLines,
    uncoveredBranches,
  };
}

function threshold(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || value > 100)
    throw new Error(`${name}=${raw}: expected a percentage 0-100`);
  return value;
}

function main(): number {
  const args = process.argv.slice(2);
  const markdown = args.includes("--markdown");
  const named = args.filter((a) => !a.startsWith("--"));
  const minLines = threshold("COVERAGE_MIN_LINES", 95);
  const minBranches = threshold("COVERAGE_MIN_BRANCHES", 90);

  const candidates = named.length > 0 ? named : DEFAULT_REPORTS;
  const reportPath = candidates.map((p) => path.resolve(ROOT, p)).find((p) => fs.existsSync(p));
  if (!reportPath) {
    console.error(`coverage gate: no report (${candidates.join(", ")}); run \`npm run coverage\` first`);
    return 1;
  }
  const report = JSON.parse(fs.readFileSync(reportPath, "utf8")) as Record<string, FileCoverage>;
  const measured = (f: string) => f.startsWith(CONTRACTS) && !EXCLUDED.some((e) => f.startsWith(e));

  const byFile = new Map<string, FileCoverage>();
  for (const [key, c] of Object.entries(report)) {
    const file = relative(c.path ?? key);
    if (measured(file)) byFile.set(file, c);
  }
  const missing = listSources(CONTRACTS).filter((f) => measured(f) && !byFile.has(f));

  const rows = [...byFile.entries()]
    .map(([file, c]) => figures(file, c))
    .filter((r) => r.lines + r.branches > 0) // interfaces and constants: nothing to execute
    .sort((a, b) => a.file.localeCompare(b.file));
  const total = rows.reduce(
    (t, r) => ({
      linesHit: t.linesHit + r.linesHit,
      lines: t.lines + r.lines,
      branchesHit: t.branchesHit + r.branchesHit,
      branches: t.branches + r.branches,
    }),
    { linesHit: 0, lines: 0, branchesHit: 0, branches: 0 },
  );

  const stamp = fs
    .statSync(reportPath)
    .mtime.toISOString()
    .replace(/\.\d+Z$/, "Z");
  console.log(`coverage gate: ${relative(reportPath)} (${stamp}), contracts/ without mocks/`);
  const table: string[][] = [
    ["File", "Lines", "Branches"],
    ...rows.map((r) => [r.file.slice(CONTRACTS.length), fmt(r.linesHit, r.lines), fmt(r.branchesHit, r.branches)]),
    ["Total", fmt(total.linesHit, total.lines), fmt(total.branchesHit, total.branches)],
  ];
  if (markdown) {
    const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
    console.log([line(table[0]), "| --- | ---: | ---: |", ...table.slice(1).map(line)].join("\n"));
  } else {
    const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
    const line = (cells: string[]) =>
      cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("   ");
    console.log(table.map(line).join("\n"));
  }

  const gaps = rows.filter((r) => r.uncoveredLines.length + r.uncoveredBranches.length > 0);
  if (gaps.length > 0) {
    console.log("\nnot covered (file: lines; branches as line (type arm n), arm 1 of an if is its else):");
    for (const r of gaps) {
      if (r.uncoveredLines.length > 0) console.log(`  ${r.file}: lines ${ranges(r.uncoveredLines)}`);
      if (r.uncoveredBranches.length > 0) console.log(`  ${r.file}: branches ${r.uncoveredBranches.join(", ")}`);
    }
  }

  const failures: string[] = [];
  const linePct = pct(total.linesHit, total.lines);
  const branchPct = pct(total.branchesHit, total.branches);
  if (missing.length > 0) failures.push(`not in the report: ${missing.join(", ")} (skipped in .solcover.js?)`);
  if (total.lines === 0) failures.push("the report measures no line of contracts/");
  if (linePct < minLines)
    failures.push(`lines ${linePct.toFixed(2)} % < ${minLines} % (${(minLines - linePct).toFixed(2)} points short)`);
  if (branchPct < minBranches)
    failures.push(
      `branches ${branchPct.toFixed(2)} % < ${minBranches} % (${(minBranches - branchPct).toFixed(2)} points short)`,
    );
  if (failures.length > 0) {
    console.error(`\ncoverage gate FAILED: ${failures.join("; ")}`);
    return 1;
  }
  console.log(`\ncoverage gate passed: lines ≥ ${minLines} %, branches ≥ ${minBranches} %`);
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = main();
  } catch (e) {
    console.error(`coverage gate: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}
