/**
 * `npx hardhat keeper`: resolves the protocol's addresses and the keeper's key for the network,
 * starts the keeper and its metrics server, and stops cleanly on SIGINT / SIGTERM (no new actions,
 * transactions in flight waited for).
 */
import fs from "node:fs";
import path from "node:path";
import { Wallet, WebSocketProvider, type Signer } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import pino, { type Logger } from "pino";
import { ClearingHouse__factory, MarginLens__factory, Vault__factory } from "../../typechain-types";
import { deploymentAddresses, parseDeployment } from "../../sdk/src/deployment";
import { Keeper, parseShard, type KeeperContracts, type KeeperOptions } from "./keeper";
import { KeeperMetrics } from "./metrics";

export const KEY_VARIABLE = "KEEPER_PRIVATE_KEY";

export interface KeeperTaskArgs {
  shard: string;
  metricsPort: number;
  batchSize: number;
  chunkSize: number;
  startBlock: number;
  pollMs: number;
  minProfit: string;
  all: boolean;
  maxFeeGwei: string;
  maxInFlight: number;
  replaceAfterMs: number;
  accountIndex: number;
  vault: string;
  lens: string;
  logLevel: string;
  ws: boolean;
}

/** Addresses of the Vault, ClearingHouse and MarginLens on this chain. */
export interface ProtocolAddresses {
  vault: string;
  clearingHouse: string;
  lens: string;
  /** Where they were found, for messages. */
  source: string;
  /** The deployment's first block, when the registry gives it: where the account back-fill starts. */
  startBlock?: number;
}

/**
 * The protocol's addresses: explicit `--vault`/`--lens` flags, else the deployments registry for
 * the chain (`deployments/<chainId>.json`, written by `npx hardhat deploy`). Throws an actionable
 * error when nothing is deployed there.
 */
export async function resolveAddresses(
  hre: HardhatRuntimeEnvironment,
  args: Pick<KeeperTaskArgs, "vault" | "lens">,
): Promise<ProtocolAddresses> {
  const chainId = (await hre.ethers.provider.getNetwork()).chainId;
  let vault = args.vault;
  let lens = args.lens;
  let source = "--vault / --lens";
  let startBlock: number | undefined;
  if (!vault || !lens) {
    const file = path.join(hre.config.paths.root, "deployments", `${chainId}.json`);
    source = path.relative(hre.config.paths.root, file);
    if (!fs.existsSync(file)) {
      throw new Error(
        `the protocol is not deployed on network "${hre.network.name}" (chain ${chainId}): no ${source}. ` +
          `Deploy it first (local: \`npm run node\`, then \`npm run deploy:local\`; public: \`npx hardhat deploy --network <name>\`) or pass --vault and --lens.` +
          (hre.network.name === "hardhat"
            ? " The in-process network starts empty on every run: use --network localhost."
            : ""),
      );
    }
    const deployment = parseDeployment(JSON.parse(fs.readFileSync(file, "utf8")) as unknown, source);
    const addresses = deploymentAddresses(deployment);
    vault = vault || addresses.vault;
    lens = lens || addresses.lens;
    startBlock = deployment.startBlock;
  }
  for (const [name, address] of [
    ["Vault", vault],
    ["MarginLens", lens],
  ] as const) {
    if ((await hre.ethers.provider.getCode(address)) === "0x") {
      throw new Error(
        `no ${name} contract at ${address} on network "${hre.network.name}" (chain ${chainId}, addresses from ${source}): ` +
          `the node was restarted or the deployment belongs to another chain; redeploy (\`npm run deploy:local\`)`,
      );
    }
  }
  const clearingHouse = await MarginLens__factory.connect(lens, hre.ethers.provider).clearingHouse();
  return { vault, clearingHouse, lens, source, startBlock };
}

/**
 * The keeper's signer: the KEEPER_PRIVATE_KEY Hardhat configuration variable
 * (`npx hardhat vars set KEEPER_PRIVATE_KEY`) or environment variable; on a local network, a node
 * account chosen with --account-index instead.
 */
export async function resolveSigner(hre: HardhatRuntimeEnvironment, accountIndex: number): Promise<Signer> {
  const { vars } = await import("hardhat/config");
  const key = process.env[KEY_VARIABLE] || (vars.has(KEY_VARIABLE) ? vars.get(KEY_VARIABLE) : "");
  if (key) return new Wallet(key.startsWith("0x") ? key : `0x${key}`, hre.ethers.provider);
  const local = hre.network.name === "hardhat" || hre.network.name === "localhost";
  if (local && accountIndex >= 0) {
    const signers = await hre.ethers.getSigners();
    if (accountIndex >= signers.length) {
      throw new Error(
        `--account-index ${accountIndex}: the node has ${signers.length} accounts (0..${signers.length - 1})`,
      );
    }
    return signers[accountIndex];
  }
  throw new Error(
    `no keeper key: set ${KEY_VARIABLE} (\`npx hardhat vars set ${KEY_VARIABLE}\` or \`export ${KEY_VARIABLE}=0x…\`)` +
      (local ? ", or pass --account-index N to use the local node's account N" : ""),
  );
}

/** Parses a decimal USD amount ("0.5") into WAD. */
function usdToWad(text: string): bigint {
  const match = /^(\d+)(?:\.(\d{1,18}))?$/.exec(text.trim());
  if (!match) throw new Error(`--min-profit must be a USD amount such as 0 or 1.25, got "${text}"`);
  return BigInt(match[1]) * 10n ** 18n + BigInt((match[2] ?? "").padEnd(18, "0"));
}

export async function runKeeperTask(args: KeeperTaskArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  const shard = parseShard(args.shard);
  // synchronous writes: lines come out in the order they are logged and none is lost at exit
  const log: Logger = pino(
    { level: args.logLevel, base: { shard: args.shard, network: hre.network.name } },
    pino.destination({ dest: 1, sync: true }),
  );
  const addresses = await resolveAddresses(hre, args);
  const signer = await resolveSigner(hre, args.accountIndex);
  const contracts: KeeperContracts = {
    vault: Vault__factory.connect(addresses.vault, signer),
    clearingHouse: ClearingHouse__factory.connect(addresses.clearingHouse, signer),
    lens: MarginLens__factory.connect(addresses.lens, signer),
  };
  const options: Partial<KeeperOptions> = {
    shard,
    batchSize: args.batchSize,
    chunkSize: args.chunkSize,
    // the back-fill starts at --start-block, else where the registry says the deployment began
    startBlock: args.startBlock >= 0 ? args.startBlock : (addresses.startBlock ?? 0),
    pollIntervalMs: args.pollMs,
    minProfitUsd: usdToWad(args.minProfit),
    profitableOnly: !args.all,
    maxInFlight: args.maxInFlight,
    maxFeePerGas: BigInt(Math.round(Number(args.maxFeeGwei) * 1e9)),
    replaceAfterMs: args.replaceAfterMs,
  };
  if (args.ws) {
    const url = (hre.network.config as { url?: string }).url;
    if (!url) throw new Error(`--ws needs a network with a URL; "${hre.network.name}" is in-process`);
    // new blocks by eth_subscribe over WebSocket (hardhat node serves it on the same port)
    options.blockEvents = new WebSocketProvider(url.replace(/^http/, "ws"));
  }
  const metrics = new KeeperMetrics({ shard: args.shard });
  const keeper = new Keeper(contracts, signer, options, log, metrics);
  const server = args.metricsPort >= 0 ? await metrics.serve(args.metricsPort) : undefined;
  log.info(
    {
      keeper: await signer.getAddress(),
      ...addresses,
      metrics: server ? `http://127.0.0.1:${server.port}/metrics` : "off",
    },
    "keeper started",
  );
  let stopping: Promise<void> | undefined;
  const shutdown = (signal: string) => {
    stopping ??= (async () => {
      log.info({ signal }, "stopping: no new actions; waiting for transactions in flight");
      await keeper.stop();
      await server?.close();
      if (options.blockEvents instanceof WebSocketProvider) await options.blockEvents.destroy();
      log.info("keeper stopped cleanly");
    })();
  };
  process.once("SIGINT", () => shutdown("SIGINT"));
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  await keeper.start();
  await stopping;
}
