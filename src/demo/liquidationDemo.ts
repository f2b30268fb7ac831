import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { ContractTransactionReceipt, ContractTransactionResponse, Interface, Signer } from "ethers";
import {
  ChainlinkOracle__factory,
  MockERC20__factory,
  type IMarginLens,
  type MockAggregator,
  type MockERC20,
} from "../../typechain-types";
import type { LocalProtocol } from "../deploy/local";
import { formatFixed, renderTable, usd } from "../report/format";

const WAD = 10n ** 18n;
const USDC_TO_WAD = 10n ** 12n;
const MARKETS: Record<number, string> = {
  1: "ETH-PERP",
  2: "BTC-PERP",
  3: "STETH-PERP",
};
const MODE_NAMES = ["Cross", "Isolated"];
/** MarginLens.Candidate.action */
const LIQUIDATE = 1n;
const LIQUIDATE_COLLATERAL = 2n;
const SETTLE_BAD_DEBT = 3n;
/** A keeper pass gives up (with an error) after this many actions: the engine must converge. */
const MAX_KEEPER_ACTIONS = 50;

/* ERRORS */

const HINTS: Record<string, string> = {
  AccountNotLiquidatable: "the account is healthy at the current price: re-read MarginLens.candidates before acting",
  LiquidationLeavesDust:
    "pass at least the whole position as maxSize (MarginLens.liquidationPlan gives the allowed size)",
  LiquidationRateLimited: "the market's liquidation window is used up: retry after windowEnd",
  PriceDeviationExceeded:
    "circuit breaker: exposure may not grow while the oracle is beyond maxPriceDeviation of the last trade price; reduce or wait",
  MarketReduceOnly: "circuit breaker tripped: only reducing trades until the timeout or clearCircuitBreaker",
  InsufficientMargin: "deposit more collateral or trade a smaller size",
  StalePrice: "a feed is older than its heartbeat: push a fresh answer with MockAggregator.updateAnswer",
  ERC20InsufficientAllowance: "approve the Vault (not the ClearingHouse): the Vault pulls the tokens",
  ERC20InsufficientBalance: "the liquidator needs USDC to repay the debt",
  NoDebt: "the account owes nothing: nothing to liquidate",
  NoBadDebt: "the account's collateral still covers its debt: use liquidateCollateral",
  AccountHasPositions: "liquidate the account's positions first",
};

function findRevertData(error: unknown, depth = 0): string | undefined {
  if (depth > 4 || typeof error !== "object" || error === null) return undefined;
  const record = error as Record<string, unknown>;
  const data = record["data"];
  if (typeof data === "string" && /^0x[0-9a-fA-F]{8}/.test(data)) return data;
  for (const key of ["error", "info", "cause"]) {
    const found = findRevertData(record[key], depth + 1);
    if (found) return found;
  }
  return undefined;
}

/**
 * The custom error of a reverted call as `Name(arg, ...)`, decoded with the first interface that
 * knows it, or undefined when the revert carries no known error.
 */
export function decodeRevert(error: unknown, interfaces: Interface[]): { name: string; text: string } | undefined {
  const data = findRevertData(error);
  if (!data) return undefined;
  for (const iface of interfaces) {
    try {
      const parsed = iface.parseError(data);
      if (parsed)
        return {
          name: parsed.name,
          text: `${parsed.name}(${parsed.args.map(String).join(", ")})`,
        };
    } catch {
      // not this interface's error
    }
  }
  return undefined;
}

/** Describes a failed call: what was attempted, the decoded custom error and what to do about it. */
export function explainFailure(action: string, error: unknown, interfaces: Interface[]): Error {
  const decoded = decodeRevert(error, interfaces);
  if (decoded) {
    const hint = HINTS[decoded.name];
    return new Error(`${action} reverted with ${decoded.text}${hint ? `: ${hint}` : ""}`, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new Error(`${action} failed: ${message}`, { cause: error });
}

/* DEMO */

interface Trader {
  name: string;
  signer: Signer;
  accountId: bigint;
}

/** One `liquidate` call as its Liquidated event reports it. */
export interface LiquidationRecord {
  step: string;
  accountId: bigint;
  marketId: bigint;
  closedSize: bigint;
  positionBefore: bigint;
  price: bigint;
  /** Realized PnL minus funding paid: what moved between the account and the pool (WAD). */
  pnl: bigint;
  equityBefore: bigint;
  maintenanceMargin: bigint;
  penalty: bigint;
  keeperReward: bigint;
  insuranceFee: bigint;
  shortfall: bigint;
  newSize: bigint;
  gas: bigint;
}

/** One `liquidateCollateral` call. */
export interface CollateralRecord {
  accountId: bigint;
  token: string;
  repaid: bigint; // USDC units
  seized: bigint; // token units
  price: bigint; // WAD
  /** The sub-unit excess of a repayment rounded up to whole USDC units, to the insurance fund (WAD). */
  insuranceExcess: bigint;
  gas: bigint;
}

/** One `settleBadDebt` call. */
export interface BadDebtRecord {
  accountId: bigint;
  debt: bigint;
  covered: bigint;
  socialized: bigint;
  gas: bigint;
}

/** Protocol-wide figures before and after the crash. */
export interface ProtocolSnapshot {
  insuranceFund: bigint; // WAD
  poolLedger: bigint; // WAD
  poolTotalAssets: bigint; // USDC units
  /** USDC units per whole cmLP share. */
  sharePrice: bigint;
  /** USDC units the pool keeps back from LP withdrawals for traders' open profits. */
  poolReserve: bigint;
  equity: Map<bigint, bigint>;
}

/** What the liquidation demo measured. */
export interface LiquidationDemoResult {
  liquidations: LiquidationRecord[];
  collateral: CollateralRecord[];
  badDebt: BadDebtRecord[];
  /** Σ keeper rewards received in USDC (6 decimals). */
  keeperRewardsUsdc: bigint;
  /** WAD value at the oracle of the collateral seized minus the USDC repaid for it. */
  collateralProfit: bigint;
  before: ProtocolSnapshot;
  after: ProtocolSnapshot;
}

const abs = (x: bigint) => (x < 0n ? -x : x);
const max0 = (x: bigint) => (x > 0n ? x : 0n);
const units = (amount: bigint, decimals: number) => amount * 10n ** BigInt(decimals);
const fixed = (wad: bigint, places = 4) => formatFixed(wad, 18, places);

/** The WAD price an oracle adapter reports now. */
async function oraclePrice(p: LocalProtocol, oracle: string): Promise<bigint> {
  return ChainlinkOracle__factory.connect(oracle, p.vault.runner).price();
}

async function mined(action: string, send: () => Promise<ContractTransactionResponse>, interfaces: Interface[]) {
  let receipt: ContractTransactionReceipt | null;
  try {
    receipt = await (await send()).wait();
  } catch (error: unknown) {
    throw explainFailure(action, error, interfaces);
  }
  if (!receipt) throw new Error(`${action}: the transaction was not mined (is the network automining?)`);
  return receipt;
}

/**
 * The liquidation part of `npm run demo`: four traders open positions, ETH falls 25 % and BTC 20 % in
 * two steps, and a scripted keeper works from MarginLens.candidates / liquidationPlan: partial and
 * full `liquidate`, `liquidateCollateral` for a WETH-backed debt and `settleBadDebt` for what is
 * left. Prints each liquidation, the keeper's earnings, the insurance fund, the pool and every
 * trader's equity before and after.
 */
export async function runLiquidationDemo(
  hre: HardhatRuntimeEnvironment,
  p: LocalProtocol,
  print: (line: string) => void = console.log,
): Promise<LiquidationDemoResult> {
  const signers = await hre.ethers.getSigners();
  if (signers.length < 11) throw new Error(`the liquidation demo needs 11 signers, the network has ${signers.length}`);
  const names = ["deployer", "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "keeper"];
  const [frankSigner, graceSigner, heidiSigner, ivanSigner, keeper] = signers.slice(6, 11);
  const nameOf = new Map(signers.slice(0, names.length).map((s, i) => [s.address, names[i]]));
  const interfaces = [p.clearingHouse.interface, p.vault.interface, p.usdc.interface, p.ethOracle.interface];
  const vaultAddress = await p.vault.getAddress();
  const symbolOf = new Map([
    [await p.weth.getAddress(), "WETH"],
    [await p.wbtc.getAddress(), "WBTC"],
  ]);

  const labels = new Map<bigint, string>();
  const label = async (accountId: bigint) => {
    let text = labels.get(accountId);
    if (!text) {
      const [owner, mode] = await Promise.all([p.vault.ownerOf(accountId), p.vault.accountMode(accountId)]);
      text = `#${accountId} ${nameOf.get(owner) ?? owner.slice(0, 10)} (${MODE_NAMES[Number(mode)] ?? mode})`;
      labels.set(accountId, text);
    }
    return text;
  };
  const market = (marketId: bigint) => MARKETS[Number(marketId)] ?? `market ${marketId}`;
  const base = (marketId: bigint) => market(marketId).replace("-PERP", "");

  /* 1. Traders */
  const deposit = async (signer: Signer, accountId: bigint, token: MockERC20, amount: bigint) => {
    const owner = await signer.getAddress();
    const symbol = await token.symbol();
    await mined(`mint ${symbol} to ${owner}`, () => token.connect(signer).mint(owner, amount), interfaces);
    await mined(
      `approve the Vault for ${symbol}`,
      () => token.connect(signer).approve(vaultAddress, amount),
      interfaces,
    );
    await mined(
      `deposit ${symbol} into account #${accountId}`,
      () => p.vault.connect(signer).deposit(accountId, token, amount),
      interfaces,
    );
  };
  const openTrader = async (name: string, signer: Signer, token: MockERC20, amount: bigint): Promise<Trader> => {
    await mined(`createAccount by ${name}`, () => p.vault.connect(signer).createAccount(0), interfaces);
    const accountId = await p.vault.accountCount();
    await deposit(signer, accountId, token, amount);
    return { name, signer, accountId };
  };
  const trade = (t: Trader, marketId: number, size: bigint) =>
    mined(
      `${t.name} trades ${fixed(size, 2)} ${base(BigInt(marketId))} in account #${t.accountId}`,
      () => p.clearingHouse.connect(t.signer).openPosition(t.accountId, marketId, size, 0),
      interfaces,
    );

  const frank = await openTrader("frank", frankSigner, p.usdc, units(8_000n, 6));
  const grace = await openTrader("grace", graceSigner, p.usdc, units(4_100n, 6));
  const heidi = await openTrader("heidi", heidiSigner, p.weth, units(6n, 18));
  const ivan = await openTrader("ivan", ivanSigner, p.usdc, units(3_500n, 6));
  await trade(frank, 1, 10n * WAD);
  await trade(grace, 1, 20n * WAD);
  await trade(heidi, 2, 1n * WAD);
  await trade(ivan, 1, 20n * WAD);
  await trade(ivan, 3, -20n * WAD);

  // The liquidator brings USDC for collateral liquidations and approves the Vault, which pulls it.
  const keeperUsdc = units(50_000n, 6);
  await mined("mint USDC to the keeper", () => p.usdc.connect(keeper).mint(keeper.address, keeperUsdc), interfaces);
  await mined(
    "keeper approves the Vault for USDC",
    () => p.usdc.connect(keeper).approve(vaultAddress, hre.ethers.MaxUint256),
    interfaces,
  );

  // Every account holding positions now is followed through the crash (the hedge section's too).
  const tracked: bigint[] = [];
  for (let id = 1n; id <= (await p.vault.accountCount()); id++) {
    if ((await p.clearingHouse.accountMarkets(id)).length > 0) tracked.push(id);
  }

  const snapshot = async (): Promise<ProtocolSnapshot> => {
    const decimals = await p.pool.decimals();
    const [insuranceFund, poolLedger, poolTotalAssets, sharePrice, poolReserve] = await Promise.all([
      p.vault.insuranceFund(),
      p.vault.poolBalance(),
      p.pool.totalAssets(),
      p.pool.convertToAssets(10n ** decimals),
      p.pool.reserveRequired(),
    ]);
    const equity = new Map<bigint, bigint>();
    for (const id of tracked) equity.set(id, (await p.lens.health(id)).equity);
    return {
      insuranceFund,
      poolLedger,
      poolTotalAssets,
      sharePrice,
      poolReserve,
      equity,
    };
  };

  const positions = async (accountId: bigint) => {
    const parts: string[] = [];
    for (const marketId of await p.clearingHouse.accountMarkets(accountId)) {
      const [size] = await p.clearingHouse.positionOf(accountId, marketId);
      parts.push(`${size > 0n ? "long" : "short"} ${fixed(abs(size), 2)} ${base(marketId)}`);
    }
    return parts.length > 0 ? parts.join(", ") : "flat";
  };

  const feeds: [string, MockAggregator][] = [
    ["ETH", p.ethFeed],
    ["BTC", p.btcFeed],
    ["STETH", p.stethFeed],
  ];
  const start = new Map<string, bigint>();
  for (const [name, feed] of feeds) start.set(name, (await feed.latestRoundData()).answer);
  const move = async (percent: Record<string, bigint>) => {
    const parts: string[] = [];
    for (const [name, feed] of feeds) {
      const answer = ((start.get(name) ?? 0n) * (100n + percent[name])) / 100n;
      await mined(`update the ${name} / USD feed`, () => feed.updateAnswer(answer), interfaces);
      parts.push(`${name} ${usd(answer * 10n ** 10n)} (${percent[name]} %)`);
    }
    return parts.join(", ");
  };

  const prices = feeds.map(([name]) => `${name} ${usd((start.get(name) ?? 0n) * 10n ** 10n)}`).join(", ");
  print("");
  print(`Liquidations. Four new Cross accounts open positions at ${prices}:`);
  const openRows: string[][] = [];
  for (const t of [frank, grace, heidi, ivan]) {
    const m = await p.clearingHouse.accountMargin(t.accountId);
    openRows.push([
      await label(t.accountId),
      await positions(t.accountId),
      usd(m.collateralValue),
      `${formatFixed((m.notional * 100n) / m.collateralValue, 2, 1)}x`,
      usd(m.equity),
      usd(m.maintenanceMargin),
    ]);
  }
  print(renderTable(["account", "positions", "collateral value", "leverage", "equity", "maint. margin"], openRows));
  print("heidi's collateral is WETH (haircut 10 %); ivan's legs share hedge group 1, so his margin is on the net.");

  const before = await snapshot();
  const keeperUsdcBefore = await p.usdc.balanceOf(keeper.address);
  const keeperWethBefore = await p.weth.balanceOf(keeper.address);

  /* 2. The keeper */
  const liquidations: LiquidationRecord[] = [];
  const collateral: CollateralRecord[] = [];
  const badDebt: BadDebtRecord[] = [];
  const ch = p.clearingHouse.connect(keeper);

  const liquidateOnce = async (step: string, c: IMarginLens.CandidateStructOutput) => {
    const plan = await p.lens.liquidationPlan(c.accountId);
    // the largest position the engine lets us close now
    const target = plan
      .filter((s) => s.maxCloseSize > 0n)
      .reduce<IMarginLens.LiquidationStepStructOutput | undefined>(
        (best, s) => (!best || s.notional > best.notional ? s : best),
        undefined,
      );
    if (!target) {
      throw new Error(
        `MarginLens flags account #${c.accountId} as liquidatable but liquidationPlan offers nothing to close: ` +
          `compare ClearingHouse.liquidationSize with accountMargin for this account`,
      );
    }
    const receipt = await mined(
      `keeper liquidate(#${c.accountId}, ${market(target.marketId)}, ${target.maxCloseSize})`,
      () => ch.liquidate(c.accountId, target.marketId, target.maxCloseSize),
      interfaces,
    );
    const events = await p.clearingHouse.queryFilter(
      p.clearingHouse.filters.Liquidated(c.accountId, target.marketId),
      receipt.blockNumber,
      receipt.blockNumber,
    );
    if (events.length !== 1) throw new Error(`liquidate of #${c.accountId} emitted ${events.length} Liquidated events`);
    const e = events[0].args;
    liquidations.push({
      step,
      accountId: e.accountId,
      marketId: e.marketId,
      closedSize: e.closedSize,
      positionBefore: target.size,
      price: e.price,
      pnl: e.realizedPnl - e.fundingPaid,
      equityBefore: e.equityBefore,
      maintenanceMargin: c.maintenanceMargin,
      penalty: e.penalty,
      keeperReward: e.keeperReward,
      insuranceFee: e.insuranceFee,
      shortfall: e.shortfall,
      newSize: e.newSize,
      gas: receipt.gasUsed,
    });
  };

  const liquidateCollateralOnce = async (c: IMarginLens.CandidateStructOutput) => {
    const debt = (-c.quoteBalance + USDC_TO_WAD - 1n) / USDC_TO_WAD; // USDC units, rounded up
    const receipt = await mined(
      `keeper liquidateCollateral(#${c.accountId}, ${symbolOf.get(c.token) ?? c.token}, ${debt})`,
      () => ch.liquidateCollateral(c.accountId, c.token, debt),
      interfaces,
    );
    const events = await p.vault.queryFilter(
      p.vault.filters.CollateralLiquidated(c.accountId),
      receipt.blockNumber,
      receipt.blockNumber,
    );
    if (events.length !== 1) throw new Error(`liquidateCollateral of #${c.accountId} emitted ${events.length} events`);
    const e = events[0].args;
    collateral.push({
      accountId: e.accountId,
      token: e.token,
      repaid: e.repaid,
      seized: e.seized,
      price: e.price,
      insuranceExcess: max0(c.quoteBalance + e.repaid * USDC_TO_WAD),
      gas: receipt.gasUsed,
    });
  };

  const settleOnce = async (c: IMarginLens.CandidateStructOutput) => {
    const receipt = await mined(
      `keeper settleBadDebt(#${c.accountId})`,
      () => ch.settleBadDebt(c.accountId),
      interfaces,
    );
    const [settled, covered, socialized] = await Promise.all([
      p.vault.queryFilter(p.vault.filters.BadDebtSettled(c.accountId), receipt.blockNumber, receipt.blockNumber),
      p.vault.queryFilter(p.vault.filters.BadDebtCovered(c.accountId), receipt.blockNumber, receipt.blockNumber),
      p.vault.queryFilter(p.vault.filters.BadDebtSocialized(c.accountId), receipt.blockNumber, receipt.blockNumber),
    ]);
    if (settled.length !== 1) throw new Error(`settleBadDebt of #${c.accountId} emitted no BadDebtSettled event`);
    badDebt.push({
      accountId: c.accountId,
      debt: settled[0].args.debt,
      covered: covered[0]?.args.amount ?? 0n,
      socialized: socialized[0]?.args.amount ?? 0n,
      gas: receipt.gasUsed,
    });
  };

  /** Scans every account and acts until nothing is left: liquidate, then collateral, then bad debt. */
  const keeperPass = async (step: string) => {
    for (let n = 0; ; n++) {
      if (n === MAX_KEEPER_ACTIONS) {
        throw new Error(
          `the keeper took ${n} actions in "${step}" and candidates are still left: the engine does not converge`,
        );
      }
      const list = await p.lens.candidates(1, await p.vault.accountCount());
      const next =
        list.find((c) => c.action === LIQUIDATE) ??
        list.find((c) => c.action === LIQUIDATE_COLLATERAL) ??
        list.find((c) => c.action === SETTLE_BAD_DEBT);
      if (!next) return;
      if (next.action === LIQUIDATE) await liquidateOnce(step, next);
      else if (next.action === LIQUIDATE_COLLATERAL) await liquidateCollateralOnce(next);
      else await settleOnce(next);
    }
  };

  /* 3. The crash */
  const step1 = "1";
  print("");
  print(`Step 1: ${await move({ ETH: -5n, BTC: -10n, STETH: -5n })}. The keeper scans MarginLens.candidates.`);
  await keeperPass(step1);

  const step2 = "2";
  print(`Step 2: ${await move({ ETH: -25n, BTC: -20n, STETH: -25n })}.`);
  // The circuit breaker: ETH is now more than 20 % below its last trade (a step-1 liquidation).
  const ethSafety = await p.clearingHouse.marketSafety(1);
  try {
    await p.clearingHouse.connect(ivan.signer).openPosition.staticCall(ivan.accountId, 1, 5n * WAD, 0);
    print("  ivan buys 5 ETH at the dip: accepted (no circuit breaker?)");
  } catch (error: unknown) {
    const decoded = decodeRevert(error, interfaces);
    if (!decoded) throw explainFailure("ivan's dip-buying trade", error, interfaces);
    print(
      `  ivan tries to buy 5 more ETH at the dip (last trade at ${usd(ethSafety.referencePrice)}): refused, ${decoded.name}.`,
    );
  }
  await keeperPass(step2);
  const timeout = await p.clearingHouse.circuitBreakerTimeout();
  const breakerRows: string[][] = [];
  for (const id of [1n, 2n, 3n]) {
    const [safety, params] = await Promise.all([p.clearingHouse.marketSafety(id), p.clearingHouse.marketParams(id)]);
    const price = await oraclePrice(p, params.oracle);
    const ref = safety.referencePrice;
    const moved = ref === 0n ? 0n : ((price - ref) * 10_000n) / ref;
    const beyond = ref !== 0n && abs(price - ref) * WAD > safety.maxPriceDeviation * ref;
    breakerRows.push([
      market(id),
      ref === 0n ? "-" : usd(ref),
      usd(price),
      `${formatFixed(moved, 2, 1)} %`,
      safety.reduceOnly
        ? `reduce-only (tripped; clears ${timeout / 60n} min later or by clearCircuitBreaker)`
        : beyond
          ? "exposure increases refused (pokeCircuitBreaker would trip it)"
          : "open",
    ]);
  }
  print("  The keeper went on regardless: liquidations are never refused by the circuit breaker, they trip it.");
  print(renderTable(["market", "reference (last trade)", "oracle", "move", "circuit breaker"], breakerRows));

  /* 4. Report */
  print("");
  const liquidationRows = await Promise.all(
    liquidations.map(async (l) => [
      l.step,
      await label(l.accountId),
      market(l.marketId),
      l.newSize === 0n ? "full" : "partial",
      `${fixed(abs(l.closedSize), 2)} of ${fixed(abs(l.positionBefore), 2)}`,
      usd(l.price),
      `${usd(l.equityBefore)} / ${usd(l.maintenanceMargin)}`,
      usd(l.penalty),
      usd(l.keeperReward),
      usd(l.insuranceFee),
      usd(l.shortfall),
    ]),
  );
  print(
    renderTable(
      [
        "step",
        "account",
        "market",
        "kind",
        "closed",
        "price",
        "equity / MM before",
        "penalty",
        "keeper",
        "insurance",
        "shortfall",
      ],
      liquidationRows,
    ),
  );

  let collateralProfit = 0n;
  for (const c of collateral) {
    const decimals = await MockERC20__factory.connect(c.token, keeper).decimals();
    const value = (c.seized * c.price) / 10n ** BigInt(decimals);
    const profit = value - c.repaid * USDC_TO_WAD;
    collateralProfit += profit;
    print(
      `liquidateCollateral ${await label(c.accountId)}: repaid ${formatFixed(c.repaid, 6, 2)} USDC of debt, received ` +
        `${formatFixed(c.seized, Number(decimals), 4)} ${symbolOf.get(c.token) ?? c.token} worth ${usd(value)} at ${usd(c.price)} ` +
        `(discount ${usd(profit)})`,
    );
  }
  for (const b of badDebt) {
    print(
      `settleBadDebt ${await label(b.accountId)}: debt ${usd(b.debt)}, insurance fund covers ${usd(b.covered)}, ` +
        `pool absorbs ${usd(b.socialized)}`,
    );
  }

  const keeperUsdcAfter = await p.usdc.balanceOf(keeper.address);
  const keeperWethAfter = await p.weth.balanceOf(keeper.address);
  const repaid = collateral.reduce((s, c) => s + c.repaid, 0n);
  const keeperRewardsUsdc = keeperUsdcAfter - keeperUsdcBefore + repaid;
  const rewardsFromEvents = liquidations.reduce((s, l) => s + l.keeperReward / USDC_TO_WAD, 0n);
  if (rewardsFromEvents !== keeperRewardsUsdc) {
    throw new Error(
      `keeper USDC received ${keeperRewardsUsdc} differs from the Liquidated events' rewards ${rewardsFromEvents} (rounded down to USDC units)`,
    );
  }
  const gasUsed =
    liquidations.reduce((s, l) => s + l.gas, 0n) +
    collateral.reduce((s, c) => s + c.gas, 0n) +
    badDebt.reduce((s, b) => s + b.gas, 0n);
  const actions = liquidations.length + collateral.length + badDebt.length;
  print("");
  print(
    `Keeper ${keeper.address.slice(0, 10)}…: ${formatFixed(keeperRewardsUsdc, 6, 2)} USDC of rewards + ${usd(collateralProfit)} ` +
      `collateral discount (${formatFixed(keeperWethAfter - keeperWethBefore, 18, 4)} WETH bought for ` +
      `${formatFixed(repaid, 6, 2)} USDC) = ${usd(keeperRewardsUsdc * USDC_TO_WAD + collateralProfit)}, ` +
      `for ${actions} transactions using ${gasUsed.toLocaleString("en-US")} gas.`,
  );

  const after = await snapshot();
  // The Vault's ledgers must move exactly as the events say (DESIGN §8 waterfall).
  const sum = <T>(list: T[], f: (x: T) => bigint) => list.reduce((s, x) => s + f(x), 0n);
  const expectedInsurance =
    before.insuranceFund +
    sum(liquidations, (l) => l.insuranceFee + (l.keeperReward % USDC_TO_WAD)) +
    sum(collateral, (c) => c.insuranceExcess) -
    sum(badDebt, (b) => b.covered);
  const expectedPool = before.poolLedger - sum(liquidations, (l) => l.pnl) - sum(badDebt, (b) => b.socialized);
  if (after.insuranceFund !== expectedInsurance || after.poolLedger !== expectedPool) {
    throw new Error(
      `Vault ledgers differ from the events: insurance fund ${after.insuranceFund} (events say ${expectedInsurance}), ` +
        `pool ${after.poolLedger} (events say ${expectedPool}); did another transaction run during the demo?`,
    );
  }
  const change = (a: bigint, b: bigint, f: (x: bigint) => string) => {
    const d = b - a;
    return d > 0n ? `+${f(d)}` : f(d);
  };
  const usdc6 = (x: bigint) => `$${formatFixed(x, 6, 2)}`.replace("$-", "-$");
  const share = (x: bigint) => formatFixed(x, 6, 6);
  print("");
  print(
    renderTable(
      ["", "before", "after", "change"],
      [
        [
          "insurance fund",
          usd(before.insuranceFund),
          usd(after.insuranceFund),
          change(before.insuranceFund, after.insuranceFund, usd),
        ],
        [
          "pool (LiquidityPool.totalAssets)",
          usdc6(before.poolTotalAssets),
          usdc6(after.poolTotalAssets),
          change(before.poolTotalAssets, after.poolTotalAssets, usdc6),
        ],
        [
          "pool share price (USDC per cmLP)",
          share(before.sharePrice),
          share(after.sharePrice),
          change(before.sharePrice, after.sharePrice, share),
        ],
        [
          "pool reserve for traders' open PnL",
          usdc6(before.poolReserve),
          usdc6(after.poolReserve),
          change(before.poolReserve, after.poolReserve, usdc6),
        ],
      ],
    ),
  );
  print("");
  const equityRows: string[][] = [];
  for (const id of tracked) {
    const b = before.equity.get(id) ?? 0n;
    const a = after.equity.get(id) ?? 0n;
    equityRows.push([await label(id), usd(b), usd(a), change(b, a, usd), await positions(id)]);
  }
  print(renderTable(["trader", "equity before", "equity after", "change", "positions after"], equityRows));
  print("(the pool gains what underwater accounts lost; the insurance fund pays the debts they could not.)");

  return {
    liquidations,
    collateral,
    badDebt,
    keeperRewardsUsdc,
    collateralProfit,
    before,
    after,
  };
}
