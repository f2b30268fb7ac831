/**
 * One Monte Carlo path's outcome per mode, as a worker process records it (one JSON line per
 * path), and the worker loop itself: every path of the worker's share runs on the real contracts
 * from the same deployed snapshot (evm_revert), with the path's own random streams.
 */
import { appendFileSync, writeFileSync } from "node:fs";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { runSimulation, type PreparedChain } from "../sim/engine";
import type { Mode, ModeReport } from "../sim/report";
import type { LoadedScenario } from "../sim/scenario";

/** What one path produced in one mode (USD unless named otherwise). */
export interface PathOutcome {
  /** Gross notional opened and the initial margin it required (USD): capital efficiency = exposure ÷ collateralNeeded. */
  exposure: number;
  collateralNeeded: number;
  badDebt: number;
  notionalLiquidated: number;
  insuranceStart: number;
  insuranceDrawdown: number;
  /** Bad debt beyond the insurance fund's starting balance: the pool (LPs) paid. */
  insolvent: boolean;
  liquidations: number;
  tradersLiquidated: number;
  maxCascadeDepth: number;
  /** Notional liquidated ÷ what generation 1 (the price path alone) liquidated. */
  amplification: number;
  keeperRewards: number;
  penaltiesPaid: number;
  poolSharePriceEnd: number;
  /** Σ over the keepers of their profit (wallet change at the final prices − gas), USD. */
  keeperProfit: number;
  keeperGasCost: number;
  /** Accounts that waited d steps for a keeper, at index d (the path's time-to-liquidation histogram). */
  waitHistogram: number[];
  /** Liquidatable accounts no keeper had served by the end. */
  pendingAtEnd: number;
}

export interface PathRecord {
  path: number;
  modes: Partial<Record<Mode, PathOutcome>>;
  /** Wall-clock part (excluded from the deterministic report). */
  timing: {
    seconds: number;
    transactions: number;
    phaseSeconds: Record<string, number>;
    /** Resident memory of the worker process after the path, and of it the JavaScript heap in use (MB). */
    rssMb: number;
    heapMb: number;
  };
}

export function outcomeOf(r: Pick<ModeReport, "summary" | "cascades" | "keepers">): PathOutcome {
  const s = r.summary;
  const t = r.keepers.timeToLiquidation;
  const waitHistogram = new Array<number>(t.maxSteps === null ? 0 : t.maxSteps + 1).fill(0);
  for (const d of t.delaysSteps) waitHistogram[d]++;
  const cent = (x: number) => Math.round(x * 100) / 100;
  return {
    exposure: s.exposure,
    collateralNeeded: s.collateralNeeded,
    badDebt: s.badDebt,
    notionalLiquidated: s.notionalLiquidated,
    insuranceStart: s.insuranceStart,
    insuranceDrawdown: s.insuranceDrawdown,
    insolvent: s.badDebt > s.insuranceStart,
    liquidations: s.liquidations,
    tradersLiquidated: s.tradersLiquidated,
    maxCascadeDepth: s.maxCascadeDepth,
    amplification: r.cascades.amplification,
    keeperRewards: s.keeperRewards,
    penaltiesPaid: s.penaltiesPaid,
    poolSharePriceEnd: s.poolSharePriceEnd,
    keeperProfit: cent(r.keepers.agents.reduce((sum, k) => sum + k.profitUsd, 0)),
    keeperGasCost: cent(r.keepers.agents.reduce((sum, k) => sum + k.gasCostUsd, 0)),
    waitHistogram,
    pendingAtEnd: t.pending,
  };
}

/**
 * Runs `indices` one after the other on this process's in-process chain, appending one JSON line
 * per path to `out` and printing `path <i> done` to stdout (the parent's progress bar reads it).
 */
export async function runPathWorker(
  hre: HardhatRuntimeEnvironment,
  loaded: LoadedScenario,
  modes: Mode[],
  indices: number[],
  out: string,
): Promise<void> {
  writeFileSync(out, "");
  const reuse = new Map<string, PreparedChain>();
  for (const i of indices) {
    const t0 = Date.now();
    const report = await runSimulation(hre, loaded, { modes, pathIndex: i, reuse });
    const phaseSeconds: Record<string, number> = {};
    let transactions = 0;
    for (const t of Object.values(report.timing.perMode)) {
      transactions += t.transactions;
      for (const [phase, seconds] of Object.entries(t.phaseSeconds ?? {})) {
        phaseSeconds[phase] = (phaseSeconds[phase] ?? 0) + seconds;
      }
    }
    // memory as the path left it, after a full collection when the worker runs with --expose-gc
    (globalThis as { gc?: () => void }).gc?.();
    const record: PathRecord = {
      path: i,
      modes: Object.fromEntries(Object.entries(report.modes).map(([m, r]) => [m, outcomeOf(r)])),
      timing: {
        seconds: (Date.now() - t0) / 1000,
        transactions,
        phaseSeconds,
        rssMb: Number((process.memoryUsage().rss / 2 ** 20).toFixed(1)),
        heapMb: Number((process.memoryUsage().heapUsed / 2 ** 20).toFixed(1)),
      },
    };
    appendFileSync(out, `${JSON.stringify(record)}\n`);
    console.log(`path ${i} done`);
  }
}
