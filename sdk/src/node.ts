/**
 * Node.js-only helpers: read the deployments registry (`deployments/<chainId>.json`) from disk and
 * connect to the deployment of the runner's chain. Browser code imports a registry file itself and
 * passes it to CrossmarginClient.connect.
 */
import fs from "node:fs";
import path from "node:path";
import type { ContractRunner } from "ethers";
import { CrossmarginClient } from "./client";
import { parseDeployment, type Deployment } from "./deployment";
import { CrossmarginError } from "./errors";

const HARDHAT_CHAIN_ID = 31337n;

function deployHint(chainId: bigint): string {
  return chainId === HARDHAT_CHAIN_ID
    ? "deploy first — npm run node, then npm run deploy:local"
    : `deploy first — npx hardhat deploy --network <the network of chain ${chainId}> (or npx hardhat deployments:export for an Ignition deployment made without it)`;
}

/**
 * Reads and checks `<dir>/<chainId>.json`.
 *
 * @param chainId The chain whose deployment to load.
 * @param dir The registry folder (default: `deployments/` under the working directory).
 * @throws CrossmarginError when the file is missing (with how to create it) or is for another
 *         chain; DeploymentFormatError when it is not a registry entry.
 */
export function loadDeployment(
  chainId: number | bigint,
  dir: string = path.join(process.cwd(), "deployments"),
): Deployment {
  const id = BigInt(chainId);
  const file = path.join(dir, `${id}.json`);
  const shown = path.relative(process.cwd(), file) || file;
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new CrossmarginError(`no ${shown}: ${deployHint(id)}`, { cause: error });
    }
    throw new CrossmarginError(`cannot read ${shown}: ${(error as Error).message}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CrossmarginError(
      `${shown} is not valid JSON (${(error as Error).message}): re-export it — npx hardhat deployments:export`,
      { cause: error },
    );
  }
  const deployment = parseDeployment(json, shown);
  if (BigInt(deployment.chainId) !== id) {
    throw new CrossmarginError(
      `${shown} holds the deployment of chain ${deployment.chainId}, not ${id}: re-export it — npx hardhat deployments:export`,
    );
  }
  return deployment;
}

/**
 * Connects to the deployment of the runner's chain, read from the registry folder.
 *
 * @param runner A Signer (reads and actions) or a Provider (reads only).
 * @param options `dir`: the registry folder (default: `deployments/` under the working directory).
 */
export async function connectFromRegistry(
  runner: ContractRunner,
  options: { dir?: string } = {},
): Promise<CrossmarginClient> {
  const provider = runner.provider;
  if (!provider) {
    throw new CrossmarginError("the runner has no provider: pass a Provider, or a Signer connected to one");
  }
  const { chainId } = await provider.getNetwork();
  const deployment = loadDeployment(chainId, options.dir);
  return CrossmarginClient.connect(runner, { deployment });
}
