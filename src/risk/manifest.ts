/**
 * The reproducibility manifest of a risk run: everything that decides its numbers (scenario and
 * its hash, seed, paths, modes, overrides, the contracts' bytecode, the code's git commit and the
 * package versions). `npx hardhat simulate --manifest <file>` reruns a report from it and checks
 * that the deterministic part of the result is byte for byte the same.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";

export const MANIFEST_SCHEMA = "crossmargin.manifest/1";

export interface Manifest {
  schema: typeof MANIFEST_SCHEMA;
  /** The scenario as given on the command line (built-in name or path) and what it resolved to. */
  scenario: { argument: string; name: string; hash: string };
  seed: number;
  paths: number;
  modes: string[];
  /** The --set overrides in order (the seed override included). */
  overrides: string[];
  /** sha256 of each protocol contract's deployed bytecode (artifacts/, link references unresolved). */
  bytecode: Record<string, string>;
  git: { commit: string; dirty: boolean };
  versions: Record<string, string>;
}

const CONTRACTS = ["Vault", "ClearingHouse", "LiquidityPool", "MarginLens", "ChainlinkOracle", "MarketConfig"];
const PACKAGES = ["hardhat", "ethers", "solc", "typescript", "@openzeppelin/contracts", "fast-check", "zod"];

function findArtifact(root: string, name: string): string | undefined {
  const base = path.join(root, "artifacts", "contracts");
  const stack = [base];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) stack.push(full);
      else if (entry.name === `${name}.json`) return full;
    }
  }
  return undefined;
}

/** sha256 of each protocol contract's deployed bytecode, from the compiled artifacts. */
export function bytecodeHashes(root = process.cwd()): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of CONTRACTS) {
    const file = findArtifact(root, name);
    if (!file) throw new Error(`no compiled artifact for ${name} under ${root}/artifacts: run npx hardhat compile`);
    const { deployedBytecode } = JSON.parse(readFileSync(file, "utf8")) as { deployedBytecode: string };
    out[name] = createHash("sha256").update(deployedBytecode).digest("hex");
  }
  return out;
}

/** The checked-out commit and whether the working tree differs from it ("unknown" outside git). */
export function gitState(root = process.cwd()): Manifest["git"] {
  try {
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
    const status = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], {
      cwd: root,
      encoding: "utf8",
    });
    return { commit, dirty: status.trim() !== "" };
  } catch {
    return { commit: "unknown", dirty: false };
  }
}

/** Node's version and the installed versions of the packages that decide the numbers. */
export function packageVersions(root = process.cwd()): Record<string, string> {
  const versions: Record<string, string> = { node: process.version };
  for (const name of PACKAGES) {
    const file = path.join(root, "node_modules", name, "package.json");
    if (existsSync(file)) versions[name] = (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
  }
  return versions;
}

export function buildManifest(
  run: Pick<Manifest, "seed" | "paths" | "modes" | "overrides"> & { scenario: Manifest["scenario"] },
  root = process.cwd(),
): Manifest {
  return {
    schema: MANIFEST_SCHEMA,
    scenario: run.scenario,
    seed: run.seed,
    paths: run.paths,
    modes: run.modes,
    overrides: run.overrides,
    bytecode: bytecodeHashes(root),
    git: gitState(root),
    versions: packageVersions(root),
  };
}

/**
 * Why a rerun from `recorded` may not reproduce on this checkout: the differences in bytecode,
 * commit and package versions (empty when everything that decides the numbers is the same).
 */
export function manifestDrift(recorded: Manifest, current: Manifest): string[] {
  const drift: string[] = [];
  for (const [name, hash] of Object.entries(recorded.bytecode)) {
    if (current.bytecode[name] !== hash) drift.push(`bytecode of ${name} differs`);
  }
  if (recorded.git.commit !== current.git.commit) {
    drift.push(`git commit ${current.git.commit.slice(0, 12)} ≠ recorded ${recorded.git.commit.slice(0, 12)}`);
  }
  for (const [name, version] of Object.entries(recorded.versions)) {
    if (current.versions[name] !== version) {
      drift.push(`${name} ${current.versions[name] ?? "missing"} ≠ recorded ${version}`);
    }
  }
  return drift;
}
