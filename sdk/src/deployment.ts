/**
 * The deployments registry: `deployments/<chainId>.json`, written by `npx hardhat deploy` (or
 * `npx hardhat deployments:export`) from Ignition's record of a deployment, and read by the SDK
 * and the keeper so that nobody types addresses in. Pure data: no Node.js APIs here, so a browser
 * dApp can import a registry file and pass it to the client.
 */

export const DEPLOYMENT_SCHEMA = "crossmargin.deployment/1";

/** A contract the deployment created. */
export interface DeployedContract {
  address: string;
  /** The block of the creating transaction. */
  blockNumber: number;
  transactionHash: string;
}

/** A token the Vault accepts, with the oracle adapter that prices it and the feed behind it. */
export interface DeploymentToken {
  symbol: string;
  address: string;
  decimals: number;
  oracle: string;
  feed: string;
}

/** A perpetual market of the ClearingHouse. */
export interface DeploymentMarket {
  marketId: number;
  symbol: string;
  oracle: string;
  feed: string;
  /** Correlation group (0 = none). */
  group: number;
}

/** One chain's deployment of Crossmargin. */
export interface Deployment {
  schema: typeof DEPLOYMENT_SCHEMA;
  chainId: number;
  /** Hardhat's network name at deployment time (`localhost`, `sepolia`, …). */
  network: string;
  /** The Ignition module deployed (`Protocol` locally, `PublicProtocol` on public networks). */
  module: string;
  /** Ignition's deployment id (its folder under ignition/deployments/). */
  deploymentId: string;
  /** The first block of the deployment: where an event back-fill (keepers, indexers) starts. */
  startBlock: number;
  /** Every contract the deployment created, by name (Vault, ClearingHouse, MarginLens, …). */
  contracts: Record<string, DeployedContract>;
  settlementToken: DeploymentToken;
  /** Collateral besides the settlement token, in the Vault's listing order. */
  collateral: DeploymentToken[];
  markets: DeploymentMarket[];
  /** The Ignition parameters deployed with (integers as decimal strings). */
  parameters: Record<string, Record<string, string | number | boolean>>;
}

/** The addresses a client needs. */
export interface ProtocolAddresses {
  vault: string;
  clearingHouse: string;
  lens: string;
  pool: string;
}

/** Thrown for a registry file that is not a Crossmargin deployment of this schema. */
export class DeploymentFormatError extends Error {
  override name = "DeploymentFormatError";
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const REQUIRED_CONTRACTS = ["Vault", "ClearingHouse", "MarginLens", "LiquidityPool"] as const;

/**
 * Checks that `value` (a parsed registry file) is a deployment of this schema and returns it
 * typed. `source` names the file in messages.
 */
export function parseDeployment(value: unknown, source = "deployment"): Deployment {
  const fail = (what: string): never => {
    throw new DeploymentFormatError(`${source}: ${what}`);
  };
  if (typeof value !== "object" || value === null) return fail("expected a JSON object");
  const d = value as Partial<Deployment>;
  if (d.schema !== DEPLOYMENT_SCHEMA) {
    return fail(
      `schema is ${JSON.stringify(d.schema)}, expected "${DEPLOYMENT_SCHEMA}" (re-export it: npx hardhat deployments:export)`,
    );
  }
  if (typeof d.chainId !== "number" || !Number.isSafeInteger(d.chainId) || d.chainId <= 0)
    fail("chainId must be a positive integer");
  if (typeof d.startBlock !== "number") fail("startBlock must be a number");
  if (typeof d.contracts !== "object" || d.contracts === null) return fail("contracts missing");
  for (const name of REQUIRED_CONTRACTS) {
    const c = d.contracts[name];
    if (!c || typeof c.address !== "string" || !ADDRESS.test(c.address))
      fail(`contracts.${name}.address missing or not an address`);
  }
  if (!d.settlementToken || !ADDRESS.test(d.settlementToken.address)) fail("settlementToken.address missing");
  if (!Array.isArray(d.collateral)) fail("collateral must be an array");
  if (!Array.isArray(d.markets)) fail("markets must be an array");
  return d as Deployment;
}

/** The client's addresses from a registry entry. */
export function deploymentAddresses(d: Deployment): ProtocolAddresses {
  return {
    vault: d.contracts.Vault.address,
    clearingHouse: d.contracts.ClearingHouse.address,
    lens: d.contracts.MarginLens.address,
    pool: d.contracts.LiquidityPool.address,
  };
}
