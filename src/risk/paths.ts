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
}

export interface PathRecord {
  path: number;
  modes: Partial<Record<Mode, PathOutcome>>;
  /** Wall-clock part (excluded from the deterministic report). */
  timing: {
    seconds: number;
    transactions: number;
    phaseSeconds: Record<string, number>;
    rssMb: number;
  };
}

export function outcomeOf(r: Pick<ModeReport, "summary" | "cascades">): PathOutcome {
  const s = r.summary;
  return {
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
    const record: PathRecord = {
      path: i,
      modes: Object.fromEntries(Object.entries(report.modes).map(([m, r]) => [m, outcomeOf(r)])),
      timing: {
        seconds: (Date.now() - t0) / 1000,
        transactions,
        phaseSeconds,
        rssMb: Number((process.memoryUsage().rss / 2 ** 20).toFixed(1)),
      },
    };
    appendFileSync(out, `${JSON.stringify(record)}\n`);
    console.log(`path ${i} done`);
  }
}
