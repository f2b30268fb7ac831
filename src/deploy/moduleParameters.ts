/**
 * What an Ignition module reads from its parameter file, found by walking the module's futures,
 * and a check of a parameter file against it. Ignition itself ignores a parameter nobody reads, so
 * a misspelt key would silently deploy the default; this catches it.
 */
import type { DeploymentParameters, IgnitionModule } from "@nomicfoundation/ignition-core";
import { isAddress } from "ethers";

export interface ModuleParameter {
  moduleId: string;
  name: string;
  /** undefined: the parameter is required. */
  defaultValue: unknown;
}

/** The text a parameter file puts where a value must be filled in before a deployment. */
export const REQUIRED_MARK = "REQUIRED";

function isParameter(value: unknown): value is ModuleParameter & { type: string } {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { type?: unknown }).type === "MODULE_PARAMETER" &&
    typeof (value as { name?: unknown }).name === "string"
  );
}

/** Every parameter read by `module` and its submodules, keyed "<moduleId>.<name>". */
export function moduleParameters(module: IgnitionModule): Map<string, ModuleParameter> {
  const found = new Map<string, ModuleParameter>();
  const seenModules = new Set<IgnitionModule>();
  const seenObjects = new Set<object>();
  const visit = (value: unknown): void => {
    if (typeof value !== "object" || value === null || seenObjects.has(value)) return;
    seenObjects.add(value);
    if (isParameter(value)) {
      found.set(`${value.moduleId}.${value.name}`, {
        moduleId: value.moduleId,
        name: value.name,
        defaultValue: value.defaultValue,
      });
      return;
    }
    // futures refer to other futures and to their module: follow values, not modules
    for (const [key, child] of Object.entries(value)) {
      if (key === "module" || key === "dependencies") continue;
      visit(child);
    }
  };
  const walk = (m: IgnitionModule): void => {
    if (seenModules.has(m)) return;
    seenModules.add(m);
    for (const future of m.futures) visit(future);
    for (const sub of m.submodules) walk(sub);
  };
  walk(module);
  return found;
}

/** One problem of a parameter file, with the key it concerns. */
export interface ParameterProblem {
  key: string;
  message: string;
}

/**
 * Checks `parameters` against what `module` reads: unknown modules and keys, required parameters
 * left out or still holding a "REQUIRED…" note, and `addressKeys` that are not addresses.
 */
export function checkParameters(
  module: IgnitionModule,
  parameters: DeploymentParameters,
  addressKeys: readonly string[] = [],
): ParameterProblem[] {
  const known = moduleParameters(module);
  const problems: ParameterProblem[] = [];
  const moduleIds = new Set([...known.values()].map((p) => p.moduleId));
  for (const [moduleId, values] of Object.entries(parameters)) {
    if (moduleId === "$global") continue;
    if (!moduleIds.has(moduleId)) {
      problems.push({
        key: moduleId,
        message: `no module "${moduleId}" in ${module.id} reads parameters (modules: ${[...moduleIds].sort().join(", ")})`,
      });
      continue;
    }
    for (const name of Object.keys(values)) {
      if (!known.has(`${moduleId}.${name}`)) {
        const names = [...known.values()].filter((p) => p.moduleId === moduleId).map((p) => p.name);
        problems.push({
          key: `${moduleId}.${name}`,
          message: `${moduleId} has no parameter "${name}" (it reads: ${names.sort().join(", ")})`,
        });
      }
    }
  }
  for (const [key, parameter] of known) {
    const value = parameters[parameter.moduleId]?.[parameter.name] ?? parameters.$global?.[parameter.name];
    if (value === undefined) {
      if (parameter.defaultValue === undefined) problems.push({ key, message: `${key} is required and missing` });
    } else if (typeof value === "string" && value.startsWith(REQUIRED_MARK)) {
      problems.push({ key, message: `${key} must be filled in: ${value}` });
    } else if (addressKeys.includes(key) && (typeof value !== "string" || !isAddress(value))) {
      problems.push({ key, message: `${key} must be an address, got ${JSON.stringify(value)}` });
    }
  }
  return problems;
}
