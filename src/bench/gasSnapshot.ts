/**
 * Every operation's exact gas in one table, the margin check's cost per extra position next to
 * its cold-storage floor, and the regression guard against the committed snapshot
 * (bench/gas-snapshot.json): `npm run bench:gas -- --check` fails when an operation costs more
 * than 1 % over it; `--update` rewrites it after a deliberate change.
 */
import fs from "node:fs";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { measureAccountGas } from "./accountGas";
import { COLD_ACCOUNT_GAS, COLD_SLOAD_GAS, coldAccesses } from "./coldAccess";
import { measureLiquidationGas } from "./liquidationGas";
import { measureTradingGas } from "./tradingGas";

export const SNAPSHOT_SCHEMA = "crossmargin.gas-snapshot/1";
/** A rise above this share of the snapshot fails the check. */
export const TOLERANCE = 0.01;

/** One measured operation; `goal` when the project set one. */
export interface GasOperation {
  name: string;
  gas: bigint;
  goal?: bigint;
}

/** The margin check's cost per position beyond the first, and its cold-access floor. */
export interface MarginalCost {
  /** withdraw gas with k = 1..16 positions. */
  withPositions: bigint[];
  /** Differences between consecutive entries. */
  perExtra: bigint[];
  /** (gas with 16 − gas with 1) / 15. */
  average: bigint;
  max: bigint;
  goal: bigint;
  /** Cold slots and cold accounts one more position adds (16 positions vs 15, traced). */
  coldSlotsPerExtra: number;
  coldAccountsPerExtra: number;
  /** coldSlots × 2,100 + coldAccounts × 2,600: what one more position costs at the very least. */
  floor: bigint;
}

export interface GasMeasurement {
  operations: GasOperation[];
  marginal: MarginalCost;
}

/** Measures every operation on fresh local deployments in the in-process chain (~1 minute). */
export async function measureGas(hre: HardhatRuntimeEnvironment, log: (line: string) => void = () => undefined) {
  if (hre.network.name !== "hardhat") throw new Error("gas is measured on the in-process network: drop --network");
  log("  accounts, collateral, pool and lens …");
  const a = await measureAccountGas(hre);
  log("  trading and the margin check (18 markets) …");
  const t = await measureTradingGas(hre);
  log("  liquidation paths …");
  const l = await measureLiquidationGas(hre);

  const withdraw = (k: number) => t.withdrawWithPositions[k - 1];
  const partial = (k: number) => l.partial.find((x) => x.positions === k)!.gas;
  const full = (k: number) => l.fullByPositions.find((x) => x.positions === k)!.gas;
  const operations: GasOperation[] = [
    { name: "createAccount", gas: a.createAccount },
    { name: "deposit, first token (USDC)", gas: a.depositFirstToken },
    { name: "deposit, next token (WETH)", gas: a.depositNextToken },
    { name: "withdraw, no positions", gas: a.withdrawNoPositions },
    { name: "withdraw, 4 positions", gas: withdraw(4) },
    { name: "openPosition, new market (first position, USDC only)", gas: t.openFirst[0].gas, goal: 100_000n },
    { name: "openPosition, new market in a hedge group (ETH-PERP)", gas: t.openFirst[1].gas },
    { name: "openPosition, new market, first trade after an oracle update", gas: t.openFirst[2].gas },
    { name: "openPosition, increase", gas: t.openIncrease },
    { name: "openPosition, reduce", gas: t.openReduce },
    { name: "closePosition", gas: t.closePosition },
    ...[1, 2, 4, 8, 16].map((k) => ({
      name: `margin check (withdraw), ${k} position${k > 1 ? "s" : ""}`,
      gas: withdraw(k),
    })),
    { name: "liquidate, partial, 1 position", gas: partial(1), goal: 120_000n },
    { name: "liquidate, partial, 1 position, same oracle price", gas: l.partialSamePrice, goal: 120_000n },
    { name: "liquidate, partial, 4 positions", gas: partial(4) },
    { name: "liquidate, partial, 16 positions", gas: partial(16) },
    { name: "liquidate, full, 1 position", gas: full(1) },
    { name: "liquidate, full, 4 positions", gas: full(4) },
    { name: "liquidate, full, 16 positions", gas: full(16) },
    { name: "liquidate, full, with shortfall", gas: l.fullShortfall },
    { name: "liquidateCollateral", gas: l.liquidateCollateral },
    { name: "settleBadDebt", gas: l.settleBadDebt },
    { name: "pokeCircuitBreaker", gas: l.pokeCircuitBreaker },
    { name: "LiquidityPool.deposit", gas: a.poolDeposit },
    { name: "LiquidityPool.redeem", gas: a.poolRedeem },
    ...a.lensHealth.map((h) => ({
      name: `MarginLens.health (eth_call), ${h.positions} position${h.positions > 1 ? "s" : ""}`,
      gas: h.gas,
    })),
    { name: "MarginLens.healthRange (eth_call), 100 accounts", gas: a.lensHealthRange100 },
  ];

  log("  tracing the margin check's cold accesses …");
  const [c15, c16] = await Promise.all([
    coldAccesses(hre, t.withdrawTxHashes[14]),
    coldAccesses(hre, t.withdrawTxHashes[15]),
  ]);
  const coldSlotsPerExtra = c16.slots - c15.slots;
  const coldAccountsPerExtra = c16.accounts - c15.accounts;
  const perExtra = t.marginalPerPosition;
  const marginal: MarginalCost = {
    withPositions: t.withdrawWithPositions,
    perExtra,
    average: (withdraw(16) - withdraw(1)) / 15n,
    max: perExtra.reduce((m, g) => (g > m ? g : m), 0n),
    goal: 15_000n,
    coldSlotsPerExtra,
    coldAccountsPerExtra,
    floor: BigInt(coldSlotsPerExtra) * COLD_SLOAD_GAS + BigInt(coldAccountsPerExtra) * COLD_ACCOUNT_GAS,
  };
  return { operations, marginal } satisfies GasMeasurement;
}

export interface Snapshot {
  schema: typeof SNAPSHOT_SCHEMA;
  operations: Record<string, number>;
}

export function readSnapshot(file: string): Snapshot | undefined {
  if (!fs.existsSync(file)) return undefined;
  const snapshot = JSON.parse(fs.readFileSync(file, "utf8")) as Snapshot;
  if (snapshot.schema !== SNAPSHOT_SCHEMA) {
    throw new Error(
      `${file}: schema ${JSON.stringify(snapshot.schema)}, expected "${SNAPSHOT_SCHEMA}": rewrite it with --update`,
    );
  }
  return snapshot;
}

export function writeSnapshot(file: string, operations: readonly GasOperation[]): void {
  const snapshot: Snapshot = {
    schema: SNAPSHOT_SCHEMA,
    operations: Object.fromEntries(operations.map((o) => [o.name, Number(o.gas)])),
  };
  fs.writeFileSync(file, `${JSON.stringify(snapshot, null, 2)}\n`);
}

/** One row of the comparison with the snapshot. */
export interface Comparison {
  name: string;
  gas: bigint | undefined;
  snapshot: number | undefined;
  /** (gas − snapshot) / snapshot. */
  change: number | undefined;
  verdict: "same" | "lower" | "higher (within 1 %)" | "REGRESSION" | "NEW" | "MISSING";
}

/** Compares a measurement with the snapshot; `failed` lists what breaks the guard. */
export function compare(
  operations: readonly GasOperation[],
  snapshot: Snapshot,
): { rows: Comparison[]; failed: Comparison[] } {
  const rows: Comparison[] = [];
  for (const o of operations) {
    const before = snapshot.operations[o.name];
    if (before === undefined) {
      rows.push({ name: o.name, gas: o.gas, snapshot: undefined, change: undefined, verdict: "NEW" });
      continue;
    }
    const change = (Number(o.gas) - before) / before;
    const verdict =
      o.gas === BigInt(before)
        ? "same"
        : change < 0
          ? "lower"
          : change > TOLERANCE
            ? "REGRESSION"
            : "higher (within 1 %)";
    rows.push({ name: o.name, gas: o.gas, snapshot: before, change, verdict });
  }
  for (const [name, before] of Object.entries(snapshot.operations)) {
    if (!operations.some((o) => o.name === name)) {
      rows.push({ name, gas: undefined, snapshot: before, change: undefined, verdict: "MISSING" });
    }
  }
  return {
    rows,
    failed: rows.filter((r) => r.verdict === "REGRESSION" || r.verdict === "NEW" || r.verdict === "MISSING"),
  };
}
