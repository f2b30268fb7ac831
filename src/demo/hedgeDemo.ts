import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { Signer } from "ethers";
import type { LocalProtocol } from "../deploy/local";
import { formatFixed, renderTable, usd } from "../report/format";

const WAD = 10n ** 18n;
const MARKETS: Record<number, string> = { 1: "ETH-PERP", 2: "BTC-PERP", 3: "STETH-PERP" };

/** One account of the hedge demo and its margin as the MarginLens reports it. */
export interface HedgeRow {
  label: string;
  accountId: bigint;
  positions: string;
  equity: bigint;
  initialMargin: bigint;
  maintenanceMargin: bigint;
  freeCollateral: bigint;
}

/** What the hedge demo measured. */
export interface HedgeDemoResult {
  cross: HedgeRow;
  isolated: HedgeRow[];
  /** Σ isolated IM − cross IM, WAD. */
  savedInitialMargin: bigint;
}

async function openAccount(p: LocalProtocol, signer: Signer, mode: 0 | 1, usdc: bigint): Promise<bigint> {
  const vault = p.vault.connect(signer);
  await (await vault.createAccount(mode)).wait();
  const id = await p.vault.accountCount();
  await (await p.usdc.connect(signer).mint(await signer.getAddress(), usdc)).wait();
  await (await p.usdc.connect(signer).approve(await p.vault.getAddress(), usdc)).wait();
  await (await vault.deposit(id, await p.usdc.getAddress(), usdc)).wait();
  return id;
}

async function row(p: LocalProtocol, label: string, accountId: bigint): Promise<HedgeRow> {
  const h = await p.lens.health(accountId);
  const parts: string[] = [];
  for (const marketId of await p.clearingHouse.accountMarkets(accountId)) {
    const [size] = await p.clearingHouse.positionOf(accountId, marketId);
    parts.push(
      `${size > 0n ? "long" : "short"} ${formatFixed(size < 0n ? -size : size, 18, 0)} ${MARKETS[Number(marketId)]}`,
    );
  }
  return {
    label,
    accountId,
    positions: parts.join(", "),
    equity: h.equity,
    initialMargin: h.initialMargin,
    maintenanceMargin: h.maintenanceMargin,
    freeCollateral: h.freeCollateral,
  };
}

/**
 * The trading half of `npm run demo`: the same hedged book (long 100 ETH-PERP, short 100 STETH-PERP)
 * held once in a Cross account and once split over two Isolated accounts, with the margin each
 * needs read from the MarginLens.
 */
export async function runHedgeDemo(
  hre: HardhatRuntimeEnvironment,
  p: LocalProtocol,
  print: (line: string) => void = console.log,
): Promise<HedgeDemoResult> {
  const [, , , , dave, erin] = await hre.ethers.getSigners();
  const size = 100n * WAD;
  const usdc = 20_000n * 10n ** 6n;
  // The book is priced at the feeds of DESIGN §13: ETH 3,000, STETH 2,990.
  await (await p.ethFeed.updateAnswer(3_000n * 10n ** 8n)).wait();

  const crossId = await openAccount(p, dave, 0, usdc);
  await (await p.clearingHouse.connect(dave).openPosition(crossId, 1, size, 0)).wait();
  await (await p.clearingHouse.connect(dave).openPosition(crossId, 3, -size, 0)).wait();

  const longId = await openAccount(p, erin, 1, usdc);
  const shortId = await openAccount(p, erin, 1, usdc);
  await (await p.clearingHouse.connect(erin).openPosition(longId, 1, size, 0)).wait();
  await (await p.clearingHouse.connect(erin).openPosition(shortId, 3, -size, 0)).wait();

  const cross = await row(p, "dave (Cross)", crossId);
  const isolated = [await row(p, "erin (Isolated)", longId), await row(p, "erin (Isolated)", shortId)];
  const rows = [cross, ...isolated].map((r) => [
    `#${r.accountId} ${r.label}`,
    r.positions,
    usd(r.equity),
    usd(r.initialMargin),
    usd(r.maintenanceMargin),
    usd(r.freeCollateral),
  ]);
  const isolatedIm = isolated.reduce((s, r) => s + r.initialMargin, 0n);
  const saved = isolatedIm - cross.initialMargin;

  print("");
  print("ETH back at $3,000. The same hedged book held cross and isolated");
  print("(ETH-PERP and STETH-PERP share correlation group 1 with a hedge offset of 0.8):");
  print(renderTable(["account", "positions", "equity", "initial margin", "maint. margin", "free collateral"], rows));
  print("");
  print(
    `Initial margin: cross ${usd(cross.initialMargin)} vs isolated ${usd(isolatedIm)}: ` +
      `hedging in one account saves ${usd(saved)} (${formatFixed((saved * 10_000n) / isolatedIm, 2, 1)} %)`,
  );
  return { cross, isolated, savedInitialMargin: saved };
}
