import hre, { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import pino, { type Logger } from "pino";
import { deployLocal, type LocalProtocol } from "../../src/deploy/local";
import { Keeper, type KeeperContracts, type KeeperOptions, type TickReport } from "../../src/keeper/keeper";
import type { KeeperMetrics } from "../../src/keeper/metrics";
import { fundingOff, P, U, W } from "./liquidation";

/** One JSON line of pino output. */
export type LogLine = Record<string, unknown> & { level: number; msg: string };

/** A pino logger at debug level whose lines are parsed into `lines`. */
export function memoryLogger(): { log: Logger; lines: LogLine[]; messages: (msg: string) => LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino(
    { level: "debug" },
    {
      write(line: string) {
        lines.push(JSON.parse(line) as LogLine);
      },
    },
  );
  return { log, lines, messages: (msg) => lines.filter((l) => l.msg === msg) };
}

/** The Vault, ClearingHouse and MarginLens connected to the keeper's signer. */
export function keeperContracts(p: LocalProtocol, signer: HardhatEthersSigner): KeeperContracts {
  return {
    vault: p.vault.connect(signer),
    clearingHouse: p.clearingHouse.connect(signer),
    lens: p.lens.connect(signer),
  };
}

/** Options for fast, deterministic tests: short retries, no replacement, small batches. */
export const TEST_OPTIONS: Partial<KeeperOptions> = {
  startBlock: 0,
  batchSize: 5,
  pollIntervalMs: 50,
  replaceAfterMs: 60_000,
  retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
};

export function newKeeper(
  p: LocalProtocol,
  signer: HardhatEthersSigner,
  options: Partial<KeeperOptions> = {},
  metrics?: KeeperMetrics,
) {
  const logger = memoryLogger();
  const keeper = new Keeper(keeperContracts(p, signer), signer, { ...TEST_OPTIONS, ...options }, logger.log, metrics);
  return { keeper, ...logger };
}

/** Ticks until a tick sends nothing (nothing due, or everything due skipped), at most `max` ticks. */
export async function tickUntilIdle(keeper: Keeper, max = 10): Promise<TickReport[]> {
  const reports: TickReport[] = [];
  for (let i = 0; i < max; i++) {
    const report = await keeper.tick();
    reports.push(report);
    if (report.sent === 0) return reports;
  }
  throw new Error(`the keeper still sends after ${max} ticks: ${JSON.stringify(reports, (_, v) => String(v))}`);
}

/** The value of a counter or gauge of `metrics` (labels matched exactly), 0 when absent. */
export async function metricValue(
  metrics: KeeperMetrics,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const data = await metric.get();
  const wanted = Object.entries(labels);
  const found = data.values.find((v) => {
    const have = v.labels as Record<string, unknown>;
    return wanted.every(([k, value]) => have[k] === value) && Object.keys(have).length === wanted.length;
  });
  return found?.value ?? 0;
}

export type Expectation = "healthy" | "liquidatable" | "stale";

export interface AccountSpec {
  /** Index into ethers.getSigners(). */
  owner: number;
  usdc: string;
  weth?: string;
  trades: [market: bigint, size: string][];
  /** What the crash makes of it (checked by the tests against MarginLens). */
  expect: Expectation;
  note: string;
}

export const ETH = 1n;
export const BTC = 2n;
export const STETH = 3n;

/*
 * Twelve accounts of six traders at ETH 3,000 / STETH 2,990 / BTC 60,000; the crash takes ETH to
 * 2,700 and STETH to 2,691 (−10 %). MM = 2.5 % of notional; a liquidation closes 50 % of the
 * notional while equity ≥ MM / 2, the whole position below.
 */
export const ACCOUNTS: AccountSpec[] = [
  { owner: 2, usdc: "3000", trades: [[ETH, "1"]], expect: "healthy", note: "1 ETH long, 3,000 USDC" },
  { owner: 2, usdc: "2000", trades: [[ETH, "-5"]], expect: "healthy", note: "short: gains" },
  { owner: 3, usdc: "1500", trades: [[ETH, "2"]], expect: "healthy", note: "equity ≈ 897 ≫ MM 135" },
  // equity ≈ 3,550 − 3,000 − 15 ≈ 533 in [MM/2, MM) = [337.5, 675): partial, 5 ETH, healthy after
  { owner: 3, usdc: "3550", trades: [[ETH, "10"]], expect: "liquidatable", note: "partial" },
  // equity ≈ 7,100 − 6,000 − 30 ≈ 1,067 in [675, 1,350): partial, 10 ETH, healthy after
  { owner: 4, usdc: "7100", trades: [[ETH, "20"]], expect: "liquidatable", note: "partial" },
  // equity ≈ 183 < MM/2 = 337.5: whole, quote ≈ 0 after
  { owner: 4, usdc: "3200", trades: [[ETH, "10"]], expect: "liquidatable", note: "whole" },
  // equity ≈ −1,016: whole, then bad debt (settleBadDebt)
  { owner: 5, usdc: "2000", trades: [[ETH, "10"]], expect: "liquidatable", note: "underwater" },
  // equity ≈ 100 + 2,430 − 3,015 = −485: whole, then liquidateCollateral (1 WETH), then bad debt
  { owner: 5, usdc: "100", weth: "1", trades: [[ETH, "10"]], expect: "liquidatable", note: "underwater + WETH" },
  { owner: 6, usdc: "2000", trades: [[ETH, "-10"]], expect: "healthy", note: "short: gains" },
  { owner: 6, usdc: "1000", trades: [[BTC, "0.1"]], expect: "healthy", note: "BTC does not move" },
  // hedged in group 1: −3,000 + 2,990 ≈ −10
  {
    owner: 7,
    usdc: "2000",
    trades: [
      [ETH, "10"],
      [STETH, "-10"],
    ],
    expect: "healthy",
    note: "ETH/STETH hedge",
  },
  { owner: 7, usdc: "500", trades: [], expect: "healthy", note: "no position" },
];

/** Account id of ACCOUNTS[i] (the local deployment creates none of its own). */
export const accountId = (i: number) => BigInt(i + 1);
export const HEDGED = accountId(10);

export const KEEPER_USDC = U("100000");

export interface KeeperFixture {
  p: LocalProtocol;
  deployer: HardhatEthersSigner;
  /** Funded with USDC, no allowance: keepers[0..3]. */
  keepers: HardhatEthersSigner[];
  /** Another liquidator (front-runs in the lost-race test). */
  rival: HardhatEthersSigner;
  traders: HardhatEthersSigner[];
  ids: bigint[];
}

/** The local deployment, funding off, ACCOUNTS opened, the crash applied; keepers funded. */
export async function keeperFixture(): Promise<KeeperFixture> {
  const p = await deployLocal(hre);
  const signers = await ethers.getSigners();
  const deployer = signers[0];
  for (const market of [ETH, BTC, STETH]) await fundingOff(p.clearingHouse, market);
  const ids: bigint[] = [];
  for (const spec of ACCOUNTS) {
    const owner = signers[spec.owner];
    await p.vault.connect(owner).createAccount(0);
    const id = await p.vault.accountCount();
    ids.push(id);
    const usdc = U(spec.usdc);
    await p.usdc.mint(owner.address, usdc);
    await p.usdc.connect(owner).approve(p.vault, usdc);
    await p.vault.connect(owner).deposit(id, p.usdc, usdc);
    if (spec.weth) {
      const weth = W(spec.weth);
      await p.weth.mint(owner.address, weth);
      await p.weth.connect(owner).approve(p.vault, weth);
      await p.vault.connect(owner).deposit(id, p.weth, weth);
    }
    for (const [market, size] of spec.trades) {
      await p.clearingHouse.connect(owner).openPosition(id, market, W(size), 0);
    }
  }
  await p.ethFeed.updateAnswer(P("2700"));
  await p.stethFeed.updateAnswer(P("2691"));
  const keepers = [signers[10], signers[11], signers[12], signers[13]];
  for (const keeper of keepers) await p.usdc.mint(keeper.address, KEEPER_USDC);
  return {
    p,
    deployer,
    keepers,
    rival: signers[14],
    traders: signers.slice(2, 8),
    ids,
  };
}

/*
 * Two flat accounts in debt (Liquidation.test.ts's flatDebtor): each deposits 1,000 USDC, buys 6 ETH
 * at 3,000 and closes at 2,700: quote −817.1054513. The first also holds 1 WETH (liquidateCollateral),
 * the second nothing else (settleBadDebt).
 */
export async function debtFixture() {
  const p = await deployLocal(hre);
  const signers = await ethers.getSigners();
  await fundingOff(p.clearingHouse, ETH);
  const [alice, bob] = [signers[2], signers[3]];
  const open = async (owner: HardhatEthersSigner, weth: bigint) => {
    await p.vault.connect(owner).createAccount(0);
    const id = await p.vault.accountCount();
    await p.usdc.mint(owner.address, U("1000"));
    await p.usdc.connect(owner).approve(p.vault, U("1000"));
    await p.vault.connect(owner).deposit(id, p.usdc, U("1000"));
    if (weth > 0n) {
      await p.weth.mint(owner.address, weth);
      await p.weth.connect(owner).approve(p.vault, weth);
      await p.vault.connect(owner).deposit(id, p.weth, weth);
    }
    await p.clearingHouse.connect(owner).openPosition(id, ETH, W("6"), 0);
    return id;
  };
  const withWeth = await open(alice, W("1"));
  const bare = await open(bob, 0n);
  await p.ethFeed.updateAnswer(P("2700"));
  await p.clearingHouse.connect(alice).closePosition(withWeth, ETH, 0);
  await p.clearingHouse.connect(bob).closePosition(bare, ETH, 0);
  const keeper = signers[10];
  await p.usdc.mint(keeper.address, KEEPER_USDC);
  return { p, keeper, withWeth, bare };
}
