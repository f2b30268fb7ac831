/**
 * Checks made before a deployment to a public network, all read-only: the parameter file against
 * the module, every address holding code, every feed answering with sane decimals and a fresh
 * timestamp, the deployer holding the settlement tokens it will seed with and the ether for the
 * estimated gas. A failure names the problem; nothing is sent unless every check passes.
 */
import type { DeploymentParameters, IgnitionModule } from "@nomicfoundation/ignition-core";
import { formatEther, formatUnits, type Provider } from "ethers";
import { AggregatorV3Interface__factory, MockERC20__factory } from "../../typechain-types";
import { checkParameters } from "./moduleParameters";

/** The external contracts of the PublicProtocol module (ExternalAssets parameters). */
export const EXTERNAL_TOKENS = ["usdc", "weth", "wbtc"] as const;
/** Each feed with the Markets parameter holding its heartbeat (seconds). */
export const EXTERNAL_FEEDS = [
  { feed: "usdcFeed", heartbeat: "usdcOracleHeartbeat" },
  { feed: "ethFeed", heartbeat: "ethOracleHeartbeat" },
  { feed: "btcFeed", heartbeat: "btcOracleHeartbeat" },
  { feed: "stethFeed", heartbeat: "stethOracleHeartbeat" },
] as const;
const ASSETS_MODULE = "ExternalAssets";
/** The default heartbeat of the Markets module (one day). */
const DEFAULT_HEARTBEAT = 86_400n;
/** Ether asked for on top of the estimate: fees move between the check and the deployment. */
export const GAS_MARGIN_PERCENT = 25n;

export interface PreflightCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/** Thrown when a check fails; `checks` holds all of them, passed and failed. */
export class PreflightError extends Error {
  override name = "PreflightError";
  constructor(readonly checks: PreflightCheck[]) {
    const failed = checks.filter((c) => !c.ok);
    super(
      `preflight failed, nothing was sent (${failed.length} of ${checks.length} checks):\n` +
        failed.map((c) => `  ✗ ${c.name}: ${c.detail}`).join("\n"),
    );
  }
}

export interface PreflightInput {
  provider: Provider;
  module: IgnitionModule;
  parameters: DeploymentParameters;
  /** The account that will deploy; undefined when none is configured. */
  deployer: string | undefined;
  /** How to configure a deployer, for the message when there is none. */
  deployerHint: string;
  /** The chain id the network should have (from its configuration), when known. */
  expectedChainId?: number;
  /** The module parameter (moduleId.name) holding the settlement-token seeds, if any. */
  seedParameters?: readonly string[];
  /** Gas of the whole deployment; called only when every other check passed. */
  estimateGas: () => Promise<bigint>;
}

const param = (parameters: DeploymentParameters, moduleId: string, name: string): unknown =>
  parameters[moduleId]?.[name] ?? parameters.$global?.[name];

/** Runs every check and returns them; throws {@link PreflightError} when one fails. */
export async function preflight(input: PreflightInput): Promise<PreflightCheck[]> {
  const { provider, parameters } = input;
  const checks: PreflightCheck[] = [];
  const add = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });

  // 1. the parameter file against the module: misspelt, missing or unfilled values
  const addressKeys = [...EXTERNAL_TOKENS, ...EXTERNAL_FEEDS.map((f) => f.feed)].map((k) => `${ASSETS_MODULE}.${k}`);
  const problems = checkParameters(input.module, parameters, addressKeys);
  for (const p of problems) add(`parameter ${p.key}`, false, p.message);
  if (problems.length === 0) add("parameters", true, `every parameter of ${input.module.id} present and known`);

  // 2. the chain
  const chainId = Number((await provider.getNetwork()).chainId);
  if (input.expectedChainId !== undefined && chainId !== input.expectedChainId) {
    add(
      "chain",
      false,
      `the RPC URL serves chain ${chainId}, the network is configured for ${input.expectedChainId}: check the URL`,
    );
  } else {
    add("chain", true, `chain ${chainId}`);
  }
  const latest = await provider.getBlock("latest");
  const now = BigInt(latest?.timestamp ?? Math.floor(Date.now() / 1000));

  // 3. every external address holds code; tokens and feeds answer
  const address = (key: string): string | undefined => {
    const value = param(parameters, ASSETS_MODULE, key);
    return typeof value === "string" && /^0x[0-9a-fA-F]{40}$/.test(value) ? value : undefined;
  };
  const hasCode = async (key: string, at: string) => {
    const code = await provider.getCode(at);
    if (code === "0x")
      add(
        `code ${key}`,
        false,
        `${ASSETS_MODULE}.${key} = ${at} holds no contract on chain ${chainId}: wrong address or wrong network`,
      );
    return code !== "0x";
  };
  let settlementDecimals: number | undefined;
  for (const key of EXTERNAL_TOKENS) {
    const at = address(key);
    if (!at || !(await hasCode(key, at))) continue;
    try {
      const token = MockERC20__factory.connect(at, provider);
      const [symbol, decimals] = await Promise.all([token.symbol(), token.decimals()]);
      if (decimals > 18n)
        add(`token ${key}`, false, `${symbol} at ${at} has ${decimals} decimals; the Vault supports 0 to 18`);
      else add(`token ${key}`, true, `${symbol}, ${decimals} decimals`);
      if (key === "usdc") settlementDecimals = Number(decimals);
    } catch {
      add(`token ${key}`, false, `${ASSETS_MODULE}.${key} = ${at} does not answer symbol()/decimals(): not an ERC-20`);
    }
  }
  for (const { feed: key, heartbeat: heartbeatKey } of EXTERNAL_FEEDS) {
    const at = address(key);
    if (!at || !(await hasCode(key, at))) continue;
    const heartbeatValue = param(parameters, "Markets", heartbeatKey);
    const heartbeat = typeof heartbeatValue === "bigint" ? heartbeatValue : DEFAULT_HEARTBEAT;
    try {
      const feed = AggregatorV3Interface__factory.connect(at, provider);
      const [decimals, description, round] = await Promise.all([
        feed.decimals(),
        feed.description(),
        feed.latestRoundData(),
      ]);
      const age = now - round.updatedAt;
      const label = `${description} at ${at}`;
      if (decimals === 0n || decimals > 18n) {
        add(`feed ${key}`, false, `${label} has ${decimals} decimals; expected 1 to 18 (Chainlink USD feeds have 8)`);
      } else if (round.answer <= 0n) {
        add(`feed ${key}`, false, `${label} answers ${round.answer}: not a price`);
      } else if (round.updatedAt === 0n || round.answeredInRound < round.roundId) {
        add(`feed ${key}`, false, `${label}: round ${round.roundId} is incomplete`);
      } else if (age > heartbeat) {
        add(
          `feed ${key}`,
          false,
          `${label} is stale: last update ${age} s ago, heartbeat (Markets.${heartbeatKey}) ${heartbeat} s — wrong feed, or a heartbeat shorter than the feed's`,
        );
      } else {
        add(
          `feed ${key}`,
          true,
          `${description} = ${formatUnits(round.answer, decimals)}, ${age} s old (heartbeat ${heartbeat} s)`,
        );
      }
    } catch {
      add(
        `feed ${key}`,
        false,
        `${ASSETS_MODULE}.${key} = ${at} does not answer decimals()/latestRoundData(): not a Chainlink feed`,
      );
    }
  }

  // 4. the deployer
  if (!input.deployer) {
    add("deployer", false, `no deployer account: ${input.deployerHint}`);
    throw new PreflightError(checks);
  }
  const deployer = input.deployer;
  const usdc = address("usdc");
  if (input.seedParameters?.length && usdc && settlementDecimals !== undefined) {
    let seeds = 0n;
    for (const key of input.seedParameters) {
      const [moduleId, name] = key.split(".");
      const value = param(parameters, moduleId, name);
      if (typeof value === "bigint") seeds += value;
    }
    const balance = await MockERC20__factory.connect(usdc, provider).balanceOf(deployer);
    add(
      "seed tokens",
      balance >= seeds,
      `the deployer ${deployer} holds ${formatUnits(balance, settlementDecimals)} of the settlement token, ` +
        `the seeds (${input.seedParameters.join(" + ")}) need ${formatUnits(seeds, settlementDecimals)}` +
        (balance >= seeds ? "" : ": fund it, or lower the seeds"),
    );
  }
  if (checks.some((c) => !c.ok)) throw new PreflightError(checks);

  // 5. gas, last: measuring it takes a local deployment
  const gas = await input.estimateGas();
  const fees = await provider.getFeeData();
  const feePerGas = fees.maxFeePerGas ?? fees.gasPrice ?? 0n;
  const needed = (gas * feePerGas * (100n + GAS_MARGIN_PERCENT)) / 100n;
  const balance = await provider.getBalance(deployer);
  add(
    "deployer funds",
    balance >= needed,
    `${deployer} holds ${formatEther(balance)} ETH; the deployment needs about ${gas.toLocaleString("en-US")} gas × ` +
      `${formatUnits(feePerGas, "gwei")} gwei + ${GAS_MARGIN_PERCENT} % = ${formatEther(needed)} ETH` +
      (balance >= needed ? "" : ": fund the deployer, or wait for lower fees"),
  );
  if (checks.some((c) => !c.ok)) throw new PreflightError(checks);
  return checks;
}
