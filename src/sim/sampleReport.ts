/**
 * A synthetic, deterministic `SimulationReport` for renderer tests and for tests that need a report
 * before real simulator runs exist. It comes from a toy model (not the contracts): two markets, ~30
 * traders, a correlated random-walk-plus-sine price path with a crash, liquidations with price impact
 * (hence cascades), penalties feeding the insurance fund and bad debt drawing it down. Cross mode
 * runs one account per trader, isolated mode one account per position, on the same price path.
 *
 * Deliberate fixture features: positions open at step 2 and the margin-ratio bands are missing at
 * one later step (null entries), one trader never opens a position (worstMarginRatio null), the
 * crash produces a liquidation cascade of depth ≥ 3, and the same `steps` always gives the same report.
 */
import { createHash } from "node:crypto";
import {
  REPORT_SCHEMA,
  type Bands,
  type CascadeReport,
  type ComparisonRow,
  type Mode,
  type KeeperReport,
  type ModeReport,
  type OracleReport,
  type ModeSeries,
  type ModeSummary,
  type SimulationReport,
  type TraderOutcome,
} from "./report";

const SYMBOLS = ["ETH", "BTC"] as const;
const MARKETS = ["ETH-PERP", "BTC-PERP"] as const;
const START_PRICE = [3000, 60000];
const MAINTENANCE = 0.05;
const INITIAL = 0.1;
const PENALTY = 0.025;
const KEEPER_SHARE = 0.5;
const INSURANCE_START = 50_000;
const POOL_TVL = 2_000_000;
const OPEN_STEP = 2;
const STEP_SECONDS = 3600;
/** Fractional price move per USD of net liquidated notional (liquidation impact). */
const IMPACT_PER_USD = [1.5e-7, 1.5e-7];
/** ETH's log-return on the three crash steps (BTC falls 70% of it). */
const CRASH = [0.11, 0.04, 0.02];

/** Numerical Recipes LCG: tiny, deterministic, good enough for fixtures. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

const cents = (x: number): number => Math.round(x * 100) / 100;
const wad = (usd: number): string => (BigInt(Math.round(usd * 100)) * 10n ** 16n).toString();

function percentile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

interface PlannedPosition {
  market: number;
  /** Signed USD notional at entry. */
  notional: number;
}

interface PlannedTrader {
  trader: number;
  cohort: string;
  strategy: string;
  deposit: number;
  positions: PlannedPosition[];
}

function planTraders(rand: () => number, count: number): PlannedTrader[] {
  const cohorts = [
    { name: "conservative", leverage: [1.5, 3] },
    { name: "retail", leverage: [3.5, 6] },
    { name: "degen", leverage: [7, 9.5] },
  ];
  const strategies = ["long", "short", "hedged", "basket"];
  const traders: PlannedTrader[] = [];
  for (let i = 0; i < count; i++) {
    const cohort = cohorts[i % cohorts.length];
    const deposit = Math.round(1000 + rand() * 49_000);
    const leverage = cohort.leverage[0] + rand() * (cohort.leverage[1] - cohort.leverage[0]);
    const gross = deposit * leverage;
    let strategy = strategies[Math.floor(i / 3) % strategies.length];
    let positions: PlannedPosition[];
    if (i === count - 1) {
      strategy = "idle";
      positions = [];
    } else if (strategy === "long" || strategy === "short") {
      const sign = strategy === "long" ? 1 : -1;
      positions = [{ market: Math.floor(rand() * 2), notional: sign * gross }];
    } else if (strategy === "hedged") {
      positions = [
        { market: 0, notional: gross * 0.5 },
        { market: 1, notional: -gross * 0.5 },
      ];
    } else {
      positions = [
        { market: 0, notional: gross * 0.6 },
        { market: 1, notional: gross * 0.4 },
      ];
    }
    traders.push({ trader: i, cohort: cohort.name, strategy, deposit, positions });
  }
  return traders;
}

/** Base price path per symbol: correlated random walk + a slow sine + a crash around 45% of the run. */
function pricePath(rand: () => number, steps: number): number[][] {
  const crash = Math.max(OPEN_STEP + 1, Math.floor(steps * 0.45));
  const paths = START_PRICE.map(() => new Array<number>(steps).fill(0));
  let log = START_PRICE.map((p) => Math.log(p));
  for (let t = 0; t < steps; t++) {
    if (t > 0) {
      const common = gaussian(rand);
      const shocks = [common, 0.7 * common + Math.sqrt(1 - 0.49) * gaussian(rand)];
      log = log.map((l, s) => {
        let next = l + 0.006 * shocks[s] + 0.0025 * Math.sin((2 * Math.PI * t) / 24) * (s === 0 ? 1 : 0.6);
        if (t >= crash && t < crash + 3) next -= CRASH[t - crash] * (s === 0 ? 1 : 0.7);
        if (t >= crash + 3 && t < crash + 8) next += s === 0 ? 0.012 : 0.008;
        return next;
      });
    }
    for (let s = 0; s < START_PRICE.length; s++) paths[s][t] = Math.exp(log[s]);
  }
  return paths;
}

interface Account {
  id: number;
  trader: number;
  collateral: number;
  /** Open positions: market, size in base units (signed) and entry price. */
  positions: { market: number; size: number; entry: number }[];
  liquidated: boolean;
  worst: number | null;
}

interface ModeRun {
  report: ModeReport;
}

function runMode(mode: Mode, plan: PlannedTrader[], base: number[][], steps: number): ModeRun {
  const accounts: Account[] = [];
  const byTrader = new Map<number, Account[]>();
  let nextId = mode === "cross" ? 1 : 1001;
  for (const t of plan) {
    const list: Account[] = [];
    const im = t.positions.reduce((sum, p) => sum + Math.abs(p.notional) * INITIAL, 0);
    if (mode === "cross" || t.positions.length === 0) {
      list.push({
        id: nextId++,
        trader: t.trader,
        collateral: t.deposit,
        positions: [],
        liquidated: false,
        worst: null,
      });
    } else {
      for (const p of t.positions) {
        const share = (Math.abs(p.notional) * INITIAL) / im;
        list.push({
          id: nextId++,
          trader: t.trader,
          collateral: t.deposit * share,
          positions: [],
          liquidated: false,
          worst: null,
        });
      }
    }
    accounts.push(...list);
    byTrader.set(t.trader, list);
  }

  const impact = START_PRICE.map(() => 1);
  const price = (s: number, t: number): number => base[s][t] * impact[s];
  const series: ModeSeries = {
    time: [],
    prices: Object.fromEntries(SYMBOLS.map((s) => [s, [] as number[]])),
    equity: [],
    openInterestLong: Object.fromEntries(MARKETS.map((m) => [m, [] as number[]])),
    openInterestShort: Object.fromEntries(MARKETS.map((m) => [m, [] as number[]])),
    skew: Object.fromEntries(MARKETS.map((m) => [m, [] as number[]])),
    fundingRate: Object.fromEntries(MARKETS.map((m) => [m, [] as number[]])),
    marginRatio: [],
    liquidations: [],
    liquidatedNotional: [],
    insuranceFund: [],
    poolSharePrice: [],
    badDebt: [],
    cascadeDepth: [],
  };
  const traderLiqs = new Map<number, { count: number; markets: Set<string> }>();
  let insurance = INSURANCE_START;
  let insuranceMin = INSURANCE_START;
  let poolLoss = 0;
  let badDebt = 0;
  let penalties = 0;
  let keeper = 0;
  let notionalLiquidated = 0;
  let liquidationCount = 0;
  let badDebtSettlements = 0;
  let maxDepth = 0;
  const gapStep = Math.floor(steps * 0.7);

  const equityOf = (a: Account, t: number): number =>
    a.collateral + a.positions.reduce((sum, p) => sum + p.size * (price(p.market, t) - p.entry), 0);
  const maintenanceOf = (a: Account, t: number): number =>
    a.positions.reduce((sum, p) => sum + Math.abs(p.size) * price(p.market, t) * MAINTENANCE, 0);

  for (let t = 0; t < steps; t++) {
    if (t === OPEN_STEP) {
      for (const tr of plan) {
        const list = byTrader.get(tr.trader) ?? [];
        tr.positions.forEach((p, k) => {
          const account = mode === "cross" ? list[0] : list[k];
          const entry = price(p.market, t);
          account.positions.push({ market: p.market, size: p.notional / entry, entry });
        });
      }
    }
    let count = 0;
    let closed = 0;
    let depth = 0;
    for (let generation = 1; generation <= 8; generation++) {
      const sold = START_PRICE.map(() => 0);
      let hit = 0;
      for (const a of accounts) {
        if (a.positions.length === 0) continue;
        const equity = equityOf(a, t);
        const mm = maintenanceOf(a, t);
        if (equity >= mm) continue;
        hit++;
        a.worst = a.worst === null ? equity / mm : Math.min(a.worst, equity / mm);
        const stats = traderLiqs.get(a.trader) ?? { count: 0, markets: new Set<string>() };
        let remaining = equity;
        let notional = 0;
        for (const p of a.positions) {
          notional += Math.abs(p.size) * price(p.market, t);
          sold[p.market] += p.size * price(p.market, t);
          stats.markets.add(MARKETS[p.market]);
        }
        const penalty = Math.min(Math.max(remaining, 0), notional * PENALTY);
        remaining -= penalty;
        penalties += penalty;
        keeper += penalty * KEEPER_SHARE;
        insurance += penalty * (1 - KEEPER_SHARE);
        if (remaining < 0) {
          const debt = -remaining;
          badDebt += debt;
          badDebtSettlements++;
          const covered = Math.min(insurance, debt);
          insurance -= covered;
          poolLoss += debt - covered;
          remaining = 0;
          insuranceMin = Math.min(insuranceMin, insurance);
        }
        a.collateral = remaining;
        a.positions = [];
        a.liquidated = true;
        stats.count++;
        traderLiqs.set(a.trader, stats);
        count++;
        closed += notional;
      }
      if (hit === 0) break;
      depth = generation;
      // Liquidating longs sells into the book: the price moves against the remaining longs.
      for (let s = 0; s < impact.length; s++) impact[s] *= 1 - IMPACT_PER_USD[s] * sold[s];
    }
    insuranceMin = Math.min(insuranceMin, insurance);
    liquidationCount += count;
    notionalLiquidated += closed;
    maxDepth = Math.max(maxDepth, depth);

    series.time.push(t * STEP_SECONDS);
    SYMBOLS.forEach((s, k) => series.prices[s].push(cents(price(k, t))));
    series.equity.push(cents(accounts.reduce((sum, a) => sum + equityOf(a, t), 0)));
    MARKETS.forEach((m, k) => {
      let long = 0;
      let short = 0;
      let skew = 0;
      for (const a of accounts)
        for (const p of a.positions) {
          if (p.market !== k) continue;
          skew += p.size;
          if (p.size > 0) long += p.size * price(k, t);
          else short -= p.size * price(k, t);
        }
      series.openInterestLong[m].push(cents(long));
      series.openInterestShort[m].push(cents(short));
      series.skew[m].push(Math.round(skew * 1e6) / 1e6);
      const imbalance = long + short > 0 ? (long - short) / (long + short) : 0;
      series.fundingRate[m].push(Math.round(imbalance * 0.001 * 1e9) / 1e9);
    });
    const ratios: number[] = [];
    for (const a of accounts) {
      if (a.positions.length === 0) continue;
      const r = equityOf(a, t) / maintenanceOf(a, t);
      ratios.push(r);
      a.worst = a.worst === null ? r : Math.min(a.worst, r);
    }
    ratios.sort((x, y) => x - y);
    const round = (x: number): number => Math.round(x * 1e4) / 1e4;
    const bands: Bands | null =
      ratios.length === 0 || t === gapStep
        ? null
        : {
            p5: round(percentile(ratios, 0.05)),
            p25: round(percentile(ratios, 0.25)),
            p50: round(percentile(ratios, 0.5)),
            p75: round(percentile(ratios, 0.75)),
            p95: round(percentile(ratios, 0.95)),
          };
    series.marginRatio.push(bands);
    series.liquidations.push(count);
    series.liquidatedNotional.push(cents(closed));
    series.insuranceFund.push(cents(insurance));
    const fees = 0.00004 * t + 0.0008 * Math.sin((2 * Math.PI * t) / 36);
    series.poolSharePrice.push(Math.round((1 + fees - poolLoss / POOL_TVL) * 1e6) / 1e6);
    series.badDebt.push(cents(badDebt));
    series.cascadeDepth.push(depth);
  }

  const last = steps - 1;
  const traders: TraderOutcome[] = plan.map((tr) => {
    const list = byTrader.get(tr.trader) ?? [];
    const liq = traderLiqs.get(tr.trader);
    const worsts = list.map((a) => a.worst).filter((w): w is number => w !== null);
    return {
      trader: tr.trader,
      cohort: tr.cohort,
      strategy: tr.strategy,
      accounts: list.map((a) => a.id),
      markets: [...new Set(tr.positions.map((p) => MARKETS[p.market]))],
      depositedUsd: cents(tr.deposit),
      initialMarginUsd: cents(tr.positions.reduce((sum, p) => sum + Math.abs(p.notional) * INITIAL, 0)),
      startEquity: cents(tr.deposit),
      endEquity: cents(list.reduce((sum, a) => sum + equityOf(a, last), 0)),
      liquidated: (liq?.count ?? 0) > 0,
      liquidations: liq?.count ?? 0,
      liquidatedMarkets: liq ? MARKETS.filter((m) => liq.markets.has(m)) : [],
      worstMarginRatio: worsts.length > 0 ? Math.round(Math.min(...worsts) * 1e4) / 1e4 : null,
    };
  });

  const reverts: Record<string, number> =
    mode === "cross" ? { InsufficientMargin: 2, CircuitBreakerTripped: 1 } : { InsufficientMargin: 5 };
  const reverted = Object.values(reverts).reduce((a, b) => a + b, 0);
  const summary: ModeSummary = {
    traders: plan.length,
    accounts: accounts.length,
    collateralNeeded: cents(traders.reduce((sum, tr) => sum + tr.initialMarginUsd, 0)),
    collateralDeposited: cents(traders.reduce((sum, tr) => sum + tr.depositedUsd, 0)),
    exposure: cents(plan.reduce((sum, tr) => sum + tr.positions.reduce((s, p) => s + Math.abs(p.notional), 0), 0)),
    tradersLiquidated: traders.filter((tr) => tr.liquidated).length,
    accountsLiquidated: accounts.filter((a) => a.liquidated).length,
    liquidations: liquidationCount,
    notionalLiquidated: cents(notionalLiquidated),
    penaltiesPaid: cents(penalties),
    keeperRewards: cents(keeper),
    badDebt: cents(badDebt),
    insuranceDrawdown: cents(INSURANCE_START - insuranceMin),
    insuranceStart: INSURANCE_START,
    insuranceEnd: cents(insurance),
    poolSharePriceStart: series.poolSharePrice[0] ?? 1,
    poolSharePriceEnd: series.poolSharePrice[last] ?? 1,
    maxCascadeDepth: maxDepth,
    collateralLiquidations: mode === "cross" ? 1 : 0,
    badDebtSettlements,
    traderTxs: plan.reduce((sum, tr) => sum + tr.positions.length + 1, 0) + reverted,
    traderTxsReverted: reverted,
    revertReasons: reverts,
    keeperTxs: liquidationCount + badDebtSettlements + 2,
    invariantChecks: steps * 3,
    badDebtWad: wad(badDebt),
    notionalLiquidatedWad: wad(notionalLiquidated),
    penaltiesPaidWad: wad(penalties),
  };
  // a three-generation cascade: the crash liquidates account 1, whose ETH sale pushes 2 under, then 3
  const cascades: CascadeReport = {
    nodes: [
      { id: 0, step: 12, round: 1, account: 1, market: "ETH", notional: 52_000, generation: 1, parent: null },
      { id: 1, step: 12, round: 2, account: 2, market: "ETH", notional: 31_500, generation: 2, parent: 0 },
      { id: 2, step: 12, round: 3, account: 3, market: "ETH", notional: 12_250, generation: 3, parent: 1 },
      { id: 3, step: 13, round: 1, account: 4, market: "BTC", notional: 8_000, generation: 1, parent: null },
    ],
    depth: 3,
    amplification: Number(((52_000 + 31_500 + 12_250 + 8_000) / (52_000 + 8_000)).toFixed(4)),
    largest: { root: 0, nodes: [0, 1, 2], notional: 95_750 },
  };
  // two keepers: the faster, higher bidder serves most accounts; one account waited out an outage
  const keepers: KeeperReport = {
    agents: [
      {
        keeper: 0,
        address: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        latencySteps: 1,
        priorityFeeGwei: 2,
        capitalUsd: 100_000,
        transactions: 4,
        liquidations: 3,
        collateralLiquidations: 0,
        badDebtSettlements: 1,
        rewardsUsd: 1_200.5,
        gasUsed: 820_000,
        gasCostUsd: 9.84,
        profitUsd: 1_190.66,
        capitalEndUsd: 101_200.5,
      },
      {
        keeper: 1,
        address: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
        latencySteps: 2,
        priorityFeeGwei: 1,
        capitalUsd: 100_000,
        transactions: 1,
        liquidations: 1,
        collateralLiquidations: 0,
        badDebtSettlements: 0,
        rewardsUsd: 80,
        gasUsed: 210_000,
        gasCostUsd: 2.1,
        profitUsd: 77.9,
        capitalEndUsd: 100_080,
      },
    ],
    outageSteps: 3,
    timeToLiquidation: {
      episodes: 5,
      served: 4,
      delaysSteps: [0, 0, 1, 4],
      recovered: 1,
      pending: 0,
      oldestPendingSteps: null,
      meanSteps: 1.25,
      p50Steps: 0,
      p95Steps: 4,
      maxSteps: 4,
    },
  };
  const oracles: OracleReport = {
    frozenSteps: { ETH: 0, BTC: 0, STETH: 0, USDC: 0 },
    stepsWithUnpriced: 0,
    unpricedAccountSteps: 0,
    mirrorChecksSkipped: 0,
  };
  return { report: { mode, summary, series, traders, cascades, keepers, oracles } };
}

function comparisonRows(cross: ModeSummary, isolated: ModeSummary): ComparisonRow[] {
  const row = (metric: string, key: keyof ModeSummary, unit: ComparisonRow["unit"]): ComparisonRow => ({
    metric,
    cross: cross[key] as number,
    isolated: isolated[key] as number,
    unit,
  });
  const efficiency = (s: ModeSummary): number => Math.round((s.exposure / s.collateralDeposited) * 1e4) / 1e4;
  return [
    row("collateral needed", "collateralNeeded", "usd"),
    row("accounts", "accounts", "count"),
    row("traders liquidated", "tradersLiquidated", "count"),
    row("accounts liquidated", "accountsLiquidated", "count"),
    row("notional liquidated", "notionalLiquidated", "usd"),
    row("penalties paid", "penaltiesPaid", "usd"),
    row("bad debt", "badDebt", "usd"),
    row("insurance drawdown", "insuranceDrawdown", "usd"),
    row("max cascade depth", "maxCascadeDepth", "count"),
    { metric: "exposure per deposited USD", cross: efficiency(cross), isolated: efficiency(isolated), unit: "ratio" },
  ];
}

/** A realistic synthetic report with both modes; deterministic for a given `steps`. */
export function sampleReport(steps = 60): SimulationReport {
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`sampleReport: steps must be a positive integer`);
  const rand = lcg(0xc0ffee);
  const base = pricePath(rand, steps);
  const plan = planTraders(rand, 30);
  const cross = runMode("cross", plan, base, steps).report;
  const isolated = runMode("isolated", plan, base, steps).report;
  const resolved = {
    name: "sample-crash",
    seed: 42,
    steps,
    stepSeconds: STEP_SECONDS,
    markets: MARKETS.map((m, k) => ({ name: m, symbol: SYMBOLS[k], startPrice: START_PRICE[k] })),
    traders: { count: plan.length, cohorts: ["conservative", "retail", "degen"] },
    impact: true,
  };
  return {
    schema: REPORT_SCHEMA,
    scenario: {
      name: "sample-crash",
      description:
        "Synthetic fixture: ETH and BTC random walks with a 3-step crash, 30 traders in three leverage cohorts.",
      hash: createHash("sha256").update(JSON.stringify(resolved)).digest("hex"),
      seed: 42,
      steps,
      stepSeconds: STEP_SECONDS,
      symbols: [...SYMBOLS],
      markets: [...MARKETS],
      impact: true,
      resolved,
    },
    modes: { cross, isolated },
    comparison: comparisonRows(cross.summary, isolated.summary),
    timing: {
      startedAt: "2025-01-01T00:00:00.000Z",
      totalSeconds: 12.5,
      perMode: {
        cross: {
          seconds: 6.1,
          steps,
          stepsPerSecond: steps / 6.1,
          transactions: 420,
          transactionsPerSecond: 420 / 6.1,
        },
        isolated: {
          seconds: 6.4,
          steps,
          stepsPerSecond: steps / 6.4,
          transactions: 480,
          transactionsPerSecond: 480 / 6.4,
        },
      },
      peakRssMb: 512.3,
    },
  };
}
