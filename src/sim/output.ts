/** Writing a report to disk and summarizing it on the terminal. */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { renderTable } from "../report/format";
import { renderReportHtml } from "./html";
import type { Mode, SimulationReport } from "./report";

/** reports/<scenario>-<seed>/ unless given. */
export function defaultReportDir(report: Pick<SimulationReport, "scenario">, root = process.cwd()): string {
  return path.join(root, "reports", `${report.scenario.name}-${report.scenario.seed}`);
}

/**
 * Writes report.json (keys in a fixed order; `timing` last, the only part that changes between two
 * runs of one seed) and the self-contained report.html. Returns their paths.
 */
export function writeReport(report: SimulationReport, dir: string): { json: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const json = path.join(dir, "report.json");
  const html = path.join(dir, "report.html");
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(html, renderReportHtml(report));
  return { json, html };
}

/** report.json without its timing section: what must be identical for the same seed. */
export function deterministicPart(report: SimulationReport): Omit<SimulationReport, "timing"> {
  const { timing, ...rest } = report;
  void timing;
  return rest;
}

const money = (x: number) =>
  `${x < 0 ? "-" : ""}$${Math.abs(x).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

/** The terminal summary: one column per mode. */
export function summaryTable(report: SimulationReport): string {
  const modes = (["cross", "isolated"] as Mode[]).filter((m) => report.modes[m]);
  const rows: [string, (m: Mode) => string][] = [
    ["Traders / accounts", (m) => `${report.modes[m]!.summary.traders} / ${report.modes[m]!.summary.accounts}`],
    ["Exposure opened", (m) => money(report.modes[m]!.summary.exposure)],
    ["Collateral deposited", (m) => money(report.modes[m]!.summary.collateralDeposited)],
    ["Collateral needed (Σ IM)", (m) => money(report.modes[m]!.summary.collateralNeeded)],
    ["Traders liquidated", (m) => String(report.modes[m]!.summary.tradersLiquidated)],
    ["Liquidations", (m) => String(report.modes[m]!.summary.liquidations)],
    ["Notional liquidated", (m) => money(report.modes[m]!.summary.notionalLiquidated)],
    ["Penalties paid", (m) => money(report.modes[m]!.summary.penaltiesPaid)],
    ["Bad debt", (m) => money(report.modes[m]!.summary.badDebt)],
    ["Insurance drawdown", (m) => money(report.modes[m]!.summary.insuranceDrawdown)],
    [
      "Pool share price (start → end)",
      (m) => {
        const s = report.modes[m]!.summary;
        return `${s.poolSharePriceStart.toFixed(6)} → ${s.poolSharePriceEnd.toFixed(6)}`;
      },
    ],
    ["Deepest cascade", (m) => String(report.modes[m]!.summary.maxCascadeDepth)],
    [
      "Trader txs (reverted)",
      (m) => `${report.modes[m]!.summary.traderTxs} (${report.modes[m]!.summary.traderTxsReverted})`,
    ],
    ["Keeper txs", (m) => String(report.modes[m]!.summary.keeperTxs)],
    ["Invariant checks passed", (m) => String(report.modes[m]!.summary.invariantChecks)],
  ];
  return renderTable(
    ["", ...modes],
    rows.map(([label, f]) => [label, ...modes.map(f)]),
  );
}
