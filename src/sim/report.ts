/**
 * The simulator's report (report.json), schema version 1. Everything outside `timing` is a pure
 * function of the scenario, the seed and the contracts: the same inputs give a byte-identical file
 * once `timing` is removed. Money is in USD as JSON numbers (converted from on-chain WAD values,
 * rounded to the cent where noted); exact on-chain totals are kept as decimal strings (`*Wad`).
 */

export const REPORT_SCHEMA = "crossmargin.simulation/1";

export type Mode = "cross" | "isolated";

/** Percentile bands of a distribution at one step. */
export interface Bands {
  p5: number;
  p25: number;
  p50: number;
  p75: number;
  p95: number;
}

/** Per-step time series of one mode; every array has one entry per step (index 0 = step 1). */
export interface ModeSeries {
  /**
   * Chain seconds from the start (the population opened) to the step's start: step × stepSeconds,
   * later when an earlier step's transactions (one block and one second each) outlasted its time.
   */
  time: number[];
  /** Oracle price per symbol (USD), after liquidation impact, at the end of the step (the last published answer while its feed is silent). */
  prices: Record<string, number[]>;
  /** Σ equity of the traders' accounts (USD), after the step's price move, before traders and keepers act. */
  equity: number[];
  /** Long and short open interest per market, USD notional at the oracle price. */
  openInterestLong: Record<string, number[]>;
  openInterestShort: Record<string, number[]>;
  /** Skew per market in base units (long − short). */
  skew: Record<string, number[]>;
  /** Funding rate per market, fraction per day. */
  fundingRate: Record<string, number[]>;
  /** Margin ratio (equity ÷ maintenance margin) over accounts with positions, after the step's price move (what the keepers respond to); null: none open. */
  marginRatio: (Bands | null)[];
  /** Liquidations during the step: count and closed notional (USD). */
  liquidations: number[];
  liquidatedNotional: number[];
  /** Insurance fund (USD) and pool share price (USDC per pool share) at the end of the step. */
  insuranceFund: number[];
  poolSharePrice: number[];
  /** Bad debt settled so far (USD, cumulative). */
  badDebt: number[];
  /** Deepest liquidation generation in the step: 0 none, 1 only the price path, > 1 a cascade. */
  cascadeDepth: number[];
}

/** One trader's outcome (a trader owns one cross account, or one isolated account per position). */
export interface TraderOutcome {
  trader: number;
  cohort: string;
  strategy: string;
  accounts: number[];
  markets: string[];
  /** Collateral deposited at the start and the initial margin its positions required (USD). */
  depositedUsd: number;
  initialMarginUsd: number;
  startEquity: number;
  endEquity: number;
  liquidated: boolean;
  liquidations: number;
  /** Markets in which a position of this trader was liquidated. */
  liquidatedMarkets: string[];
  /** Lowest equity ÷ maintenance margin seen while positions were open (null: never open). */
  worstMarginRatio: number | null;
}

/** Totals of one mode; the cross-vs-isolated table is built from these. */
export interface ModeSummary {
  traders: number;
  accounts: number;
  /** Σ initial margin of the opening positions (USD): the collateral the exposure needs. */
  collateralNeeded: number;
  collateralDeposited: number;
  /** Gross notional opened at the start (USD). */
  exposure: number;
  tradersLiquidated: number;
  accountsLiquidated: number;
  liquidations: number;
  notionalLiquidated: number;
  /** Liquidation penalties paid by traders (USD) and the keepers' share of them. */
  penaltiesPaid: number;
  keeperRewards: number;
  badDebt: number;
  /** Largest fall of the insurance fund below its starting value (USD). */
  insuranceDrawdown: number;
  insuranceStart: number;
  insuranceEnd: number;
  poolSharePriceStart: number;
  poolSharePriceEnd: number;
  maxCascadeDepth: number;
  collateralLiquidations: number;
  badDebtSettlements: number;
  /** Trader transactions sent and how many reverted (e.g. margin checks, circuit breaker). */
  traderTxs: number;
  traderTxsReverted: number;
  /** Reverts by custom error name. */
  revertReasons: Record<string, number>;
  keeperTxs: number;
  /** Invariant checks run (conservation per token each step, mirror equality on a sample). */
  invariantChecks: number;
  /** Exact on-chain figures (WAD, decimal strings). */
  badDebtWad: string;
  notionalLiquidatedWad: string;
  penaltiesPaidWad: string;
}

/** One liquidation in the cascade graph. */
export interface CascadeNode {
  /** Index in `nodes` (chain order). */
  id: number;
  step: number;
  /** Keeper round within the step (each round's impact may push more accounts under). */
  round: number;
  account: number;
  market: string;
  /** Closed notional, USD. */
  notional: number;
  /** 1: made liquidatable by the price path; g > 1: pushed under by a generation g − 1 liquidation's impact. */
  generation: number;
  /**
   * The liquidation whose price impact pushed this account under: of the liquidations of the round
   * before it went under, the one with the largest notional in a market the account held (any
   * market when none), `null` for generation 1.
   */
  parent: number | null;
}

/** Who pushed whom under, and how much the cascades amplified the shock. */
export interface CascadeReport {
  nodes: CascadeNode[];
  /** Deepest generation (0: no liquidation). */
  depth: number;
  /** Notional liquidated ÷ what generation 1 (the price path alone) liquidated; 1 without cascades. */
  amplification: number;
  /** The largest cascade: its generation-1 root, its node ids and their total notional (USD). */
  largest: { root: number; nodes: number[]; notional: number } | null;
}

/** One keeper agent over the run (after the population opened). */
export interface KeeperAgentReport {
  keeper: number;
  address: string;
  latencySteps: number;
  priorityFeeGwei: number;
  /** Settlement tokens (USD) it started with: what it can spend on liquidateCollateral. */
  capitalUsd: number;
  transactions: number;
  liquidations: number;
  collateralLiquidations: number;
  badDebtSettlements: number;
  /** Keeper rewards received from liquidations (USD). */
  rewardsUsd: number;
  gasUsed: number;
  /** gasUsed × (base fee + its bid) at the ETH price of the step each transaction was sent in (USD). */
  gasCostUsd: number;
  /**
   * Change in the value of its wallet (settlement tokens and collateral bought by liquidateCollateral,
   * at the oracle prices at the end) minus its gas cost (USD).
   */
  profitUsd: number;
  /** Settlement tokens left at the end (USD). */
  capitalEndUsd: number;
}

/**
 * How long liquidatable accounts waited. An episode starts at the step an account is first seen
 * liquidatable (after the price move, or after a keeper round's price impact) and ends when a
 * keeper serves it (liquidate, liquidateCollateral or settleBadDebt) or when it is seen healthy again.
 */
export interface TimeToLiquidation {
  episodes: number;
  /** Episodes served by a keeper, and the steps each waited (0 = within the step it went under), in chain order. */
  served: number;
  delaysSteps: number[];
  /** Episodes that ended by the account recovering before any keeper acted. */
  recovered: number;
  /** Episodes still open at the end, and the oldest one's age in steps. */
  pending: number;
  oldestPendingSteps: number | null;
  meanSteps: number | null;
  p50Steps: number | null;
  p95Steps: number | null;
  maxSteps: number | null;
}

export interface KeeperReport {
  agents: KeeperAgentReport[];
  /** Steps in which no keeper was allowed to tick (`keepers.outages`). */
  outageSteps: number;
  timeToLiquidation: TimeToLiquidation;
}

/** What the scenario's oracle outages did (`oracles.outages`). */
export interface OracleReport {
  /** Steps in which each symbol's feed published nothing. */
  frozenSteps: Record<string, number>;
  /** Steps in which the health read could not price some account (an oracle past its heartbeat), and the account-steps. */
  stepsWithUnpriced: number;
  unpricedAccountSteps: number;
  /** Mirror-equality checks not run because a feed was silent. */
  mirrorChecksSkipped: number;
}

export interface ModeReport {
  mode: Mode;
  summary: ModeSummary;
  series: ModeSeries;
  traders: TraderOutcome[];
  cascades: CascadeReport;
  keepers: KeeperReport;
  oracles: OracleReport;
}

/** A row of the cross-vs-isolated table. */
export interface ComparisonRow {
  metric: string;
  cross: number;
  isolated: number;
  unit: "usd" | "count" | "ratio";
}

/** Wall-clock figures: the only part of the report that differs between two runs of a seed. */
export interface Timing {
  startedAt: string;
  totalSeconds: number;
  perMode: Record<
    string,
    {
      seconds: number;
      steps: number;
      stepsPerSecond: number;
      transactions: number;
      transactionsPerSecond: number;
      /** Seconds spent per phase of the steps (setup excluded). */
      phaseSeconds?: Record<string, number>;
    }
  >;
  peakRssMb: number;
}

export interface SimulationReport {
  schema: typeof REPORT_SCHEMA;
  scenario: {
    name: string;
    description: string;
    /** sha256 of the validated scenario (canonical JSON). */
    hash: string;
    seed: number;
    steps: number;
    stepSeconds: number;
    symbols: string[];
    markets: string[];
    impact: boolean;
    /** The validated scenario itself, defaults filled in. */
    resolved: unknown;
  };
  modes: Partial<Record<Mode, ModeReport>>;
  comparison: ComparisonRow[];
  timing: Timing;
}

/** Summary of one sweep point (a full simulation with one parameter value changed). */
export interface SweepPoint {
  /** "key=value" pairs of this grid point. */
  parameters: Record<string, string | number>;
  reportPath: string;
  summaries: Partial<Record<Mode, ModeSummary>>;
}

export interface SweepReport {
  schema: "crossmargin.sweep/1";
  scenario: string;
  seed: number;
  keys: string[];
  points: SweepPoint[];
  timing: { totalSeconds: number; workers: number };
}
