/**
 * The simulator (DESIGN §11): deploys the local protocol, opens the population, and steps the
 * price path through the real contracts and the real keeper, in cross mode and in isolated mode
 * from the same deployed snapshot. Nothing the contracts decide is computed off chain: margin,
 * liquidation, penalties and bad debt all come from the chain (views, events).
 */
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import pino from "pino";
import { LedgerTotals__factory, type ClearingHouse, type IMarginLens, type LedgerTotals } from "../../typechain-types";
import { deployLocal, type LocalProtocol } from "../deploy/local";
import { Keeper } from "../keeper/keeper";
import { abs, WAD } from "../math/fixedPoint";
import { tieredRequirement, type Tier } from "../math/margin";
import { SIZE_STEP } from "../math/liquidation";
import { readAccountSnapshot, snapshotMargin, type MarketInputsCache } from "../protocol/margin";
import { ClockedSigner, SimChain } from "./chain";
import { generatePopulation, MARKET_ID, TOKEN_DECIMALS, usdToWad, type Leg, type TraderPlan } from "./population";
import { generatePricePath, parsePriceCsv } from "./prices";
import {
  REPORT_SCHEMA,
  type Bands,
  type CascadeNode,
  type CascadeReport,
  type ComparisonRow,
  type KeeperAgentReport,
  type KeeperReport,
  type Mode,
  type ModeReport,
  type ModeSeries,
  type ModeSummary,
  type SimulationReport,
  type TraderOutcome,
} from "./report";
import { createRng, type Rng } from "./rng";
import {
  COLLATERAL,
  MARKETS,
  SYMBOLS,
  resolvePrices,
  resolveRegimes,
  type LoadedScenario,
  type MarketName,
  type Scenario,
  type SymbolName,
} from "./scenario";

/** Chain time of step 0: fixed, so that two runs see the same absolute timestamps too. */
export const SIMULATION_EPOCH = 2_000_000_000;
const HEALTH_BATCH = 200;

export interface ProgressSink {
  /** `unit` names what is counted ("steps" unless said). */
  start(label: string, total: number, unit?: string): void;
  tick(done: number): void;
  end(): void;
}

export interface SimulationOptions {
  modes: Mode[];
  progress?: ProgressSink;
  /**
   * Monte Carlo path index: the price path and the traders' behaviour come from the seed's
   * stream `path-<i>` (common random numbers: path i draws the same numbers in every mode and for
   * every parameter value), the population from the seed itself. Unset: the single-run streams.
   */
  pathIndex?: number;
  /**
   * Deployments kept between runs of one process, by scenario hash: a later run reverts to the
   * deployed, configured snapshot instead of deploying again (the memory of a path is released).
   */
  reuse?: Map<string, PreparedChain>;
}

/** A deployed, configured protocol and the snapshot to start each run from. */
export interface PreparedChain {
  protocol: LocalProtocol;
  totals: LedgerTotals;
  chain: SimChain;
  snapshot: string;
}

/** An invariant broken during a run: the run stops with the details. */
export class InvariantViolation extends Error {
  constructor(
    readonly invariant: string,
    readonly step: number,
    readonly mode: Mode,
    readonly details: Record<string, string>,
  ) {
    super(
      `invariant "${invariant}" broken at step ${step} (${mode} mode): ` +
        Object.entries(details)
          .map(([k, v]) => `${k} = ${v}`)
          .join(", "),
    );
    this.name = "InvariantViolation";
  }
}

const num = (wad: bigint, decimals = 18): number => Number(wad) / 10 ** decimals;
const cents = (x: number): number => Math.round(x * 100) / 100;
const fix = (x: number, places = 6): number => Number(x.toFixed(places));

/** One trader's live state in one mode. */
interface TraderState {
  plan: TraderPlan;
  accounts: { id: bigint; legs: Leg[]; quotes: TraderPlan["quotes"] }[];
  reserve: bigint;
  startEquity: bigint;
  lastMark: bigint;
  initialMargin: bigint;
  depositedUsd: bigint;
  worstRatio: number | null;
  liquidations: number;
  liquidatedMarkets: Set<MarketName>;
}

/** A keeper of the run: the real Keeper class, with its schedule, its bid and its books. */
interface KeeperAgent {
  keeper: Keeper;
  signer: ClockedSigner;
  address: string;
  /** Token balances (units) at the start. */
  wallet: Record<"USDC" | "WETH" | "WBTC", bigint>;
  report: KeeperAgentReport;
  rewards: bigint;
  /** USD, summed per transaction. */
  gasCost: number;
  /** Hashes of its transactions (attributes bad-debt settlements, whose event names no keeper). */
  sent: Set<string>;
}

const gweiToWei = (gwei: number): bigint => BigInt(Math.round(gwei * 1e9));

/** Nearest-rank quantile (type 1) of sorted values. */
function rankQuantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

interface Health {
  equity: bigint;
  maintenanceMargin: bigint;
  initialMargin: bigint;
  liquidatable: boolean;
}

/** The random streams of a run: the seed's own, or Monte Carlo path i's (`path-<i>`). */
function pathStreams(root: Rng, pathIndex: number | undefined): Rng {
  return pathIndex === undefined ? root : root.fork(`path-${pathIndex}`);
}

/**
 * The scenario's price path (per symbol, one price per step), for the single run or for Monte
 * Carlo path `pathIndex`. It depends only on the seed, the price section and the path index —
 * not on the mode nor on any protocol or population parameter (common random numbers).
 */
export function pricePathFor(loaded: LoadedScenario, pathIndex?: number): Record<string, number[]> {
  const { scenario } = loaded;
  const prices = resolvePrices(scenario);
  return generatePricePath(
    {
      symbols: [...SYMBOLS],
      initial: prices.initial,
      volatility: prices.volatility,
      drift: prices.drift,
      correlation: prices.correlation,
      jumps: scenario.prices.jumps,
      shocks: scenario.prices.shocks,
      replay: loaded.csv ? parsePriceCsv(loaded.csv, scenario.prices.csv) : undefined,
      replayAs: scenario.prices.replayAs,
      regimes: resolveRegimes(scenario),
      bridges: scenario.prices.bridges,
    },
    scenario.steps,
    scenario.stepSeconds,
    pathStreams(createRng(scenario.seed), pathIndex).fork("prices"),
  );
}

/** Runs a scenario in the requested modes and returns the report (not yet written to disk). */
export async function runSimulation(
  hre: HardhatRuntimeEnvironment,
  loaded: LoadedScenario,
  options: SimulationOptions,
): Promise<SimulationReport> {
  const started = Date.now();
  const { scenario } = loaded;
  const prices = resolvePrices(scenario);
  const root = createRng(scenario.seed);
  const rng = pathStreams(root, options.pathIndex);
  const path = pricePathFor(loaded, options.pathIndex);

  const raw = hre.network.provider;
  let prepared = options.reuse?.get(loaded.hash);
  if (prepared) {
    await raw.send("evm_revert", [prepared.snapshot]);
    prepared.snapshot = (await raw.send("evm_snapshot", [])) as string;
  } else {
    const heartbeats = Object.entries(scenario.oracles.heartbeatSeconds) as [SymbolName, number][];
    const protocol = await deployLocal(hre, {
      deploymentId: `simulator-${await hre.ethers.provider.getBlockNumber()}`,
      parameters: {
        Markets: Object.fromEntries(
          heartbeats.map(([sym, seconds]) => [`${sym.toLowerCase()}OracleHeartbeat`, BigInt(seconds)]),
        ),
      },
    });
    const [deployer] = await hre.ethers.getSigners();
    const totals = await new LedgerTotals__factory(deployer).deploy();
    await totals.waitForDeployment();
    const chain = new SimChain(raw, [
      protocol.clearingHouse.interface,
      protocol.vault.interface,
      protocol.usdc.interface,
    ]);
    await configureProtocol(chain, protocol, scenario, deployer.address);
    prepared = { protocol, totals, chain, snapshot: (await raw.send("evm_snapshot", [])) as string };
    options.reuse?.set(loaded.hash, prepared);
  }
  const { protocol, totals, chain } = prepared;
  chain.time = 0;
  const latest = await chain.latestTimestamp();
  const epoch = Math.max(SIMULATION_EPOCH, latest + 1);
  const snapshot = (await raw.send("evm_snapshot", [])) as string;

  const haircuts = {
    USDC: 0,
    WETH: num((await protocol.vault.collateralConfig(protocol.weth)).haircut),
    WBTC: num((await protocol.vault.collateralConfig(protocol.wbtc)).haircut),
  };
  const population = generatePopulation(scenario, prices.initial, haircuts, root.fork("population"));

  const modes: Partial<Record<Mode, ModeReport>> = {};
  const perMode: SimulationReport["timing"]["perMode"] = {};
  let peakRss = process.memoryUsage().rss;
  for (const [i, mode] of options.modes.entries()) {
    if (i > 0) {
      await raw.send("evm_revert", [snapshot]);
    }
    const t0 = Date.now();
    const txBefore = chain.transactions;
    const runner = new ModeRunner(hre, scenario, mode, protocol, totals, chain, population, path, epoch, rng, options);
    modes[mode] = await runner.run();
    const seconds = (Date.now() - t0) / 1000;
    const phases = Object.fromEntries(Object.entries(runner.phases).map(([k, v]) => [k, fix(v / 1000, 3)]));
    const transactions = chain.transactions - txBefore;
    perMode[mode] = {
      seconds: fix(seconds, 3),
      steps: scenario.steps,
      stepsPerSecond: fix(scenario.steps / seconds, 2),
      transactions,
      transactionsPerSecond: fix(transactions / seconds, 1),
      phaseSeconds: phases,
    };
    peakRss = Math.max(peakRss, runner.peakRss);
  }

  return {
    schema: REPORT_SCHEMA,
    scenario: {
      name: scenario.name,
      description: scenario.description,
      hash: loaded.hash,
      seed: scenario.seed,
      steps: scenario.steps,
      stepSeconds: scenario.stepSeconds,
      symbols: [...SYMBOLS],
      markets: [...MARKETS],
      impact: scenario.impact.enabled,
      resolved: scenario,
    },
    modes,
    comparison: compare(modes),
    timing: {
      startedAt: new Date(started).toISOString(),
      totalSeconds: fix((Date.now() - started) / 1000, 3),
      perMode,
      peakRssMb: fix(peakRss / 2 ** 20, 1),
    },
  };
}

/** Owner settings of the scenario's `protocol` section. */
async function configureProtocol(chain: SimChain, p: LocalProtocol, s: Scenario, owner: string): Promise<void> {
  const ch = p.clearingHouse;
  const address = await ch.getAddress();
  const send = async (data: string, what: string) => {
    chain.time = Math.max(chain.time, (await chain.latestTimestamp()) + 1);
    const result = await chain.send(owner, address, data);
    if (!result.ok)
      throw new Error(`scenario protocol setting ${what} was refused by the ClearingHouse: ${result.reason}`);
  };
  const q = s.protocol;
  const wad = (x: number) => usdToWad(x);
  if (
    [
      q.liquidationFee,
      q.keeperShare,
      q.closeFactor,
      q.fullLiquidationThreshold,
      q.dustThresholdUsd,
      q.collateralDiscount,
    ].some((v) => v !== undefined)
  ) {
    const cur = await ch.liquidationParams();
    const params = {
      liquidationFee: q.liquidationFee !== undefined ? wad(q.liquidationFee) : cur.liquidationFee,
      keeperShare: q.keeperShare !== undefined ? wad(q.keeperShare) : cur.keeperShare,
      closeFactor: q.closeFactor !== undefined ? wad(q.closeFactor) : cur.closeFactor,
      fullLiquidationThreshold:
        q.fullLiquidationThreshold !== undefined ? wad(q.fullLiquidationThreshold) : cur.fullLiquidationThreshold,
      dustThreshold: q.dustThresholdUsd !== undefined ? wad(Math.round(q.dustThresholdUsd)) : cur.dustThreshold,
      collateralDiscount: q.collateralDiscount !== undefined ? wad(q.collateralDiscount) : cur.collateralDiscount,
    };
    await send(ch.interface.encodeFunctionData("setLiquidationParams", [params]), "liquidation parameters");
  }
  if (q.hedgeOffset !== undefined) {
    await send(ch.interface.encodeFunctionData("setGroupOffset", [1, wad(q.hedgeOffset)]), "protocol.hedgeOffset");
  }
  if (q.circuitBreakerTimeoutSeconds !== undefined) {
    await send(
      ch.interface.encodeFunctionData("setCircuitBreakerTimeout", [q.circuitBreakerTimeoutSeconds]),
      "protocol.circuitBreakerTimeoutSeconds",
    );
  }
  for (const [name, id] of Object.entries(MARKET_ID)) {
    if (q.maxPriceDeviation !== undefined) {
      const params = await ch.marketParams(id);
      const next = {
        oracle: params.oracle,
        group: params.group,
        skewScale: params.skewScale,
        takerFee: params.takerFee,
        maxFundingRatePerDay: params.maxFundingRatePerDay,
        maxLongOpenInterest: params.maxLongOpenInterest,
        maxShortOpenInterest: params.maxShortOpenInterest,
        maxPriceDeviation: wad(q.maxPriceDeviation),
        tiers: params.tiers.map((t) => ({ upToNotional: t.upToNotional, mmRate: t.mmRate, imRate: t.imRate })),
      };
      await send(
        ch.interface.encodeFunctionData("setMarketParams", [id, next]),
        `protocol.maxPriceDeviation (${name})`,
      );
    }
    if (q.rateLimitCapUsd !== undefined) {
      await send(
        ch.interface.encodeFunctionData("setLiquidationRateLimit", [
          id,
          BigInt(Math.round(q.rateLimitCapUsd)) * WAD,
          q.rateLimitWindowSeconds ?? 3_600,
        ]),
        `protocol.rateLimitCapUsd (${name})`,
      );
    }
  }
}

class ModeRunner {
  peakRss = 0;
  /** Wall-clock milliseconds per phase of the steps. */
  readonly phases: Record<"prices" | "traders" | "keepers" | "metrics" | "invariants", number> = {
    prices: 0,
    traders: 0,
    keepers: 0,
    metrics: 0,
    invariants: 0,
  };
  private async timed<T>(phase: keyof ModeRunner["phases"], f: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      this.phases[phase] += performance.now() - t0;
    }
  }
  private readonly traders: TraderState[] = [];
  private readonly accountOwner = new Map<bigint, TraderState>();
  private readonly accountLegs = new Map<bigint, Leg[]>();
  private accountCount = 0n;
  private readonly keepers: KeeperAgent[] = [];
  private readonly keeperIndex = new Map<string, number>();
  /** Open liquidation episodes by account: the step it was first seen liquidatable, and whether a keeper served it. */
  private readonly episodes = new Map<bigint, { since: number; served: boolean }>();
  private readonly ttl = { episodes: 0, recovered: 0, delays: [] as number[] };
  private readonly oracleStats = { stepsWithUnpriced: 0, unpricedAccountSteps: 0, mirrorChecksSkipped: 0 };
  private readonly impact: Record<MarketName, number> = { ETH: 1, BTC: 1, STETH: 1 };
  private readonly answers: Partial<Record<SymbolName, bigint>> = {};
  private readonly generation = new Map<bigint, number>();
  /** The cascade node (liquidation) whose impact pushed an account under, until it is liquidated. */
  private readonly pushedBy = new Map<bigint, number>();
  private readonly cascadeNodes: CascadeNode[] = [];
  private readonly liquidatedAccounts = new Set<bigint>();
  private addresses: { ch: string; vault: string } | undefined;
  private readonly rng: Rng;
  private tiers: Record<MarketName, Tier[]> = { ETH: [], BTC: [], STETH: [] };
  private groups: Record<MarketName, number> = { ETH: 0, BTC: 0, STETH: 0 };
  private readonly summary: ModeSummary;
  private readonly series: ModeSeries;
  private readonly wad = {
    notionalLiquidated: 0n,
    penaltiesPaid: 0n,
    keeperRewards: 0n,
    badDebt: 0n,
  };
  private insuranceStart = 0n;
  private stepsStart = 0;
  private stepTime = 0;
  private insuranceLow = 0n;
  private sharePriceStart = 0;
  private keeperTxStart = 0;

  constructor(
    private readonly hre: HardhatRuntimeEnvironment,
    private readonly scenario: Scenario,
    private readonly mode: Mode,
    private readonly p: LocalProtocol,
    private readonly totals: LedgerTotals,
    private readonly chain: SimChain,
    private readonly population: TraderPlan[],
    private readonly path: Record<string, number[]>,
    private readonly epoch: number,
    rng: Rng,
    private readonly options: SimulationOptions,
  ) {
    // trader behaviour draws the same numbers in both modes
    this.rng = rng.fork("behaviour");
    this.summary = {
      traders: population.length,
      accounts: 0,
      collateralNeeded: 0,
      collateralDeposited: 0,
      exposure: 0,
      tradersLiquidated: 0,
      accountsLiquidated: 0,
      liquidations: 0,
      notionalLiquidated: 0,
      penaltiesPaid: 0,
      keeperRewards: 0,
      badDebt: 0,
      insuranceDrawdown: 0,
      insuranceStart: 0,
      insuranceEnd: 0,
      poolSharePriceStart: 0,
      poolSharePriceEnd: 0,
      maxCascadeDepth: 0,
      collateralLiquidations: 0,
      badDebtSettlements: 0,
      traderTxs: 0,
      traderTxsReverted: 0,
      revertReasons: {},
      keeperTxs: 0,
      invariantChecks: 0,
      badDebtWad: "0",
      notionalLiquidatedWad: "0",
      penaltiesPaidWad: "0",
    };
    const perMarket = () => Object.fromEntries(MARKETS.map((m) => [m, [] as number[]]));
    this.series = {
      time: [],
      prices: Object.fromEntries(SYMBOLS.map((s) => [s, [] as number[]])),
      equity: [],
      openInterestLong: perMarket(),
      openInterestShort: perMarket(),
      skew: perMarket(),
      fundingRate: perMarket(),
      marginRatio: [],
      liquidations: [],
      liquidatedNotional: [],
      insuranceFund: [],
      poolSharePrice: [],
      badDebt: [],
      cascadeDepth: [],
    };
  }

  async run(): Promise<ModeReport> {
    const { scenario, chain } = this;
    chain.time = this.epoch;
    for (const m of MARKETS) {
      const params = await this.p.clearingHouse.marketParams(MARKET_ID[m]);
      this.tiers[m] = params.tiers.map((t) => ({ upToNotional: t.upToNotional, mmRate: t.mmRate, imRate: t.imRate }));
      this.groups[m] = Number(params.group);
    }
    this.accountCount = await this.p.vault.accountCount();
    this.addresses = { ch: await this.p.clearingHouse.getAddress(), vault: await this.p.vault.getAddress() };
    await this.setPrices(0);
    await this.startKeepers();
    await this.openPopulation();
    // step k happens at stepsStart + k × stepSeconds in both modes, however long the opening took
    this.stepsStart = this.chain.time;
    this.insuranceStart = await this.p.vault.insuranceFund();
    this.insuranceLow = this.insuranceStart;
    this.sharePriceStart = await this.sharePrice();
    this.keeperTxStart = this.chain.signerTransactions;
    this.summary.traderTxs = 0;
    this.summary.traderTxsReverted = 0;
    this.summary.revertReasons = {};

    const progress = this.options.progress;
    progress?.start(`${scenario.name} · ${this.mode}`, scenario.steps);
    for (let step = 1; step <= scenario.steps; step++) {
      await this.step(step);
      progress?.tick(step);
      if (step % 25 === 0) this.peakRss = Math.max(this.peakRss, process.memoryUsage().rss);
    }
    progress?.end();
    return this.finish();
  }

  /* SETUP */

  private async startKeepers(): Promise<void> {
    const k = this.scenario.keepers;
    const signers = await this.hre.ethers.getSigners();
    if (signers.length < k.count + 1) {
      throw new Error(
        `keepers.count = ${k.count} needs ${k.count + 1} unlocked accounts on this network, it has ${signers.length}`,
      );
    }
    const pick = <T>(value: T | T[], i: number): T =>
      Array.isArray(value) ? value[Math.min(i, value.length - 1)] : value;
    const startBlock = (await this.chain.blockNumber()) + 1;
    const usdc = await this.p.usdc.getAddress();
    const vault = await this.p.vault.getAddress();
    for (let i = 0; i < k.count; i++) {
      const signer = signers[i + 1];
      const bid = pick(k.priorityFeeGwei, i);
      const capitalUsd = pick(k.capitalUsd, i);
      // its capital: settlement tokens for liquidateCollateral, approved once up front
      const capital = BigInt(Math.round(capitalUsd * 1e6));
      const before = await this.p.usdc.balanceOf(signer.address);
      if (before > capital) {
        await this.mustSend(
          signer.address,
          usdc,
          this.p.usdc.interface.encodeFunctionData("burn", [signer.address, before - capital]),
        );
      } else if (before < capital) {
        await this.mustSend(
          signer.address,
          usdc,
          this.p.usdc.interface.encodeFunctionData("mint", [signer.address, capital - before]),
        );
      }
      await this.mustSend(
        signer.address,
        usdc,
        this.p.usdc.interface.encodeFunctionData("approve", [vault, (1n << 256n) - 1n]),
      );
      const clocked = new ClockedSigner(signer, this.chain);
      // the keeper's calls (static calls included) come from its own address, as in production
      const keeper = new Keeper(
        {
          vault: this.p.vault.connect(clocked),
          clearingHouse: this.p.clearingHouse.connect(clocked),
          lens: this.p.lens.connect(clocked),
        },
        clocked,
        {
          startBlock,
          batchSize: 250,
          pollIntervalMs: 1,
          maxInFlight: 1,
          actConcurrency: 1,
          minProfitUsd: usdToWad(k.minProfitUsd),
          profitableOnly: k.profitableOnly,
          liquidateCollateral: k.liquidateCollateral,
          settleBadDebt: k.settleBadDebt,
          // what it pays per gas: the base fee plus its bid (unset: the node's fee data, as in production)
          ...(k.baseFeeGwei + bid > 0 ? { gasPriceWei: async () => gweiToWei(k.baseFeeGwei + bid) } : {}),
        },
        pino({ level: "silent" }),
      );
      this.keeperIndex.set(signer.address.toLowerCase(), i);
      this.keepers.push({
        keeper,
        signer: clocked,
        address: signer.address,
        wallet: {
          USDC: capital,
          WETH: await this.p.weth.balanceOf(signer.address),
          WBTC: await this.p.wbtc.balanceOf(signer.address),
        },
        report: {
          keeper: i,
          address: signer.address,
          latencySteps: pick(k.latencySteps, i),
          priorityFeeGwei: bid,
          capitalUsd,
          transactions: 0,
          liquidations: 0,
          collateralLiquidations: 0,
          badDebtSettlements: 0,
          rewardsUsd: 0,
          gasUsed: 0,
          gasCostUsd: 0,
          profitUsd: 0,
          capitalEndUsd: 0,
        },
        rewards: 0n,
        gasCost: 0,
        sent: new Set(),
      });
    }
  }

  private async mustSend(from: string, to: string, data: string): Promise<void> {
    const result = await this.chain.send(from, to, data);
    if (!result.ok) throw new Error(`setup transaction from ${from} to ${to} failed: ${result.reason}`);
  }

  private tokenAddress: Record<string, string> = {};

  private async openPopulation(): Promise<void> {
    const { p, chain } = this;
    const vault = await p.vault.getAddress();
    for (const t of COLLATERAL)
      this.tokenAddress[t] = await p[t.toLowerCase() as "usdc" | "weth" | "wbtc"].getAddress();
    const erc20 = p.usdc.interface;
    for (const plan of this.population) {
      // opening a large population takes chain time: the feeds keep publishing within their heartbeat
      await this.setPrices(0);
      await chain.fund(plan.address);
      const state: TraderState = {
        plan,
        accounts: [],
        reserve: plan.reserve,
        startEquity: 0n,
        lastMark: 0n,
        initialMargin: 0n,
        depositedUsd: 0n,
        worstRatio: null,
        liquidations: 0,
        liquidatedMarkets: new Set(),
      };
      for (const [token, amount] of Object.entries(plan.deposits)) {
        const total = token === "USDC" ? amount + plan.reserve : amount;
        const address = this.tokenAddress[token];
        await this.mustSend(plan.address, address, erc20.encodeFunctionData("mint", [plan.address, total]));
        await this.mustSend(plan.address, address, erc20.encodeFunctionData("approve", [vault, (1n << 256n) - 1n]));
      }
      if (plan.reserve > 0n && plan.deposits.USDC === undefined) {
        await this.mustSend(
          plan.address,
          this.tokenAddress.USDC,
          erc20.encodeFunctionData("mint", [plan.address, plan.reserve]),
        );
        await this.mustSend(
          plan.address,
          this.tokenAddress.USDC,
          erc20.encodeFunctionData("approve", [vault, (1n << 256n) - 1n]),
        );
      }
      // the accounts: one cross account, or one isolated account per position (per quoted market)
      const groups: { legs: Leg[]; quotes: TraderPlan["quotes"]; weight: bigint }[] = [];
      if (this.mode === "cross") {
        groups.push({ legs: plan.legs.map((l) => ({ ...l })), quotes: plan.quotes, weight: 1n });
      } else {
        for (const leg of plan.legs) {
          const notional = (abs(leg.size) * usdToWad(this.path[leg.market][0])) / WAD;
          groups.push({
            legs: [{ ...leg }],
            quotes: [],
            weight: tieredRequirement(notional, this.tiers[leg.market], true),
          });
        }
        for (const q of plan.quotes) {
          const notional = (q.maxSize * usdToWad(this.path[q.market][0])) / WAD;
          groups.push({ legs: [], quotes: [q], weight: tieredRequirement(notional, this.tiers[q.market], true) });
        }
        if (groups.length === 0) groups.push({ legs: [], quotes: [], weight: 1n });
      }
      const weightSum = groups.reduce((s, g) => s + g.weight, 0n);
      const remaining: Record<string, bigint> = Object.fromEntries(Object.entries(plan.deposits));
      for (const [g, group] of groups.entries()) {
        const mode = this.mode === "cross" ? 0 : 1;
        await this.mustSend(plan.address, vault, p.vault.interface.encodeFunctionData("createAccount", [mode]));
        const id = ++this.accountCount;
        const last = g === groups.length - 1;
        for (const [token, amount] of Object.entries(plan.deposits)) {
          const part = last ? remaining[token] : (amount * group.weight) / (weightSum === 0n ? 1n : weightSum);
          remaining[token] -= part;
          if (part === 0n) continue;
          await this.mustSend(
            plan.address,
            vault,
            p.vault.interface.encodeFunctionData("deposit", [id, this.tokenAddress[token], part]),
          );
        }
        const account = { id, legs: [] as Leg[], quotes: group.quotes };
        state.accounts.push(account);
        this.accountOwner.set(id, state);
        this.accountLegs.set(id, account.legs);
        // a refused opening trade (the chain decides) leaves that leg out in this mode; exposure counts what opened
        for (const leg of group.legs) await this.trade(state, id, leg.market, leg.size);
      }
      // the collateral value deposited (raw, at the initial prices)
      for (const [token, amount] of Object.entries(plan.deposits)) {
        const decimals = TOKEN_DECIMALS[token as keyof typeof TOKEN_DECIMALS];
        const symbol = token === "USDC" ? "USDC" : token === "WETH" ? "ETH" : "BTC";
        state.depositedUsd += (amount * 10n ** BigInt(18 - decimals) * usdToWad(this.path[symbol][0])) / WAD;
      }
      this.traders.push(state);
    }
    if (this.accountCount !== (await p.vault.accountCount())) {
      throw new Error(
        `account ids drifted: expected ${this.accountCount}, the Vault has ${await p.vault.accountCount()}`,
      );
    }
    // starting equity and the initial margin the exposure needs, from the chain
    const health = await this.healthAll();
    for (const t of this.traders) {
      for (const a of t.accounts) {
        const h = health.get(a.id);
        if (!h) continue;
        t.startEquity += h.equity;
        t.initialMargin += h.initialMargin;
      }
      t.lastMark = t.startEquity;
      for (const a of t.accounts) {
        for (const leg of a.legs)
          this.summary.exposure += num((abs(leg.size) * usdToWad(this.path[leg.market][0])) / WAD);
      }
      this.summary.collateralNeeded += num(t.initialMargin);
      this.summary.collateralDeposited += num(t.depositedUsd);
    }
    this.summary.accounts = Number(this.accountCount);
    this.summary.collateralNeeded = cents(this.summary.collateralNeeded);
    this.summary.collateralDeposited = cents(this.summary.collateralDeposited);
    this.summary.exposure = cents(this.summary.exposure);
  }

  /** One trade of a trader's account; keeps the local size in step with the chain. */
  private async trade(t: TraderState, accountId: bigint, market: MarketName, sizeDelta: bigint): Promise<boolean> {
    if (sizeDelta === 0n) return false;
    const result = await this.chain.send(
      t.plan.address,
      this.addresses!.ch,
      this.p.clearingHouse.interface.encodeFunctionData("openPosition", [accountId, MARKET_ID[market], sizeDelta, 0n]),
    );
    this.summary.traderTxs++;
    if (!result.ok) {
      this.summary.traderTxsReverted++;
      this.summary.revertReasons[result.reason] = (this.summary.revertReasons[result.reason] ?? 0) + 1;
      return false;
    }
    const legs = this.accountLegs.get(accountId)!;
    const leg = legs.find((l) => l.market === market);
    if (leg) leg.size += sizeDelta;
    else legs.push({ market, size: sizeDelta });
    const index = legs.findIndex((l) => l.size === 0n);
    if (index >= 0) legs.splice(index, 1);
    return true;
  }

  /* PRICES */

  private price(symbol: SymbolName, step: number): number {
    const base = this.path[symbol][step];
    return symbol === "USDC" ? base : base * this.impact[symbol as MarketName];
  }

  /** Pushes the step's prices (with impact) to the feeds whose answer changed. */
  private feedAddress: Partial<Record<SymbolName, string>> = {};
  /** Chain time of each feed's last answer, and each adapter's heartbeat (seconds). */
  private readonly publishedAt: Partial<Record<SymbolName, number>> = {};
  private readonly heartbeat: Record<SymbolName, number> = { ETH: 0, BTC: 0, STETH: 0, USDC: 0 };
  private deployer = "";

  /** Whether the scenario's oracle outages keep `symbol`'s feed silent at `step` (never at step 0). */
  private frozen(symbol: SymbolName, step: number): boolean {
    return (
      step > 0 &&
      this.scenario.oracles.outages.some(
        (o) => o.symbols.includes(symbol) && step >= o.fromStep && step < o.fromStep + o.steps,
      )
    );
  }

  /** The price the oracle publishes at `step`: the path's (with impact), or the last answer while its feed is silent. */
  private published(symbol: SymbolName, step: number): number {
    return this.frozen(symbol, step) ? Number(this.answers[symbol]!) / 1e8 : this.price(symbol, step);
  }

  private async setPrices(step: number): Promise<void> {
    if (!this.deployer) {
      this.deployer = (await this.hre.ethers.getSigners())[0].address;
      const feeds = { ETH: this.p.ethFeed, BTC: this.p.btcFeed, STETH: this.p.stethFeed, USDC: this.p.usdcFeed };
      for (const symbol of SYMBOLS) this.feedAddress[symbol] = await feeds[symbol].getAddress();
      const oracles = {
        ETH: this.p.ethOracle,
        BTC: this.p.btcOracle,
        STETH: this.p.stethOracle,
        USDC: this.p.usdcOracle,
      };
      for (const symbol of SYMBOLS) this.heartbeat[symbol] = Number(await oracles[symbol].heartbeat());
    }
    const iface = this.p.ethFeed.interface;
    for (const symbol of SYMBOLS) {
      if (this.frozen(symbol, step)) continue;
      const answer = BigInt(Math.round(this.price(symbol, step) * 1e8));
      if (answer <= 0n) {
        throw new Error(`price of ${symbol} fell to zero at step ${step}: the scenario's moves are too large`);
      }
      // an unchanged answer is published again once half its heartbeat has passed, as feeds do
      const due = this.chain.time - (this.publishedAt[symbol] ?? 0) >= this.heartbeat[symbol] / 2;
      if (this.answers[symbol] === answer && !due) continue;
      this.answers[symbol] = answer;
      this.publishedAt[symbol] = this.chain.time;
      await this.mustSend(this.deployer, this.feedAddress[symbol]!, iface.encodeFunctionData("updateAnswer", [answer]));
    }
  }

  /* THE STEP */

  private async step(step: number): Promise<void> {
    const { scenario } = this;
    this.chain.advanceTo(this.stepsStart + step * scenario.stepSeconds);
    this.stepTime = this.chain.time;
    const halfLife = scenario.impact.halfLifeSteps;
    if (halfLife > 0) {
      const keep = 0.5 ** (1 / halfLife);
      for (const m of MARKETS) this.impact[m] = 1 + (this.impact[m] - 1) * keep;
    }
    await this.timed("prices", () => this.setPrices(step));

    // what the traders see after the move; the accounts it made liquidatable are generation 1
    const seen = await this.timed("metrics", () => this.healthAll());
    if (this.lastUnpriced > 0) {
      this.oracleStats.stepsWithUnpriced++;
      this.oracleStats.unpricedAccountSteps += this.lastUnpriced;
    }
    this.observe(seen);
    for (const [id, h] of seen) {
      if (!h.liquidatable) {
        this.generation.delete(id);
        this.pushedBy.delete(id);
      } else if (!this.generation.has(id)) this.generation.set(id, 1);
      this.trackEpisode(id, h.liquidatable, step);
    }
    // a step's transactions take chain time (one second each): feeds republish what is due meanwhile
    await this.timed("prices", () => this.setPrices(step));
    await this.timed("traders", () => this.tradersAct(seen));
    const { count, notional, depth } = await this.timed("keepers", () => this.keeperRounds(step));
    await this.timed("metrics", () => this.recordSeries(step, seen, count, notional, depth));
    await this.timed("prices", () => this.setPrices(step));
    await this.timed("invariants", () => this.checkInvariants(step));
  }

  /** Keepers tick round after round while they liquidate; with price impact each round moves the oracle. */
  private async keeperRounds(step: number): Promise<{ count: number; notional: bigint; depth: number }> {
    const { scenario } = this;

    // keepers, round after round while they liquidate (liquidations may move prices: a cascade)
    let count = 0;
    let notional = 0n;
    let depth = 0;
    // a keeper ticks every `latency` steps, none during an outage; the higher bid lands first (stable by index)
    const due = this.keepersDown(step)
      ? []
      : this.keepers
          .filter((k, i) => (step + i) % k.report.latencySteps === 0)
          .sort((a, b) => b.report.priorityFeeGwei - a.report.priorityFeeGwei);
    for (let round = 1; round <= scenario.impact.maxRounds && due.length > 0; round++) {
      if (round > 1) await this.setPrices(step);
      const from = (await this.chain.blockNumber()) + 1;
      for (const { keeper } of due) await keeper.tick();
      const to = await this.chain.blockNumber();
      await this.chargeGas(due, step);
      const liquidated = from <= to ? await this.readEvents(from, to, step) : [];
      if (liquidated.length === 0) break;
      count += liquidated.length;
      const moved: Record<MarketName, bigint> = { ETH: 0n, BTC: 0n, STETH: 0n };
      let roundGen = 0;
      const roundNodes: CascadeNode[] = [];
      for (const l of liquidated) {
        notional += l.notional;
        moved[l.market] += l.closedSize > 0n ? -l.notional : l.notional; // closing a long sells
        const gen = this.generation.get(l.accountId) ?? 1;
        roundGen = Math.max(roundGen, gen);
        const node: CascadeNode = {
          id: this.cascadeNodes.length,
          step,
          round,
          account: Number(l.accountId),
          market: l.market,
          notional: cents(num(l.notional)),
          generation: gen,
          parent: gen > 1 ? (this.pushedBy.get(l.accountId) ?? null) : null,
        };
        this.cascadeNodes.push(node);
        roundNodes.push(node);
      }
      depth = Math.max(depth, roundGen);
      if (scenario.impact.enabled) {
        let changed = false;
        for (const m of MARKETS) {
          if (moved[m] === 0n) continue;
          const depthUsd = scenario.impact.depthUsd[m] ?? defaultDepth(m);
          const move = (scenario.impact.factor * num(moved[m])) / depthUsd;
          this.impact[m] = Math.max(0.01, this.impact[m] * (1 + move));
          changed = true;
        }
        if (changed) {
          await this.setPrices(step);
          // accounts the impact pushed under are one generation deeper
          const after = await this.healthAll();
          this.observe(after);
          for (const [id, h] of after) {
            if (h.liquidatable && !this.generation.has(id)) {
              this.generation.set(id, roundGen + 1);
              this.pushedBy.set(id, this.parentOf(id, roundNodes));
            }
            if (h.liquidatable) this.trackEpisode(id, true, step);
          }
        }
      }
    }
    return { count, notional, depth };
  }

  /** Whether `step` lies in one of the scenario's keeper outages (no keeper ticks). */
  private keepersDown(step: number): boolean {
    return this.scenario.keepers.outages.some((o) => step >= o.fromStep && step < o.fromStep + o.steps);
  }

  /** Opens a liquidation episode when an account is first seen liquidatable; closes it when seen healthy. */
  private trackEpisode(id: bigint, liquidatable: boolean, step: number): void {
    const episode = this.episodes.get(id);
    if (liquidatable) {
      if (!episode) {
        this.episodes.set(id, { since: step, served: false });
        this.ttl.episodes++;
      }
    } else if (episode) {
      if (!episode.served) this.ttl.recovered++;
      this.episodes.delete(id);
    }
  }

  /** A keeper acted on an account: the first action of its episode ends the wait. */
  private serveEpisode(id: bigint, step: number): void {
    const episode = this.episodes.get(id);
    if (episode && !episode.served) {
      episode.served = true;
      this.ttl.delays.push(step - episode.since);
    }
  }

  /** Gas of the keepers' transactions since the last call: gasUsed × (base fee + bid) at the step's ETH price. */
  private async chargeGas(agents: KeeperAgent[], step: number): Promise<void> {
    const ethUsd = this.price("ETH", step);
    for (const agent of agents) {
      for (const hash of agent.signer.takeHashes()) {
        const receipt = (await this.chain.provider.send("eth_getTransactionReceipt", [hash])) as {
          gasUsed: string;
        } | null;
        if (!receipt) throw new Error(`keeper ${agent.address}: no receipt for ${hash} after its round`);
        const gas = Number(BigInt(receipt.gasUsed));
        agent.sent.add(hash);
        agent.report.transactions++;
        agent.report.gasUsed += gas;
        agent.gasCost += gas * (this.scenario.keepers.baseFeeGwei + agent.report.priorityFeeGwei) * 1e-9 * ethUsd;
      }
    }
  }

  /**
   * Of the round's liquidations, the one that pushed `account` under: the largest notional in a
   * market the account holds, else the largest of all (its collateral moved with that market).
   */
  private parentOf(account: bigint, roundNodes: CascadeNode[]): number {
    const held = new Set((this.accountLegs.get(account) ?? []).map((l) => l.market as string));
    const inHeld = roundNodes.filter((n) => held.has(n.market));
    const pool = inHeld.length > 0 ? inHeld : roundNodes;
    return pool.reduce((best, n) => (n.notional > best.notional ? n : best)).id;
  }

  /** The cascade graph: depth, amplification and the largest cascade (by notional). */
  private cascadeReport(): CascadeReport {
    const nodes = this.cascadeNodes;
    const total = nodes.reduce((s, n) => s + n.notional, 0);
    const first = nodes.filter((n) => n.generation === 1).reduce((s, n) => s + n.notional, 0);
    const children = new Map<number, number[]>();
    for (const n of nodes) if (n.parent !== null) children.set(n.parent, [...(children.get(n.parent) ?? []), n.id]);
    let largest: CascadeReport["largest"] = null;
    for (const root of nodes.filter((n) => n.parent === null)) {
      const ids: number[] = [];
      const stack = [root.id];
      while (stack.length > 0) {
        const id = stack.pop()!;
        ids.push(id);
        stack.push(...(children.get(id) ?? []));
      }
      const notional = cents(ids.reduce((s, id) => s + nodes[id].notional, 0));
      if (ids.length > 1 && (!largest || notional > largest.notional)) {
        largest = { root: root.id, nodes: ids.sort((a, b) => a - b), notional };
      }
    }
    return {
      nodes,
      depth: nodes.reduce((d, n) => Math.max(d, n.generation), 0),
      amplification: first > 0 ? fix(total / first, 4) : nodes.length > 0 ? 0 : 1,
      largest,
    };
  }

  /**
   * Whether a market takes exposure-increasing trades now: not reduce-only and the price within the
   * circuit breaker's band (what a trading bot checks before sending; the chain decides anyway).
   */
  private async opensAllowed(market: MarketName, cache: Partial<Record<MarketName, boolean>>): Promise<boolean> {
    if (cache[market] === undefined) {
      const safety = await this.p.clearingHouse.marketSafety(MARKET_ID[market]);
      const price = this.answers[market]! * 10n ** 10n;
      const ref = safety.referencePrice;
      const within = ref === 0n || abs(price - ref) * WAD <= ref * safety.maxPriceDeviation;
      cache[market] = !safety.reduceOnly && within;
    }
    return cache[market]!;
  }

  private async tradersAct(health: Map<bigint, Health>): Promise<void> {
    const skew: Partial<Record<MarketName, bigint>> = {};
    const open: Partial<Record<MarketName, boolean>> = {};
    const increases = (size: bigint, delta: bigint) => size >= 0n === delta > 0n || abs(delta) > abs(size);
    for (const t of this.traders) {
      const strategy = t.plan.strategy;
      const spec = t.plan.spec;
      if (strategy === "marketMaker") {
        for (const a of t.accounts) {
          for (const q of a.quotes) {
            const state = skew[q.market] === undefined ? await this.marketState(q.market) : undefined;
            if (skew[q.market] === undefined && !state) continue; // the market cannot be priced: no quote
            skew[q.market] ??= state!.skew;
            const current = a.legs.find((l) => l.market === q.market)?.size ?? 0n;
            let target = (-skew[q.market]! * BigInt(Math.round(spec.lean * 1e6))) / 1_000_000n;
            if (target > q.maxSize) target = q.maxSize;
            if (target < -q.maxSize) target = -q.maxSize;
            const delta = roundSize(target - current);
            if (delta !== 0n && increases(current, delta) && !(await this.opensAllowed(q.market, open))) continue;
            if (abs(delta) * 20n >= q.maxSize && delta !== 0n) {
              if (await this.trade(t, a.id, q.market, delta)) skew[q.market] = skew[q.market]! + delta;
            }
          }
        }
        continue;
      }
      if (
        (strategy === "directional" || strategy === "reckless" || strategy === "topUp") &&
        spec.tradeProbability > 0
      ) {
        for (const a of t.accounts) {
          if (a.legs.length === 0 || this.rng.next() >= spec.tradeProbability) continue;
          const leg = a.legs[this.rng.int(0, a.legs.length - 1)];
          const factor = 0.1 + this.rng.next() * 0.4;
          const sign = this.rng.next() < 0.5 ? -1n : 1n;
          const magnitude = roundSize((abs(leg.size) * BigInt(Math.round(factor * 1e6))) / 1_000_000n) * sign;
          const delta = leg.size > 0n ? magnitude : -magnitude;
          if (increases(leg.size, delta) && !(await this.opensAllowed(leg.market, open))) continue;
          await this.trade(t, a.id, leg.market, delta);
        }
      }
      if (strategy === "topUp") {
        for (const a of t.accounts) {
          const h = health.get(a.id);
          if (!h || h.maintenanceMargin === 0n || t.reserve === 0n) continue;
          const ratio = Number((h.equity * 10_000n) / h.maintenanceMargin) / 10_000;
          if (ratio >= spec.topUpBelow) continue;
          const needWad = (h.maintenanceMargin * BigInt(Math.round(spec.topUpTo * 1e6))) / 1_000_000n - h.equity;
          let amount = (needWad + 10n ** 12n - 1n) / 10n ** 12n;
          if (amount > t.reserve) amount = t.reserve;
          if (amount <= 0n) continue;
          const result = await this.chain.send(
            t.plan.address,
            this.addresses!.vault,
            this.p.vault.interface.encodeFunctionData("deposit", [a.id, this.tokenAddress.USDC, amount]),
          );
          this.summary.traderTxs++;
          if (result.ok) t.reserve -= amount;
          else {
            this.summary.traderTxsReverted++;
            this.summary.revertReasons[result.reason] = (this.summary.revertReasons[result.reason] ?? 0) + 1;
          }
        }
      }
      if (strategy === "reckless") {
        let equity = 0n;
        for (const a of t.accounts) equity += health.get(a.id)?.equity ?? 0n;
        const trigger = (t.lastMark * BigInt(Math.round((1 - spec.addOnLossPct / 100) * 1e6))) / 1_000_000n;
        if (t.lastMark > 0n && equity < trigger && equity > 0n) {
          t.lastMark = equity;
          const add = BigInt(Math.round(spec.addPct * 1e4)); // millionths
          for (const a of t.accounts) {
            // doubling down only while the margin would still cover it (initial margin grows with size)
            const h = health.get(a.id);
            if (!h || h.initialMargin + (h.initialMargin * add) / 1_000_000n > h.equity) continue;
            for (const leg of [...a.legs]) {
              if (!(await this.opensAllowed(leg.market, open))) continue;
              await this.trade(t, a.id, leg.market, roundSize((leg.size * add) / 1_000_000n));
            }
          }
        }
      }
    }
  }

  /* OBSERVATION */

  /**
   * Health of every account, from MarginLens in batches (at the latest block). A batch that reverts
   * (an oracle past its heartbeat: the protocol refuses to price the accounts that depend on it) is
   * read account by account; the accounts that cannot be priced are left out and counted.
   */
  private async healthAll(): Promise<Map<bigint, Health>> {
    const result = new Map<bigint, Health>();
    const count = this.accountCount;
    const put = (id: bigint, h: IMarginLens.HealthStructOutput) =>
      result.set(id, {
        equity: h.equity,
        maintenanceMargin: h.maintenanceMargin,
        initialMargin: h.initialMargin,
        liquidatable: h.liquidatable,
      });
    let unpriced = 0;
    for (let from = 1n; from <= count; from += BigInt(HEALTH_BATCH)) {
      let batch: IMarginLens.HealthStructOutput[];
      try {
        batch = await this.p.lens.healthRange(from, HEALTH_BATCH);
      } catch (error) {
        if (this.scenario.oracles.outages.length === 0) throw error;
        const last = from + BigInt(HEALTH_BATCH) - 1n < count ? from + BigInt(HEALTH_BATCH) - 1n : count;
        for (let id = from; id <= last; id++) {
          try {
            put(id, await this.p.lens.health(id));
          } catch {
            unpriced++;
          }
        }
        continue;
      }
      batch.forEach((h, i) => put(from + BigInt(i), h));
    }
    this.lastUnpriced = unpriced;
    return result;
  }

  /** The market's state, or null when its oracle is past its heartbeat (only with oracle outages in the scenario). */
  private async marketState(m: MarketName): Promise<Awaited<ReturnType<ClearingHouse["marketState"]>> | null> {
    try {
      return await this.p.clearingHouse.marketState(MARKET_ID[m]);
    } catch (error) {
      if (this.scenario.oracles.outages.length === 0) throw error;
      return null;
    }
  }

  /** Accounts the last health read could not price (a stale oracle). */
  private lastUnpriced = 0;

  /** Keeps each trader's worst margin ratio. */
  private observe(health: Map<bigint, Health>): void {
    for (const [id, h] of health) {
      if (h.maintenanceMargin === 0n) continue;
      const t = this.accountOwner.get(id);
      if (!t) continue;
      const ratio = ratioOf(h);
      if (t.worstRatio === null || ratio < t.worstRatio) t.worstRatio = ratio;
    }
  }

  /** Liquidation-related events in [from, to]; updates the local positions and the tallies. */
  private async readEvents(
    from: number,
    to: number,
    step: number,
  ): Promise<{ accountId: bigint; market: MarketName; closedSize: bigint; notional: bigint }[]> {
    const ch = this.p.clearingHouse;
    const vault = this.p.vault;
    const liquidated = ch.interface.getEvent("Liquidated").topicHash;
    const repaid = vault.interface.getEvent("CollateralLiquidated").topicHash;
    const settled = vault.interface.getEvent("BadDebtSettled").topicHash;
    // one eth_getLogs for the three events of both contracts, in chain order
    const logs = (await this.chain.provider.send("eth_getLogs", [
      {
        fromBlock: `0x${from.toString(16)}`,
        toBlock: `0x${to.toString(16)}`,
        address: [this.addresses!.ch, this.addresses!.vault],
        topics: [[liquidated, repaid, settled]],
      },
    ])) as { address: string; topics: string[]; data: string; transactionHash: string }[];
    const out: { accountId: bigint; market: MarketName; closedSize: bigint; notional: bigint }[] = [];
    const agentOf = (topic: string | undefined) =>
      topic === undefined ? undefined : this.keeperIndex.get(`0x${topic.slice(26)}`.toLowerCase());
    for (const log of logs) {
      if (log.topics[0] === repaid) {
        this.summary.collateralLiquidations++;
        this.serveEpisode(BigInt(log.topics[1]), step);
        const k = agentOf(log.topics[3]);
        if (k !== undefined) this.keepers[k].report.collateralLiquidations++;
        continue;
      }
      if (log.topics[0] === settled) {
        const e = vault.interface.parseLog(log)!;
        this.summary.badDebtSettlements++;
        this.wad.badDebt += e.args.deficit as bigint;
        this.serveEpisode(e.args.accountId as bigint, step);
        const k = this.keepers.findIndex((a) => a.sent.has(log.transactionHash));
        if (k >= 0) this.keepers[k].report.badDebtSettlements++;
        continue;
      }
      const a = ch.interface.parseLog(log)!.args as unknown as {
        accountId: bigint;
        marketId: bigint;
        liquidator: string;
        closedSize: bigint;
        price: bigint;
        keeperReward: bigint;
        insuranceFee: bigint;
        newSize: bigint;
      };
      const market = MARKETS[Number(a.marketId) - 1];
      const notional = (abs(a.closedSize) * a.price + WAD - 1n) / WAD;
      out.push({ accountId: a.accountId, market, closedSize: a.closedSize, notional });
      this.summary.liquidations++;
      this.liquidatedAccounts.add(a.accountId);
      this.wad.notionalLiquidated += notional;
      this.wad.penaltiesPaid += a.keeperReward + a.insuranceFee;
      this.wad.keeperRewards += a.keeperReward;
      this.serveEpisode(a.accountId, step);
      const k = this.keeperIndex.get(a.liquidator.toLowerCase());
      if (k !== undefined) {
        this.keepers[k].report.liquidations++;
        this.keepers[k].rewards += a.keeperReward;
      }
      const t = this.accountOwner.get(a.accountId);
      if (t) {
        t.liquidations++;
        t.liquidatedMarkets.add(market);
      }
      const legs = this.accountLegs.get(a.accountId);
      if (legs) {
        const i = legs.findIndex((l) => l.market === market);
        if (i >= 0) {
          if (a.newSize === 0n) legs.splice(i, 1);
          else legs[i].size = a.newSize;
        }
      }
    }
    return out;
  }

  private async sharePrice(): Promise<number> {
    const pool = this.p.pool;
    const unit = 10n ** (await pool.decimals());
    return fix(num(await pool.convertToAssets(unit), 6), 9);
  }

  /** End of step: the series (equity and margin ratios from the health read after the price move). */
  private async recordSeries(
    step: number,
    health: Map<bigint, Health>,
    count: number,
    notional: bigint,
    depth: number,
  ): Promise<void> {
    const s = this.series;
    let equity = 0n;
    const ratios: number[] = [];
    for (const [, h] of health) {
      equity += h.equity;
      if (h.maintenanceMargin > 0n) ratios.push(ratioOf(h));
    }
    s.time.push(this.stepTime - this.stepsStart);
    for (const symbol of SYMBOLS) s.prices[symbol].push(fix(this.published(symbol, step), 6));
    s.equity.push(cents(num(equity)));
    for (const m of MARKETS) {
      const st = await this.marketState(m);
      if (!st) {
        // the market's oracle is past its heartbeat: the protocol reports nothing, the series carry the last values
        for (const series of [s.openInterestLong, s.openInterestShort, s.skew, s.fundingRate]) {
          series[m].push(series[m].length > 0 ? series[m][series[m].length - 1] : 0);
        }
        continue;
      }
      const px = this.published(m, step);
      s.openInterestLong[m].push(cents(num(st.longOpenInterest) * px));
      s.openInterestShort[m].push(cents(num(st.shortOpenInterest) * px));
      s.skew[m].push(fix(num(st.skew), 6));
      s.fundingRate[m].push(fix(num(st.fundingRate), 9));
    }
    s.marginRatio.push(bands(ratios));
    s.liquidations.push(count);
    s.liquidatedNotional.push(cents(num(notional)));
    const insurance = await this.p.vault.insuranceFund();
    if (insurance < this.insuranceLow) this.insuranceLow = insurance;
    s.insuranceFund.push(cents(num(insurance)));
    s.poolSharePrice.push(await this.sharePrice());
    s.badDebt.push(cents(num(this.wad.badDebt)));
    s.cascadeDepth.push(depth);
    if (depth > this.summary.maxCascadeDepth) this.summary.maxCascadeDepth = depth;
  }

  /* INVARIANTS */

  private async checkInvariants(step: number): Promise<void> {
    const { p } = this;
    if (this.scenario.checks.conservation) {
      const tokens = [this.tokenAddress.WETH, this.tokenAddress.WBTC];
      const vault = this.addresses!.vault;
      let quotes = 0n;
      const sums = [0n, 0n];
      const batch = 250n;
      for (let from = 1n; from <= this.accountCount; from += batch) {
        const [q, b] = await this.totals.totals(vault, tokens, from, batch);
        quotes += q;
        sums[0] += b[0];
        sums[1] += b[1];
      }
      const l = await this.totals.ledgers(vault, tokens);
      const usdcHeld = l.settlementHeld * 10n ** 12n;
      const ledgers = l.pool + BigInt(l.insurance) + l.fees;
      if (usdcHeld !== quotes + ledgers) {
        throw new InvariantViolation("conservation of the settlement token", step, this.mode, {
          "USDC held by the Vault (WAD)": usdcHeld.toString(),
          "Σ quote balances + pool + insurance + fees": (quotes + ledgers).toString(),
        });
      }
      for (const [i, name] of (["WETH", "WBTC"] as const).entries()) {
        if (l.held[i] !== sums[i] + l.insuranceHoldings[i] || l.totalDeposits[i] !== sums[i]) {
          throw new InvariantViolation(`conservation of ${name}`, step, this.mode, {
            "held by the Vault": l.held[i].toString(),
            "Σ account balances": sums[i].toString(),
            "insurance holdings": l.insuranceHoldings[i].toString(),
            totalDeposits: l.totalDeposits[i].toString(),
          });
        }
      }
      this.summary.invariantChecks += 3;
    }
    // MarginLens equals the TypeScript mirror on a sample of accounts with positions
    const sample = this.scenario.checks.mirrorSample;
    // while a feed is silent the mirror would need the protocol's view of a frozen (maybe refused) price
    const silent = SYMBOLS.some((symbol) => this.frozen(symbol, step));
    if (sample > 0 && silent) this.oracleStats.mirrorChecksSkipped += sample;
    if (sample > 0 && !silent) {
      const open = [...this.accountLegs.entries()].filter(([, legs]) => legs.length > 0).map(([id]) => id);
      for (let k = 0; k < Math.min(sample, open.length); k++) {
        const id = open[this.rng.fork(`mirror/${this.mode}/${step}/${k}`).int(0, open.length - 1)];
        const [snapshot, onChain] = await Promise.all([
          readAccountSnapshot(p.vault, p.clearingHouse, id, this.marketInputs),
          p.lens.health(id),
        ]);
        const mirror = snapshotMargin(snapshot);
        if (
          mirror.equity !== onChain.equity ||
          mirror.maintenanceMargin !== onChain.maintenanceMargin ||
          mirror.initialMargin !== onChain.initialMargin
        ) {
          throw new InvariantViolation("MarginLens equals the TypeScript mirror", step, this.mode, {
            account: id.toString(),
            "equity (lens / mirror)": `${onChain.equity} / ${mirror.equity}`,
            "maintenance margin (lens / mirror)": `${onChain.maintenanceMargin} / ${mirror.maintenanceMargin}`,
            "initial margin (lens / mirror)": `${onChain.initialMargin} / ${mirror.initialMargin}`,
          });
        }
        this.summary.invariantChecks++;
      }
    }
  }

  /** Market parameters for the mirror check, read once per run (governance does not change them mid-run). */
  private readonly marketInputs: MarketInputsCache = new Map();

  /* RESULT */

  private async finish(): Promise<ModeReport> {
    const s = this.summary;
    const health = await this.healthAll();
    const traders: TraderOutcome[] = this.traders.map((t) => {
      let end = 0n;
      for (const a of t.accounts) end += health.get(a.id)?.equity ?? 0n;
      return {
        trader: t.plan.index,
        cohort: t.plan.cohort,
        strategy: t.plan.strategy,
        accounts: t.accounts.map((a) => Number(a.id)),
        markets: [...new Set([...t.plan.legs.map((l) => l.market), ...t.plan.quotes.map((q) => q.market)])],
        depositedUsd: cents(num(t.depositedUsd)),
        initialMarginUsd: cents(num(t.initialMargin)),
        startEquity: cents(num(t.startEquity)),
        endEquity: cents(num(end)),
        liquidated: t.liquidations > 0,
        liquidations: t.liquidations,
        liquidatedMarkets: MARKETS.filter((m) => t.liquidatedMarkets.has(m)),
        worstMarginRatio: t.worstRatio === null ? null : fix(t.worstRatio, 4),
      };
    });
    s.tradersLiquidated = traders.filter((t) => t.liquidated).length;
    s.accountsLiquidated = this.liquidatedAccounts.size;
    s.notionalLiquidated = cents(num(this.wad.notionalLiquidated));
    s.penaltiesPaid = cents(num(this.wad.penaltiesPaid));
    s.keeperRewards = cents(num(this.wad.keeperRewards));
    s.badDebt = cents(num(this.wad.badDebt));
    s.badDebtWad = this.wad.badDebt.toString();
    s.notionalLiquidatedWad = this.wad.notionalLiquidated.toString();
    s.penaltiesPaidWad = this.wad.penaltiesPaid.toString();
    s.insuranceStart = cents(num(this.insuranceStart));
    s.insuranceEnd = cents(num(await this.p.vault.insuranceFund()));
    s.insuranceDrawdown = cents(num(this.insuranceStart - this.insuranceLow));
    s.poolSharePriceStart = this.sharePriceStart;
    s.poolSharePriceEnd = await this.sharePrice();
    s.keeperTxs = this.chain.signerTransactions - this.keeperTxStart;
    s.revertReasons = Object.fromEntries(Object.entries(s.revertReasons).sort(([a], [b]) => (a < b ? -1 : 1)));
    return {
      mode: this.mode,
      summary: s,
      series: this.series,
      traders,
      cascades: this.cascadeReport(),
      keepers: await this.keeperReport(),
      oracles: {
        frozenSteps: Object.fromEntries(
          SYMBOLS.map((symbol) => [
            symbol,
            Array.from({ length: this.scenario.steps }, (_, i) => i + 1).filter((step) => this.frozen(symbol, step))
              .length,
          ]),
        ),
        stepsWithUnpriced: this.oracleStats.stepsWithUnpriced,
        unpricedAccountSteps: this.oracleStats.unpricedAccountSteps,
        mirrorChecksSkipped: this.oracleStats.mirrorChecksSkipped,
      },
    };
  }

  /** Each keeper's books (valued at the final oracle prices) and the time-to-liquidation distribution. */
  private async keeperReport(): Promise<KeeperReport> {
    const last = this.scenario.steps;
    const value = (w: Record<"USDC" | "WETH" | "WBTC", bigint>): number =>
      num(w.USDC, TOKEN_DECIMALS.USDC) * this.price("USDC", last) +
      num(w.WETH, TOKEN_DECIMALS.WETH) * this.price("ETH", last) +
      num(w.WBTC, TOKEN_DECIMALS.WBTC) * this.price("BTC", last);
    const agents: KeeperAgentReport[] = [];
    for (const agent of this.keepers) {
      const end = {
        USDC: await this.p.usdc.balanceOf(agent.address),
        WETH: await this.p.weth.balanceOf(agent.address),
        WBTC: await this.p.wbtc.balanceOf(agent.address),
      };
      agents.push({
        ...agent.report,
        rewardsUsd: cents(num(agent.rewards)),
        gasCostUsd: cents(agent.gasCost),
        profitUsd: cents(value(end) - value(agent.wallet) - agent.gasCost),
        capitalEndUsd: cents(num(end.USDC, TOKEN_DECIMALS.USDC)),
      });
    }
    const delays = this.ttl.delays;
    const sorted = [...delays].sort((a, b) => a - b);
    const pending = [...this.episodes.values()].filter((e) => !e.served);
    return {
      agents,
      outageSteps: Array.from({ length: last }, (_, i) => i + 1).filter((step) => this.keepersDown(step)).length,
      timeToLiquidation: {
        episodes: this.ttl.episodes,
        served: delays.length,
        delaysSteps: delays,
        recovered: this.ttl.recovered,
        pending: pending.length,
        oldestPendingSteps: pending.length > 0 ? last - Math.min(...pending.map((e) => e.since)) : null,
        meanSteps: delays.length > 0 ? fix(delays.reduce((a, b) => a + b, 0) / delays.length, 4) : null,
        p50Steps: delays.length > 0 ? rankQuantile(sorted, 0.5) : null,
        p95Steps: delays.length > 0 ? rankQuantile(sorted, 0.95) : null,
        maxSteps: delays.length > 0 ? sorted[sorted.length - 1] : null,
      },
    };
  }
}

function defaultDepth(m: MarketName): number {
  return m === "BTC" ? 50_000_000 : m === "ETH" ? 50_000_000 : 20_000_000;
}

function roundSize(size: bigint): bigint {
  return (size / SIZE_STEP) * SIZE_STEP;
}

function ratioOf(h: Health): number {
  return Number((h.equity * 1_000_000n) / h.maintenanceMargin) / 1_000_000;
}

/** Percentile bands (nearest rank) of a sample; null when empty. */
export function bands(values: number[]): Bands | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => fix(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))], 4);
  return { p5: at(0.05), p25: at(0.25), p50: at(0.5), p75: at(0.75), p95: at(0.95) };
}

/** The cross-vs-isolated table. */
export function compare(modes: Partial<Record<Mode, ModeReport>>): ComparisonRow[] {
  const c = modes.cross?.summary;
  const i = modes.isolated?.summary;
  if (!c || !i) return [];
  const row = (metric: string, key: keyof ModeSummary, unit: ComparisonRow["unit"]): ComparisonRow => ({
    metric,
    cross: c[key] as number,
    isolated: i[key] as number,
    unit,
  });
  return [
    row("Collateral needed for the same exposure (Σ initial margin)", "collateralNeeded", "usd"),
    row("Exposure opened (gross notional)", "exposure", "usd"),
    row("Accounts", "accounts", "count"),
    row("Traders liquidated", "tradersLiquidated", "count"),
    row("Accounts liquidated", "accountsLiquidated", "count"),
    row("Liquidations", "liquidations", "count"),
    row("Notional liquidated", "notionalLiquidated", "usd"),
    row("Penalties paid", "penaltiesPaid", "usd"),
    row("Bad debt", "badDebt", "usd"),
    row("Insurance drawdown", "insuranceDrawdown", "usd"),
    row("Deepest cascade", "maxCascadeDepth", "count"),
  ];
}
