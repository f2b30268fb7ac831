import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { ContractTransactionReceipt, ContractTransactionResponse, Interface } from "ethers";
import { addBenchMarkets } from "./tradingGas";
import { deployLocal, type LocalProtocol } from "../deploy/local";
import { explainFailure } from "../demo/liquidationDemo";

const WAD = 10n ** 18n;
const USDC = 10n ** 6n;
const BTC = 2; // BTC-PERP: ungrouped
const EXTRA_SIZE = WAD / 10n; // 0.1 unit at $100 in each extra market

/** Exact gas (receipt.gasUsed) of the liquidation paths, measured on the local deployment. */
export interface LiquidationGas {
  /**
   * Partial liquidate of the BTC-PERP position of accounts holding 1, 4 and 16 positions, each the
   * first touch of the market since an oracle update (it writes the new circuit-breaker reference).
   */
  partial: { positions: number; gas: bigint }[];
  /** Partial liquidate, 1 position, right after another one at the same oracle price. */
  partialSamePrice: bigint;
  /** liquidate closing a whole position (1 position), equity positive but below MM × threshold. */
  full: bigint;
  /** The same full liquidation of the BTC-PERP position of accounts holding 1, 4 and 16 positions. */
  fullByPositions: { positions: number; gas: bigint }[];
  /** liquidate closing a whole position of an account with negative equity (shortfall). */
  fullShortfall: bigint;
  /** liquidateCollateral repaying a whole debt, collateral left over. */
  liquidateCollateral: bigint;
  /** settleBadDebt covered entirely by the insurance fund. */
  settleBadDebt: bigint;
  /** pokeCircuitBreaker tripping a market 25 % off its reference. */
  pokeCircuitBreaker: bigint;
}

async function receiptOf(
  action: string,
  send: () => Promise<ContractTransactionResponse>,
  interfaces: Interface[],
): Promise<ContractTransactionReceipt> {
  let receipt: ContractTransactionReceipt | null;
  try {
    receipt = await (await send()).wait();
  } catch (error: unknown) {
    throw explainFailure(action, error, interfaces);
  }
  if (!receipt) throw new Error(`${action}: the transaction was not mined`);
  return receipt;
}

/**
 * Deploys the local protocol plus `extraMarkets` ungrouped markets (one fresh feed each, as
 * tradingGas does), puts every market in steady state (already traded), funds the keeper with USDC
 * and WETH and leaves the insurance fund its seed, builds one account per measured path, drops BTC
 * by 5 % and measures each liquidation path once. Deterministic: same code, same numbers.
 */
export async function measureLiquidationGas(
  hre: HardhatRuntimeEnvironment,
  extraMarkets = 15,
): Promise<LiquidationGas> {
  const { ethers } = hre;
  const p: LocalProtocol = await deployLocal(hre);
  const [deployer, alice, bob, keeper] = await ethers.getSigners();
  const interfaces = [p.clearingHouse.interface, p.vault.interface, p.usdc.interface, p.ethOracle.interface];
  const tx = (action: string, send: () => Promise<ContractTransactionResponse>) => receiptOf(action, send, interfaces);

  const extraFeeds = await addBenchMarkets(hre, p, deployer, extraMarkets);
  const markets = Number(await p.clearingHouse.marketCount());
  const extras = Array.from({ length: markets - 3 }, (_, i) => i + 4); // ungrouped extra markets

  await tx("approve USDC (alice)", () => p.usdc.connect(alice).approve(p.vault, ethers.MaxUint256));
  await tx("approve WETH (alice)", () => p.weth.connect(alice).approve(p.vault, ethers.MaxUint256));
  await tx("approve USDC (bob)", () => p.usdc.connect(bob).approve(p.vault, ethers.MaxUint256));
  const account = async (signer: typeof alice, usdc: bigint, weth = 0n) => {
    await tx("createAccount", () => p.vault.connect(signer).createAccount(0));
    const id = await p.vault.accountCount();
    if (usdc > 0n) {
      await tx("mint USDC", () => p.usdc.mint(signer.address, usdc));
      await tx(`deposit USDC into #${id}`, () => p.vault.connect(signer).deposit(id, p.usdc, usdc));
    }
    if (weth > 0n) {
      await tx("mint WETH", () => p.weth.mint(signer.address, weth));
      await tx(`deposit WETH into #${id}`, () => p.vault.connect(signer).deposit(id, p.weth, weth));
    }
    return id;
  };
  const open = (signer: typeof alice, id: bigint, marketId: number, size: bigint) =>
    tx(`openPosition(#${id}, market ${marketId}, ${size})`, () =>
      p.clearingHouse.connect(signer).openPosition(id, marketId, size, 0),
    );

  // steady state: every market already traded (bob spreads over accounts of at most 16 positions)
  for (let first = 1; first <= markets; first += 16) {
    const bobId = await account(bob, 1_000_000n * USDC);
    for (let m = first; m <= Math.min(markets, first + 15); m++) await open(bob, bobId, m, EXTRA_SIZE);
  }
  // the keeper already holds USDC (and WETH) and has approved the Vault; the insurance fund holds its seed
  await tx("mint USDC to the keeper", () => p.usdc.mint(keeper.address, 1_000_000n * USDC));
  await tx("mint WETH to the keeper", () => p.weth.mint(keeper.address, WAD));
  await tx("keeper approves the Vault", () => p.usdc.connect(keeper).approve(p.vault, ethers.MaxUint256));
  if ((await p.vault.insuranceFund()) === 0n) throw new Error("the insurance fund is empty: check insuranceSeed");

  // Long 1 BTC at $60,000 (MM $1,500, IM $3,000). BTC then falls 5 % to $57,000 (MM $1,425):
  // $4,040 leaves equity ≈ $1,000, in [MM/2, MM): partial; $3,330 leaves ≈ $290 < MM/2: full;
  // $3,100 leaves ≈ $60, less than the keeper's $285: negative after it, bad debt.
  const partialIds: { positions: number; id: bigint }[] = [];
  for (const count of [1, 1, 4, 16]) {
    const id = await account(alice, 4_040n * USDC);
    await open(alice, id, BTC, WAD);
    for (const m of extras.slice(0, count - 1)) await open(alice, id, m, EXTRA_SIZE);
    partialIds.push({ positions: count, id });
  }
  const fullId = await account(alice, 3_330n * USDC);
  await open(alice, fullId, BTC, WAD);
  const fullIds: { positions: number; id: bigint }[] = [];
  for (const count of [4, 16]) {
    const id = await account(alice, 3_330n * USDC);
    await open(alice, id, BTC, WAD);
    for (const m of extras.slice(0, count - 1)) await open(alice, id, m, EXTRA_SIZE);
    fullIds.push({ positions: count, id });
  }
  // 6 WETH (= $16,200 after haircut) backing 5 BTC: ≈ $1,000 equity at $57,000, debt ≈ $16,600 after
  // the liquidation, less than the WETH's $18,000 / 1.05
  const collateralId = await account(alice, 0n, 6n * WAD);
  await open(alice, collateralId, BTC, 5n * WAD);
  const badDebtId = await account(alice, 3_100n * USDC);
  await open(alice, badDebtId, BTC, WAD);

  const btcPrice = (await p.btcFeed.latestRoundData()).answer;
  await tx("BTC falls 5 %", () => p.btcFeed.updateAnswer((btcPrice * 95n) / 100n));

  // Each measured liquidation but one comes first after an oracle update (BTC $1 lower each time),
  // as a keeper's usually does: it moves the circuit-breaker reference to the new price.
  let btcAnswer = (btcPrice * 95n) / 100n;
  const nudgeBtc = async () => {
    btcAnswer -= 10n ** 8n;
    await tx("BTC falls $1", () => p.btcFeed.updateAnswer(btcAnswer));
  };
  const ch = p.clearingHouse.connect(keeper);
  const liquidate = async (id: bigint, expectWhole: boolean) => {
    const [size, whole] = await p.clearingHouse.liquidationSize(id, BTC);
    if (size === 0n)
      throw new Error(`account #${id} is not liquidatable at BTC -5 %: the bench's deposits need adjusting`);
    if (whole !== expectWhole) {
      throw new Error(
        `account #${id}: expected a ${expectWhole ? "full" : "partial"} liquidation, liquidationSize says whole=${whole}`,
      );
    }
    const receipt = await tx(`liquidate(#${id}, BTC-PERP, ${size})`, () => ch.liquidate(id, BTC, size));
    return receipt.gasUsed;
  };

  const partial: LiquidationGas["partial"] = [];
  let partialSamePrice = 0n;
  for (const [i, { positions, id }] of partialIds.entries()) {
    const held = (await p.clearingHouse.accountMarkets(id)).length;
    if (held !== positions) throw new Error(`account #${id} holds ${held} positions, expected ${positions}`);
    if (i === 1) {
      partialSamePrice = await liquidate(id, false); // same price as the one before
    } else {
      await nudgeBtc();
      partial.push({ positions, gas: await liquidate(id, false) });
    }
  }
  await nudgeBtc();
  const full = await liquidate(fullId, true);
  const fullByPositions: LiquidationGas["fullByPositions"] = [{ positions: 1, gas: full }];
  for (const { positions, id } of fullIds) {
    await nudgeBtc();
    fullByPositions.push({ positions, gas: await liquidate(id, true) });
  }

  await liquidate(collateralId, true);
  const quote = await p.vault.quoteBalance(collateralId);
  if (quote >= 0n) throw new Error(`account #${collateralId} has no debt after its liquidation (quote ${quote})`);
  const debt = (-quote + 10n ** 12n - 1n) / 10n ** 12n;
  const liquidateCollateral = (
    await tx(`liquidateCollateral(#${collateralId}, WETH, ${debt})`, () =>
      ch.liquidateCollateral(collateralId, p.weth, debt),
    )
  ).gasUsed;
  if ((await p.vault.quoteBalance(collateralId)) !== 0n || (await p.vault.balanceOf(collateralId, p.weth)) === 0n) {
    throw new Error(`liquidateCollateral of #${collateralId} should repay the whole debt and leave WETH`);
  }

  await nudgeBtc();
  const fullShortfall = await liquidate(badDebtId, true);
  const value = await p.vault.rawCollateralValue(badDebtId);
  if (value >= 0n) throw new Error(`account #${badDebtId} has no bad debt after its liquidation (value ${value})`);
  const settleBadDebt = (await tx(`settleBadDebt(#${badDebtId})`, () => ch.settleBadDebt(badDebtId))).gasUsed;

  // the last extra market, traded at $100, moves to $75: 25 % off its reference
  const feed = extraFeeds[extraFeeds.length - 1];
  const pokeMarket = markets;
  await tx("extra feed falls 25 %", () => feed.updateAnswer(75n * 10n ** 8n));
  const pokeCircuitBreaker = (await tx(`pokeCircuitBreaker(${pokeMarket})`, () => ch.pokeCircuitBreaker(pokeMarket)))
    .gasUsed;

  return {
    partial,
    partialSamePrice,
    full,
    fullByPositions,
    fullShortfall,
    liquidateCollateral,
    settleBadDebt,
    pokeCircuitBreaker,
  };
}
