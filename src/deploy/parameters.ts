import fs from "node:fs";
import path from "node:path";

import type { DeploymentParameters } from "@nomicfoundation/ignition-core";

export type { DeploymentParameters };

/** Strings like "123n" are bigints, as in Ignition's own parameter files. */
function reviveBigint(_key: string, value: unknown): unknown {
  return typeof value === "string" && /^-?\d+n$/.test(value) ? BigInt(value.slice(0, -1)) : value;
}

/**
 * Reads ignition/parameters/<name>.json the way `hardhat ignition deploy --parameters` does, so an
 * in-process deployment (tests, demo, simulator) uses exactly the numbers of a node deployment.
 */
export function loadParameters(name: string, root = process.cwd()): DeploymentParameters {
  const file = parametersPath(name, root);
  if (!fs.existsSync(file)) {
    throw new Error(`Deployment parameters not found: ${file}. Known sets: ${listParameterSets(root).join(", ")}`);
  }
  return readParameterFile(file);
}

/** ignition/parameters/<name>.json under `root`. */
export const parametersPath = (name: string, root = process.cwd()): string =>
  path.join(root, "ignition", "parameters", `${name}.json`);

/** Reads an Ignition parameter file by path, with an actionable error when it is missing or invalid. */
export function readParameterFile(file: string): DeploymentParameters {
  if (!fs.existsSync(file)) throw new Error(`parameter file not found: ${file}`);
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"), reviveBigint) as DeploymentParameters;
  } catch (error) {
    throw new Error(`parameter file ${file} is not valid JSON: ${(error as Error).message}`);
  }
}

function listParameterSets(root: string): string[] {
  const dir = path.join(root, "ignition", "parameters");
  return fs.existsSync(dir) ? fs.readdirSync(dir).map((f) => path.basename(f, ".json")) : [];
}
