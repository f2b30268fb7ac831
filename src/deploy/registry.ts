/**
 * Exports Ignition's record of a deployment into the deployments registry
 * (`deployments/<chainId>.json`, schema in sdk/src/deployment.ts): contract addresses with the
 * block and transaction that created them, the tokens, feeds and markets as configured on chain,
 * and the parameters deployed with.
 */
import fs from "node:fs";
import path from "node:path";
import type { DeploymentParameters } from "@nomicfoundation/ignition-core";
import type { Provider } from "ethers";
import { MARKETS } from "../../ignition/modules/Markets";
import {
  DEPLOYMENT_SCHEMA,
  parseDeployment,
  type DeployedContract,
  type Deployment,
  type DeploymentToken,
} from "../../sdk/src/deployment";
import {
  AggregatorV3Interface__factory,
  ChainlinkOracle__factory,
  ClearingHouse__factory,
  MockERC20__factory,
  Vault__factory,
} from "../../typechain-types";

/** Thrown when Ignition's folder does not hold a finished deployment to export. */
export class RegistryError extends Error {
  override name = "RegistryError";
}

interface JournalLine {
  type: string;
  futureId?: string;
  chainId?: number;
  hash?: string;
  receipt?: { blockNumber: number; contractAddress?: string; status: string };
}

/** The contract name in the registry for an Ignition future id ("Core#Vault" → "Vault"). */
const contractName = (futureId: string) => futureId.slice(futureId.indexOf("#") + 1);

/** Ignition parameters as JSON values (bigints as decimal strings). */
function plainParameters(parameters: DeploymentParameters): Deployment["parameters"] {
  const out: Deployment["parameters"] = {};
  for (const [moduleId, values] of Object.entries(parameters)) {
    out[moduleId] = {};
    for (const [name, value] of Object.entries(values)) {
      out[moduleId][name] = typeof value === "bigint" ? value.toString() : (value as string | number | boolean);
    }
  }
  return out;
}

export interface ExportOptions {
  /** A provider on the deployment's chain (the registry reads tokens, feeds and markets from it). */
  provider: Provider;
  /** Ignition's folder of the deployment (ignition/deployments/<id>). */
  deploymentDir: string;
  /** Hardhat's network name, recorded in the registry. */
  network: string;
  /** The module deployed (Protocol, PublicProtocol). */
  module: string;
  parameters: DeploymentParameters;
  /** Where registry files go (default: <cwd>/deployments). */
  outDir?: string;
}

/** Builds the registry entry of a finished Ignition deployment and writes deployments/<chainId>.json. */
export async function exportDeployment(options: ExportOptions): Promise<{ file: string; deployment: Deployment }> {
  const { provider, deploymentDir } = options;
  const journalFile = path.join(deploymentDir, "journal.jsonl");
  const addressesFile = path.join(deploymentDir, "deployed_addresses.json");
  if (!fs.existsSync(journalFile) || !fs.existsSync(addressesFile)) {
    throw new RegistryError(
      `${deploymentDir} holds no finished Ignition deployment (no journal.jsonl / deployed_addresses.json): deploy first with \`npx hardhat deploy --network ${options.network}\``,
    );
  }
  const journal = fs
    .readFileSync(journalFile, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as JournalLine);
  const chainId = journal.find((l) => l.type === "DEPLOYMENT_INITIALIZE")?.chainId;
  const connected = Number((await provider.getNetwork()).chainId);
  if (chainId !== connected) {
    throw new RegistryError(
      `${deploymentDir} was deployed to chain ${chainId}, but the network "${options.network}" is chain ${connected}: pass the --network it was deployed to`,
    );
  }
  const addresses = JSON.parse(fs.readFileSync(addressesFile, "utf8")) as Record<string, string>;

  // the creating transaction of every deployed contract (contractAt futures have none)
  const contracts: Record<string, DeployedContract> = {};
  for (const line of journal) {
    if (line.type !== "TRANSACTION_CONFIRM" || !line.futureId || !line.receipt?.contractAddress) continue;
    if (line.receipt.status !== "SUCCESS") continue;
    contracts[contractName(line.futureId)] = {
      address: addresses[line.futureId] ?? line.receipt.contractAddress,
      blockNumber: line.receipt.blockNumber,
      transactionHash: line.hash ?? "",
    };
  }
  for (const name of ["Vault", "ClearingHouse", "MarginLens", "LiquidityPool"]) {
    if (!contracts[name]) {
      throw new RegistryError(
        `${deploymentDir}: the deployment has no ${name} yet (unfinished?): run the deployment again to finish it`,
      );
    }
  }
  const startBlock = Math.min(...Object.values(contracts).map((c) => c.blockNumber));

  const vault = Vault__factory.connect(contracts.Vault.address, provider);
  const clearingHouse = ClearingHouse__factory.connect(contracts.ClearingHouse.address, provider);
  const token = async (address: string, oracle: string): Promise<DeploymentToken> => {
    const erc20 = MockERC20__factory.connect(address, provider);
    const [symbol, decimals, feed] = await Promise.all([
      erc20.symbol(),
      erc20.decimals(),
      ChainlinkOracle__factory.connect(oracle, provider).feed(),
    ]);
    return { symbol, address, decimals: Number(decimals), oracle, feed };
  };
  const settlementAddress = await vault.settlementToken();
  const settlementOracle = contracts.usdcOracle?.address;
  if (!settlementOracle) throw new RegistryError(`${deploymentDir}: no usdcOracle in the deployment`);
  const settlementToken = await token(settlementAddress, settlementOracle);
  const collateral: DeploymentToken[] = [];
  for (const address of await vault.collateralTokens()) {
    if (address.toLowerCase() === settlementAddress.toLowerCase()) continue;
    collateral.push(await token(address, (await vault.collateralConfig(address)).oracle));
  }
  const markets: Deployment["markets"] = [];
  const count = Number(await clearingHouse.marketCount());
  for (let marketId = 1; marketId <= count; marketId++) {
    const params = await clearingHouse.marketParams(marketId);
    const feed = await ChainlinkOracle__factory.connect(params.oracle, provider).feed();
    const known = MARKETS.find((m) => m.marketId === marketId);
    const description = await AggregatorV3Interface__factory.connect(feed, provider).description();
    markets.push({
      marketId,
      // markets added by the module carry its symbol; one added later is named after its feed
      symbol: known?.symbol ?? `${description.split("/")[0].trim()}-PERP`,
      oracle: params.oracle,
      feed,
      group: Number(params.group),
    });
  }

  const deployment: Deployment = {
    schema: DEPLOYMENT_SCHEMA,
    chainId: connected,
    network: options.network,
    module: options.module,
    deploymentId: path.basename(deploymentDir),
    startBlock,
    contracts,
    settlementToken,
    collateral,
    markets,
    parameters: plainParameters(options.parameters),
  };
  parseDeployment(deployment, "the exported deployment"); // the reader accepts what the writer writes
  const outDir = options.outDir ?? path.join(process.cwd(), "deployments");
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `${connected}.json`);
  fs.writeFileSync(file, `${JSON.stringify(deployment, null, 2)}\n`);
  return { file, deployment };
}
