import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, setBalance, time } from "@nomicfoundation/hardhat-network-helpers";
import type { BaseContract } from "ethers";
import type { IClearingHouse, MockAggregator } from "../typechain-types";
import {
  HEARTBEAT,
  PAUSE_DEPOSIT,
  PAUSE_TRADE,
  PAUSE_WITHDRAW,
  WAD,
  deployFeed,
  deployOracle,
  units,
  vaultFixture,
} from "./shared/fixtures";
import { BTC, ETH, STETH, deployClearingHouse, marketParams } from "./shared/protocol";
import {
  DEFAULT_LIQUIDATION_PARAMS,
  expectStateUnchanged,
  field,
  fundInsurance,
  snapshotState,
  type Engine,
  type StateSnapshot,
} from "./shared/liquidation";
import type { LedgerToken } from "./shared/ledger";

/*
 * Bad-input matrix: every external state-changing entry point of the protocol, fed inputs it must
 * refuse. Each row names the entry point, the input, and the exact custom error with its exact
 * arguments; its test snapshots everything the protocol holds (test/shared/liquidation.ts
 * snapshotState, extended below with LP shares, governance, configuration and operator state),
 * makes the call, asserts the revert, and asserts that nothing moved. The last test holds the
 * matrix to its coverage: every entry point of ENTRY_POINTS, every field InvalidMarketParam and
 * InvalidLiquidationParam can name, every category at least three times.
 *
 * Rows whose bad input is a feed answer (stale, zero, negative) break the feed after the snapshot
 * and restore it before the second one: the ClearingHouse's marketState view, part of the snapshot,
 * itself needs a trusted price. A feed is not protocol state.
 *
 * Each row costs two full snapshots (about 200 calls each), so the matrix keeps to one or a few rows
 * per entry point and leaves to the per-contract suites the inputs they already cover; the file
 * runs in about 30 s.
 */

const U6 = (n: number | bigint) => units(n, 6);
const E18 = (n: number | bigint) => units(n, 18);
const MAX = ethers.MaxUint256;
const MAX_INT = ethers.MaxInt256;
const ZERO = ethers.ZeroAddress;

/* ACCOUNTS of the fixture */
const ALICE = 1n; // Cross: 20,000 USDC, 10 WETH, 0.5 WBTC; long 10 ETH, short 0.5 BTC; `operator` approved
const ALICE_ISO = 2n; // Isolated: 10,000 USDC; long 30 ETH
const BOB = 3n; // Cross, flat: 1,000 USDC, 5 WETH
const CAROL = 4n; // Cross, flat with debt: 1 WETH, 100 ZDEC, negative quote balance (lost on STETH)
const DAVE = 5n; // Cross: 1,000 USDC, long 0.25 BTC, liquidatable with 0 < equity < MM / 2
const NO_ACCOUNT = 999n;
const NO_MARKET = 99n;

/** Every external state-changing entry point the matrix must reach (a missing one fails the last test). */
const ENTRY_POINTS = [
  "Vault.createAccount",
  "Vault.setOperator",
  "Vault.deposit",
  "Vault.withdraw",
  "Vault.transferCollateral",
  "Vault.depositInsurance",
  "Vault.withdrawInsurance",
  "Vault.withdrawFees",
  "Vault.poolDeposit",
  "Vault.poolWithdraw",
  "Vault.settleTrade",
  "Vault.settleLiquidation",
  "Vault.liquidateCollateral",
  "Vault.settleBadDebt",
  "Vault.listCollateral",
  "Vault.setCollateralConfig",
  "Vault.setClearingHouse",
  "Vault.setLiquidityPool",
  "Vault.pause",
  "Vault.unpause",
  "Vault.setGuardian",
  "Vault.transferOwnership",
  "Vault.acceptOwnership",
  "ClearingHouse.openPosition",
  "ClearingHouse.closePosition",
  "ClearingHouse.liquidate",
  "ClearingHouse.liquidateCollateral",
  "ClearingHouse.settleBadDebt",
  "ClearingHouse.pokeCircuitBreaker",
  "ClearingHouse.addMarket",
  "ClearingHouse.setMarketParams",
  "ClearingHouse.setGroupOffset",
  "ClearingHouse.setMaxPositionsPerAccount",
  "ClearingHouse.setLiquidationParams",
  "ClearingHouse.setLiquidationRateLimit",
  "ClearingHouse.setCircuitBreakerTimeout",
  "ClearingHouse.clearCircuitBreaker",
  "ClearingHouse.pause",
  "ClearingHouse.unpause",
  "ClearingHouse.setGuardian",
  "ClearingHouse.transferOwnership",
  "ClearingHouse.acceptOwnership",
  "LiquidityPool.deposit",
  "LiquidityPool.mint",
  "LiquidityPool.withdraw",
  "LiquidityPool.redeem",
  "ChainlinkOracle.constructor",
  "ChainlinkOracle.price",
] as const;
type EntryPoint = (typeof ENTRY_POINTS)[number];

/** The categories of bad input the matrix must cover, each several times. */
const CATEGORIES = [
  "zero amount",
  "max uint256",
  "balance + 1",
  "unknown id",
  "wrong caller",
  "bad price",
  "out of bounds",
  "paused",
  "weird token",
  "bad state",
] as const;
type Category = (typeof CATEGORIES)[number];

/**
 * Every field InvalidMarketParam names, but "marketCount" (the 72nd market: 68 more markets would
 * make every snapshot of every row 24 times longer).
 */
const MARKET_PARAM_FIELDS = [
  "oracle",
  "group",
  "skewScale",
  "takerFee",
  "maxFundingRatePerDay",
  "maxPriceDeviation",
  "maxLongOpenInterest",
  "maxShortOpenInterest",
  "tiers",
  "tierRates",
  "tierBounds",
];

/** Every field InvalidLiquidationParam names (setLiquidationParams, setLiquidationRateLimit, setCircuitBreakerTimeout). */
const LIQUIDATION_PARAM_FIELDS = [
  "liquidationFee",
  "keeperShare",
  "closeFactor",
  "fullLiquidationThreshold",
  "dustThreshold",
  "collateralDiscount",
  "rateLimitCap",
  "rateLimitWindow",
  "circuitBreakerTimeout",
];

/** Where the error is declared (the contract whose ABI decodes it). */
type Source = "Vault" | "ClearingHouse" | "LiquidityPool" | "ChainlinkOracle" | "ERC20";

/* FIXTURE */

async function badInputFixture() {
  const f = await vaultFixture();
  const signers = await ethers.getSigners();
  const [lp, carol, dave, operator] = [signers[5], signers[6], signers[7], signers[8]];
  const vaultAddress = await f.vault.getAddress();

  // The ClearingHouse with the three markets of protocolFixture, funding off (figures do not drift
  // between blocks), and a real ERC-4626 pool seeded with 1,000,000 USDC by `lp`.
  const clearingHouse = await deployClearingHouse(vaultAddress, f.owner.address, f.guardian.address);
  await f.vault.setClearingHouse(clearingHouse);
  const stethFeed = await deployFeed(8, units(2_990, 8), "STETH / USD");
  const stethOracle = await deployOracle(stethFeed);
  const noFunding = { maxFundingRatePerDay: 0n };
  await clearingHouse.addMarket(marketParams(await f.ethOracle.getAddress(), { group: 1, ...noFunding }));
  await clearingHouse.addMarket(
    marketParams(await f.btcOracle.getAddress(), {
      skewScale: E18(50_000),
      maxLongOpenInterest: E18(5_000),
      maxShortOpenInterest: E18(5_000),
      ...noFunding,
    }),
  );
  await clearingHouse.addMarket(marketParams(await stethOracle.getAddress(), { group: 1, ...noFunding }));
  await clearingHouse.setGroupOffset(1, (WAD * 8n) / 10n);
  const pool = await ethers.deployContract("LiquidityPool", [vaultAddress, await clearingHouse.getAddress()]);
  await f.vault.setLiquidityPool(pool);
  await f.usdc.mint(lp.address, U6(2_000_000));
  await f.usdc.connect(lp).approve(pool, MAX);
  await pool.connect(lp).deposit(U6(1_000_000), lp.address);

  // Tokens the protocol must refuse or cannot list.
  const unlisted = await ethers.deployContract("MockERC20", ["Unlisted", "UNL", 18]);

  // Wallets: every trader holds every token and has approved the Vault for all of them.
  const wallet = [
    [f.usdc, U6(100_000)],
    [f.weth, E18(100)],
    [f.wbtc, units(10, 8)],
    [f.zdec, 1_000n],
    [f.feeToken, E18(100)],
    [f.falseToken, E18(100)],
    [unlisted, E18(100)],
  ] as const;
  for (const s of [f.alice, f.bob, carol, dave]) {
    for (const [token, amount] of wallet) {
      await token.mint(s.address, amount);
      await token.connect(s).approve(vaultAddress, MAX);
    }
  }
  await f.usdc.mint(f.mallory.address, U6(100_000)); // mallory holds USDC but approved nothing

  const v = f.vault;
  await v.connect(f.alice).deposit(ALICE, f.usdc, U6(20_000));
  await v.connect(f.alice).deposit(ALICE, f.weth, E18(10));
  await v.connect(f.alice).deposit(ALICE, f.wbtc, units(5, 7));
  await v.connect(f.alice).deposit(ALICE_ISO, f.usdc, U6(10_000));
  await v.connect(f.bob).deposit(BOB, f.usdc, U6(1_000));
  await v.connect(f.bob).deposit(BOB, f.weth, E18(5));
  await v.connect(carol).createAccount(0);
  await v.connect(carol).deposit(CAROL, f.weth, E18(1));
  await v.connect(carol).deposit(CAROL, f.zdec, 100n);
  await v.connect(dave).createAccount(0);
  await v.connect(dave).deposit(DAVE, f.usdc, U6(1_000));
  await v.connect(f.alice).setOperator(ALICE, operator.address, true);
  await fundInsurance(f, U6(1_000));

  const ch = clearingHouse;
  await ch.connect(f.alice).openPosition(ALICE, ETH, E18(10), 0);
  await ch.connect(f.alice).openPosition(ALICE, BTC, -units(5, 17), 0);
  await ch.connect(f.alice).openPosition(ALICE_ISO, ETH, E18(30), 0);

  // carol: a long STETH closed at a 3 % loss leaves her flat with a negative quote balance.
  await ch.connect(carol).openPosition(CAROL, STETH, E18(2), 0);
  await stethFeed.updateAnswer(units(2_900, 8));
  await ch.connect(carol).closePosition(CAROL, STETH, 0);
  if ((await v.quoteBalance(CAROL)) >= 0n || (await v.marketMask(CAROL)) !== 0n) throw new Error("carol: no debt");

  // dave: a long 0.25 BTC, then BTC falls to where equity = MM / 4 (MM = 2.5 % of notional):
  // collateral + size × P + openNotional = 0.25 × 0.025 × size × P.
  await ch.connect(dave).openPosition(DAVE, BTC, units(25, 16), 0);
  const [size, openNotional] = await ch.positionOf(DAVE, BTC);
  const collateral = await v.collateralValue(DAVE);
  const target = (-(collateral + openNotional) * WAD * 100_000n) / (size * 99_375n); // WAD price
  await f.btcFeed.updateAnswer(target / 10n ** 10n);
  const m = await ch.accountMargin(DAVE);
  if (!m.liquidatable || m.equity <= 0n || m.equity * 2n >= BigInt(m.maintenanceMargin)) {
    throw new Error(`dave: not in the liquidation zone (${m.equity}, ${m.maintenanceMargin})`);
  }

  const a = {
    vault: vaultAddress,
    clearingHouse: await ch.getAddress(),
    pool: await pool.getAddress(),
    usdc: await f.usdc.getAddress(),
    weth: await f.weth.getAddress(),
    wbtc: await f.wbtc.getAddress(),
    zdec: await f.zdec.getAddress(),
    feeToken: await f.feeToken.getAddress(),
    falseToken: await f.falseToken.getAddress(),
    unlisted: await unlisted.getAddress(),
    ethOracle: await f.ethOracle.getAddress(),
    ethFeed: await f.ethFeed.getAddress(),
    btcFeed: await f.btcFeed.getAddress(),
    stethFeed: await stethFeed.getAddress(),
  };
  const snapshotTokens: LedgerToken[] = [];
  for (const t of f.tokens) snapshotTokens.push(withCachedSymbol(t, await t.symbol()));
  const engine: Engine = { vault: f.vault, clearingHouse, tokens: snapshotTokens };
  return {
    ...f,
    engine,
    clearingHouse,
    pool,
    stethFeed,
    stethOracle,
    unlisted,
    lp,
    carol,
    dave,
    operator,
    a,
  };
}
type Fx = Awaited<ReturnType<typeof badInputFixture>>;

function source(f: Fx, s: Source): BaseContract {
  switch (s) {
    case "Vault":
      return f.vault;
    case "ClearingHouse":
      return f.clearingHouse;
    case "LiquidityPool":
      return f.pool;
    case "ChainlinkOracle":
      return f.ethOracle;
    case "ERC20":
      return f.usdc;
  }
}

/* SNAPSHOT: snapshotState plus what it leaves out */

/**
 * The token as snapshotLedger reads it, its (immutable) symbol read once: the ledger snapshot asks
 * for it per account and token, a quarter of its calls, and each row takes two snapshots.
 */
function withCachedSymbol<T extends LedgerToken>(token: T, symbol: string): T {
  const cached = async () => symbol;
  return new Proxy(token, {
    get(target, prop) {
      if (prop === "symbol") return cached;
      const value: unknown = Reflect.get(target, prop);
      // ethers keeps a contract's internals keyed by the contract itself: call its methods on it
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

interface FullSnapshot {
  state: StateSnapshot;
  extra: Record<string, unknown>;
}

/** ethers Results (nested arrays of bigints, addresses, booleans) as plain arrays for deep equality. */
function plain(value: unknown): unknown {
  return Array.isArray(value) ? Array.from(value, plain) : value;
}

/** Wallets whose token balances the ledger snapshot adds; the Vault's own are always in it, so any pull or payout shows. */
function holdersOf(f: Fx): string[] {
  return [f.alice.address, f.mallory.address, f.lp.address];
}

async function snapshotExtra(f: Fx): Promise<Record<string, unknown>> {
  const { vault, clearingHouse: ch, pool } = f;
  const extra: Record<string, unknown> = {};
  const shareHolders = [f.alice, f.mallory, f.lp].map((s) => s.address);
  const shares: bigint[] = [];
  for (const h of shareHolders) shares.push(await pool.balanceOf(h));
  extra.pool = [await pool.totalSupply(), shares];
  for (const [name, c] of [
    ["vault", vault],
    ["clearingHouse", ch],
  ] as const) {
    extra[`governance/${name}`] = [await c.owner(), await c.pendingOwner(), await c.guardian(), await c.pausedFlags()];
  }
  const configs: unknown[] = [];
  for (const t of [f.weth, f.unlisted]) configs.push(plain(await vault.collateralConfig(t))); // the rows' targets
  extra.vaultConfig = [
    await vault.clearingHouse(),
    await vault.liquidityPool(),
    plain(await vault.collateralTokens()),
    configs,
  ];
  const markets = await ch.marketCount();
  const params: unknown[] = [];
  for (let m = 1n; m <= markets; m++) params.push(plain(await ch.marketParams(m)));
  const offsets: bigint[] = [];
  for (const g of [0, 1, 9]) offsets.push(await ch.groupOffset(g)); // the groups the rows aim at
  extra.chConfig = [markets, params, offsets, await ch.maxPositionsPerAccount()];
  const accounts = await vault.accountCount();
  const states: unknown[] = [];
  for (let id = 1n; id <= accounts; id++) states.push(plain(await vault.accountState(id)));
  extra.accountStates = states;
  extra.operators = [
    await vault.isOperator(ALICE, f.operator.address),
    await vault.isOperator(ALICE, f.mallory.address),
    await vault.isOperator(ALICE, ZERO),
  ];
  return extra;
}

async function snapshotFull(f: Fx): Promise<FullSnapshot> {
  return { state: await snapshotState(f.engine, holdersOf(f)), extra: await snapshotExtra(f) };
}

async function expectFullUnchanged(f: Fx, before: FullSnapshot): Promise<void> {
  await expectStateUnchanged(f.engine, before.state, holdersOf(f));
  expect(await snapshotExtra(f), "a rejected call changed governance, configuration or LP shares").to.deep.equal(
    before.extra,
  );
}

/* FEEDS: the bad answers, applied after the snapshot and undone before the second one */

type Restore = () => Promise<unknown>;

async function breakFeed(feed: MockAggregator, how: (now: bigint) => Promise<unknown>): Promise<Restore> {
  const { answer } = await feed.latestRoundData();
  await how(BigInt(await time.latest()));
  return () => feed.updateAnswer(answer);
}
const staleFeed = (feed: MockAggregator) => breakFeed(feed, (now) => feed.setUpdatedAt(now - HEARTBEAT - 100n));
const answerFeed = (feed: MockAggregator, answer: bigint) => breakFeed(feed, () => feed.updateAnswer(answer));

/** StalePrice(feed, updatedAt, heartbeat) as the feed now stands. */
async function staleArgs(feed: MockAggregator): Promise<unknown[]> {
  return [await feed.getAddress(), (await feed.latestRoundData()).updatedAt, HEARTBEAT];
}

/* HELPERS */

type Tier = IClearingHouse.MarketParamsStruct["tiers"][number];
const tier = (upToUsd: bigint, mmRate: bigint, imRate: bigint): Tier => ({
  upToNotional: E18(upToUsd),
  mmRate,
  imRate,
});
const PCT = (n: number | bigint) => units(n, 16); // n %, WAD

function newMarket(f: Fx, overrides: Partial<IClearingHouse.MarketParamsStruct>): IClearingHouse.MarketParamsStruct {
  return marketParams(f.a.ethOracle, { maxFundingRatePerDay: 0n, ...overrides });
}

function liquidationParams(
  overrides: Partial<IClearingHouse.LiquidationParamsStruct>,
): IClearingHouse.LiquidationParamsStruct {
  return { ...DEFAULT_LIQUIDATION_PARAMS, ...overrides };
}

async function poolSigner(f: Fx) {
  await setBalance(f.a.pool, E18(1));
  return ethers.getImpersonatedSigner(f.a.pool);
}

/** The smallest USDC amount (6 decimals) that takes the account's free collateral below zero, and the result. */
async function pastFreeCollateral(f: Fx, accountId: bigint): Promise<{ amount: bigint; freeAfter: bigint }> {
  const free = (await f.clearingHouse.accountMargin(accountId)).freeCollateral;
  const amount = free / 10n ** 12n + 1n;
  return { amount, freeAfter: free - amount * 10n ** 12n };
}

async function fillOf(f: Fx, accountId: bigint, marketId: bigint, sizeDelta: bigint): Promise<bigint> {
  return (await f.clearingHouse.previewTrade(accountId, marketId, sizeDelta)).fillPrice;
}

/* THE MATRIX */

interface Row {
  id: string;
  entry: EntryPoint;
  input: string;
  category: Category;
  /** Protocol state the input needs, before the snapshot. */
  setup?: (f: Fx) => Promise<unknown>;
  /** A feed made untrustworthy after the snapshot; returns how to restore it. */
  feed?: (f: Fx) => Promise<Restore>;
  call: (f: Fx) => Promise<unknown>;
  error: readonly [Source, string];
  /** The exact arguments, computed after setup and feed, before the call. */
  args?: (f: Fx) => Promise<readonly unknown[]> | readonly unknown[];
}
type Draft = Omit<Row, "id">;

const ownable = (
  entry: EntryPoint,
  src: "Vault" | "ClearingHouse",
  call: (f: Fx) => Promise<unknown>,
  who: "mallory" | "guardian" = "mallory",
): Draft => ({
  entry,
  input: `called by ${who} (not the owner)`,
  category: "wrong caller",
  call,
  error: [src, "OwnableUnauthorizedAccount"],
  args: (f) => [who === "guardian" ? f.guardian.address : f.mallory.address],
});

const MAX_AMOUNT = 2n ** 128n - 1n;
const MAX_TRADE = (2n ** 63n - 1n) * 10n ** 10n;

const DRAFTS: Draft[] = [
  /* ---------------------------------------------------------------- amounts too large to scale */
  {
    entry: "Vault.deposit",
    input: "USDC amount = max uint256",
    category: "max uint256",
    call: (f) => f.vault.connect(f.alice).deposit(ALICE, f.usdc, ethers.MaxUint256),
    error: ["Vault", "AmountTooLarge"],
    args: () => [ethers.MaxUint256, MAX_AMOUNT],
  },
  {
    entry: "Vault.withdraw",
    input: "WETH amount = 2^128 (one above MAX_AMOUNT)",
    category: "max uint256",
    call: (f) => f.vault.connect(f.alice).withdraw(ALICE, f.weth, MAX_AMOUNT + 1n, f.alice.address),
    error: ["Vault", "AmountTooLarge"],
    args: () => [MAX_AMOUNT + 1n, MAX_AMOUNT],
  },
  {
    entry: "Vault.transferCollateral",
    input: "USDC amount = max uint256",
    category: "max uint256",
    call: (f) => f.vault.connect(f.alice).transferCollateral(ALICE, ALICE_ISO, f.usdc, ethers.MaxUint256),
    error: ["Vault", "AmountTooLarge"],
    args: () => [ethers.MaxUint256, MAX_AMOUNT],
  },
  {
    entry: "Vault.depositInsurance",
    input: "amount = max uint256",
    category: "max uint256",
    call: (f) => f.vault.depositInsurance(ethers.MaxUint256),
    error: ["Vault", "AmountTooLarge"],
    args: () => [ethers.MaxUint256, MAX_AMOUNT],
  },
  {
    entry: "ClearingHouse.openPosition",
    input: "sizeDelta = −(int64 max + 1) lots",
    category: "max uint256",
    call: (f) => f.clearingHouse.connect(f.alice).openPosition(ALICE, ETH, -(MAX_TRADE + 10n ** 10n), 0),
    error: ["ClearingHouse", "SizeTooLarge"],
    args: () => [-(MAX_TRADE + 10n ** 10n), MAX_TRADE],
  },
  {
    entry: "LiquidityPool.deposit",
    input: "assets = max uint256 (above what the int96 pool ledger can take)",
    category: "max uint256",
    call: (f) => f.pool.connect(f.lp).deposit(ethers.MaxUint256, f.lp.address),
    error: ["LiquidityPool", "ERC4626ExceededMaxDeposit"],
    args: async (f) => [f.lp.address, ethers.MaxUint256, await f.pool.maxDeposit(f.lp.address)],
  },
  /* ---------------------------------------------------------------- Vault: accounts */
  {
    entry: "Vault.createAccount",
    input: "mode = 2 (neither Cross nor Isolated)",
    category: "out of bounds",
    call: (f) => f.vault.connect(f.mallory).createAccount(2),
    error: ["Vault", "InvalidMarginMode"],
    args: () => [2],
  },
  {
    entry: "Vault.setOperator",
    input: "a stranger approves herself on alice's account",
    category: "wrong caller",
    call: (f) => f.vault.connect(f.mallory).setOperator(ALICE, f.mallory.address, true),
    error: ["Vault", "NotAccountOwner"],
    args: (f) => [ALICE, f.mallory.address],
  },

  /* ---------------------------------------------------------------- Vault: deposit */
  {
    entry: "Vault.deposit",
    input: "unlisted token",
    category: "weird token",
    call: (f) => f.vault.connect(f.alice).deposit(ALICE, f.unlisted, E18(1)),
    error: ["Vault", "UnsupportedToken"],
    args: (f) => [f.a.unlisted],
  },
  {
    entry: "Vault.deposit",
    input: "fee-on-transfer token, 1e18 (1 % burnt in transit)",
    category: "weird token",
    call: (f) => f.vault.connect(f.alice).deposit(ALICE, f.feeToken, E18(1)),
    error: ["Vault", "FeeOnTransferNotSupported"],
    args: (f) => [f.a.feeToken, E18(1), E18(1) - E18(1) / 100n],
  },
  {
    entry: "Vault.deposit",
    input: "token whose transferFrom returns false",
    category: "weird token",
    call: (f) => f.vault.connect(f.alice).deposit(ALICE, f.falseToken, E18(1)),
    error: ["Vault", "SafeERC20FailedOperation"],
    args: (f) => [f.a.falseToken],
  },
  {
    entry: "Vault.deposit",
    input: "0-decimal ZDEC, cap + 1 (cap 1,000, 100 deposited, 901 more)",
    category: "weird token",
    call: (f) => f.vault.connect(f.alice).deposit(ALICE, f.zdec, 901n),
    error: ["Vault", "DepositCapExceeded"],
    args: (f) => [f.a.zdec, 1_000n, 1_001n],
  },
  {
    entry: "Vault.deposit",
    input: "deposits paused by the guardian",
    category: "paused",
    setup: (f) => f.vault.connect(f.guardian).pause(PAUSE_DEPOSIT),
    call: (f) => f.vault.connect(f.alice).deposit(ALICE, f.usdc, U6(1)),
    error: ["Vault", "ActionPaused"],
    args: () => [PAUSE_DEPOSIT],
  },
  /* ---------------------------------------------------------------- Vault: withdraw */
  {
    entry: "Vault.withdraw",
    input: "an approved operator withdraws (operators trade, owners withdraw)",
    category: "wrong caller",
    call: (f) => f.vault.connect(f.operator).withdraw(ALICE, f.usdc, U6(1), f.operator.address),
    error: ["Vault", "NotAccountOwner"],
    args: (f) => [ALICE, f.operator.address],
  },
  {
    entry: "Vault.withdraw",
    input: "withdrawals paused by the guardian",
    category: "paused",
    setup: (f) => f.vault.connect(f.guardian).pause(PAUSE_WITHDRAW),
    call: (f) => f.vault.connect(f.bob).withdraw(BOB, f.usdc, U6(1), f.bob.address),
    error: ["Vault", "ActionPaused"],
    args: () => [PAUSE_WITHDRAW],
  },
  {
    entry: "Vault.withdraw",
    input: "free collateral + 1 unit of USDC (isolated account, long 30 ETH)",
    category: "balance + 1",
    call: async (f) =>
      f.vault
        .connect(f.alice)
        .withdraw(ALICE_ISO, f.usdc, (await pastFreeCollateral(f, ALICE_ISO)).amount, f.alice.address),
    error: ["Vault", "InsufficientFreeCollateral"],
    args: async (f) => [ALICE_ISO, (await pastFreeCollateral(f, ALICE_ISO)).freeAfter],
  },
  {
    entry: "Vault.withdraw",
    input: "1 WETH while the ETH feed is stale (positions open: needs a price)",
    category: "bad price",
    feed: (f) => staleFeed(f.ethFeed),
    call: (f) => f.vault.connect(f.alice).withdraw(ALICE, f.weth, E18(1), f.alice.address),
    error: ["ChainlinkOracle", "StalePrice"],
    args: (f) => staleArgs(f.ethFeed),
  },
  /* ---------------------------------------------------------------- Vault: transferCollateral */
  {
    entry: "Vault.transferCollateral",
    input: "unknown destination account 999",
    category: "unknown id",
    call: (f) => f.vault.connect(f.alice).transferCollateral(ALICE, NO_ACCOUNT, f.usdc, U6(1)),
    error: ["Vault", "UnknownAccount"],
    args: () => [NO_ACCOUNT],
  },
  {
    entry: "Vault.transferCollateral",
    input: "1 USDC while the ETH feed answers −1",
    category: "bad price",
    feed: (f) => answerFeed(f.ethFeed, -1n),
    call: (f) => f.vault.connect(f.alice).transferCollateral(ALICE, ALICE_ISO, f.usdc, U6(1)),
    error: ["ChainlinkOracle", "InvalidPrice"],
    args: (f) => [f.a.ethFeed, -1n],
  },
  /* ---------------------------------------------------------------- Vault: ledgers */
  {
    entry: "Vault.depositInsurance",
    input: "depositor's wallet balance + 1",
    category: "balance + 1",
    call: async (f) => f.vault.connect(f.alice).depositInsurance((await f.usdc.balanceOf(f.alice)) + 1n),
    error: ["ERC20", "ERC20InsufficientBalance"],
    args: async (f) => {
      const balance = await f.usdc.balanceOf(f.alice);
      return [f.alice.address, balance, balance + 1n];
    },
  },
  {
    entry: "Vault.withdrawInsurance",
    input: "insurance fund + 1 unit (fund 1,000 USDC)",
    category: "balance + 1",
    call: (f) => f.vault.withdrawInsurance(f.usdc, U6(1_000) + 1n, f.owner.address),
    error: ["Vault", "InsufficientLedger"],
    args: () => [field("insurance"), E18(1_000), E18(1_000) + 10n ** 12n],
  },
  {
    entry: "Vault.withdrawFees",
    input: "fee ledger + 1 unit (ledger 0)",
    category: "balance + 1",
    call: (f) => f.vault.withdrawFees(1n, f.owner.address),
    error: ["Vault", "InsufficientLedger"],
    args: () => [field("fees"), 0n, 10n ** 12n],
  },
  {
    entry: "Vault.poolDeposit",
    input: "called by a stranger (not the pool)",
    category: "wrong caller",
    call: (f) => f.vault.connect(f.mallory).poolDeposit(U6(1)),
    error: ["Vault", "NotLiquidityPool"],
    args: (f) => [f.mallory.address],
  },
  {
    entry: "Vault.poolWithdraw",
    input: "pool ledger + 1 unit, from the pool contract itself",
    category: "balance + 1",
    call: async (f) => {
      const amount = (await f.vault.poolBalance()) / 10n ** 12n + 1n;
      return f.vault.connect(await poolSigner(f)).poolWithdraw(f.lp.address, amount);
    },
    error: ["Vault", "InsufficientLedger"],
    args: async (f) => {
      const ledger = await f.vault.poolBalance();
      return [field("pool"), ledger, (ledger / 10n ** 12n + 1n) * 10n ** 12n];
    },
  },

  /* ---------------------------------------------------------------- Vault: settlement, ClearingHouse only */
  {
    entry: "Vault.settleTrade",
    input: "called by the account's owner directly, amount = max int256",
    category: "wrong caller",
    call: (f) => f.vault.connect(f.alice).settleTrade(ALICE, f.alice.address, MAX_INT, ETH, true),
    error: ["Vault", "NotClearingHouse"],
    args: (f) => [f.alice.address],
  },
  {
    entry: "Vault.settleLiquidation",
    input: "called by a stranger directly, keeperReward = max uint256 to herself",
    category: "wrong caller",
    call: (f) => f.vault.connect(f.mallory).settleLiquidation(DAVE, 0, MAX, 0, f.mallory.address, BTC, false),
    error: ["Vault", "NotClearingHouse"],
    args: (f) => [f.mallory.address],
  },
  {
    entry: "Vault.liquidateCollateral",
    input: "called by a stranger directly, discount = max uint256",
    category: "wrong caller",
    call: (f) => f.vault.connect(f.mallory).liquidateCollateral(CAROL, f.weth, U6(1), f.mallory.address, MAX),
    error: ["Vault", "NotClearingHouse"],
    args: (f) => [f.mallory.address],
  },
  {
    entry: "Vault.settleBadDebt",
    input: "called by the owner directly",
    category: "wrong caller",
    call: (f) => f.vault.settleBadDebt(CAROL),
    error: ["Vault", "NotClearingHouse"],
    args: (f) => [f.owner.address],
  },
  /* ---------------------------------------------------------------- Vault: configuration */
  {
    entry: "Vault.listCollateral",
    input: "haircut = MAX_HAIRCUT (99 %)",
    category: "out of bounds",
    call: (f) => f.vault.listCollateral(f.unlisted, f.ethOracle, PCT(99), 1),
    error: ["Vault", "InvalidHaircut"],
    args: () => [PCT(99)],
  },
  {
    entry: "Vault.setCollateralConfig",
    input: "unlisted token",
    category: "unknown id",
    call: (f) => f.vault.setCollateralConfig(f.unlisted, f.ethOracle, 0, 1, true),
    error: ["Vault", "UnsupportedToken"],
    args: (f) => [f.a.unlisted],
  },
  {
    entry: "Vault.setCollateralConfig",
    input: "cap = total deposits − 1 (16 WETH deposited)",
    category: "out of bounds",
    call: (f) => f.vault.setCollateralConfig(f.weth, f.ethOracle, WAD / 10n, E18(16) - 1n, true),
    error: ["Vault", "InvalidCap"],
    args: (f) => [f.a.weth, E18(16) - 1n, E18(16)],
  },
  {
    entry: "Vault.setClearingHouse",
    input: "a second ClearingHouse",
    category: "bad state",
    call: (f) => f.vault.setClearingHouse(f.mallory.address),
    error: ["Vault", "AlreadySet"],
    args: (f) => [f.a.clearingHouse],
  },
  {
    entry: "Vault.setLiquidityPool",
    input: "a second pool",
    category: "bad state",
    call: (f) => f.vault.setLiquidityPool(f.mallory.address),
    error: ["Vault", "AlreadySet"],
    args: (f) => [f.a.pool],
  },

  /* ---------------------------------------------------------------- Vault: Guarded */
  {
    entry: "Vault.pause",
    input: "called by a stranger (not guardian nor owner)",
    category: "wrong caller",
    call: (f) => f.vault.connect(f.mallory).pause(PAUSE_DEPOSIT),
    error: ["Vault", "NotGuardian"],
    args: (f) => [f.mallory.address],
  },
  ownable("Vault.unpause", "Vault", (f) => f.vault.connect(f.guardian).unpause(PAUSE_DEPOSIT), "guardian"),
  ownable("Vault.setGuardian", "Vault", (f) => f.vault.connect(f.guardian).setGuardian(f.mallory.address), "guardian"),
  ownable("Vault.transferOwnership", "Vault", (f) => f.vault.connect(f.mallory).transferOwnership(f.mallory.address)),
  {
    entry: "Vault.acceptOwnership",
    input: "called by a stranger while bob is the pending owner",
    category: "wrong caller",
    setup: (f) => f.vault.transferOwnership(f.bob.address),
    call: (f) => f.vault.connect(f.mallory).acceptOwnership(),
    error: ["Vault", "OwnableUnauthorizedAccount"],
    args: (f) => [f.mallory.address],
  },

  /* ---------------------------------------------------------------- ClearingHouse: openPosition */
  {
    entry: "ClearingHouse.openPosition",
    input: "sizeDelta = 0",
    category: "zero amount",
    call: (f) => f.clearingHouse.connect(f.alice).openPosition(ALICE, ETH, 0, 0),
    error: ["ClearingHouse", "ZeroSize"],
  },
  {
    entry: "ClearingHouse.openPosition",
    input: "unknown market 99",
    category: "unknown id",
    call: (f) => f.clearingHouse.connect(f.alice).openPosition(ALICE, NO_MARKET, E18(1), 0),
    error: ["ClearingHouse", "UnknownMarket"],
    args: () => [NO_MARKET],
  },
  {
    entry: "ClearingHouse.openPosition",
    input: "trading paused by the guardian",
    category: "paused",
    setup: (f) => f.clearingHouse.connect(f.guardian).pause(PAUSE_TRADE),
    call: (f) => f.clearingHouse.connect(f.alice).openPosition(ALICE, ETH, E18(1), 0),
    error: ["ClearingHouse", "ActionPaused"],
    args: () => [PAUSE_TRADE],
  },
  {
    entry: "ClearingHouse.openPosition",
    input: "long open interest cap + (100,000 ETH more)",
    category: "out of bounds",
    call: (f) => f.clearingHouse.connect(f.alice).openPosition(ALICE_ISO, ETH, E18(100_000), 0),
    error: ["ClearingHouse", "OpenInterestCapExceeded"],
    args: async (f) => [
      ETH,
      true,
      E18(100_000),
      (await f.clearingHouse.marketState(ETH)).longOpenInterest + E18(100_000),
    ],
  },
  {
    entry: "ClearingHouse.openPosition",
    input: "a second market on an Isolated account",
    category: "bad state",
    call: (f) => f.clearingHouse.connect(f.alice).openPosition(ALICE_ISO, BTC, units(1, 16), 0),
    error: ["ClearingHouse", "IsolatedAccountMarketLimit"],
    args: () => [ALICE_ISO, ETH],
  },
  {
    entry: "ClearingHouse.openPosition",
    input: "100 ETH on 1,000 USDC + 5 WETH",
    category: "balance + 1",
    call: (f) => f.clearingHouse.connect(f.bob).openPosition(BOB, ETH, E18(100), 0),
    error: ["ClearingHouse", "InsufficientMargin"],
    args: async (f) => [BOB, (await f.clearingHouse.previewTrade(BOB, ETH, E18(100))).margin.freeCollateral],
  },
  {
    entry: "ClearingHouse.openPosition",
    input: "ETH feed stale (older than its heartbeat)",
    category: "bad price",
    feed: (f) => staleFeed(f.ethFeed),
    call: (f) => f.clearingHouse.connect(f.alice).openPosition(ALICE, ETH, E18(1), 0),
    error: ["ClearingHouse", "StalePrice"],
    args: (f) => staleArgs(f.ethFeed),
  },
  {
    entry: "ClearingHouse.openPosition",
    input: "increase after ETH moved +25 % from the reference (band 20 %)",
    category: "bad price",
    setup: (f) => f.ethFeed.updateAnswer(units(3_750, 8)),
    call: (f) => f.clearingHouse.connect(f.alice).openPosition(ALICE, ETH, E18(1), 0),
    error: ["ClearingHouse", "PriceDeviationExceeded"],
    args: () => [ETH, E18(3_000), E18(3_750)],
  },
  {
    entry: "ClearingHouse.openPosition",
    input: "increase while the market is reduce-only (breaker poked)",
    category: "bad state",
    setup: async (f) => {
      await f.ethFeed.updateAnswer(units(3_750, 8));
      await f.clearingHouse.connect(f.mallory).pokeCircuitBreaker(ETH);
    },
    call: (f) => f.clearingHouse.connect(f.alice).openPosition(ALICE, ETH, E18(1), 0),
    error: ["ClearingHouse", "MarketReduceOnly"],
    args: async (f) => [ETH, (await f.clearingHouse.marketSafety(ETH)).reduceOnlyUntil],
  },

  /* ---------------------------------------------------------------- ClearingHouse: closePosition */
  {
    entry: "ClearingHouse.closePosition",
    input: "sell with priceLimit = max uint256",
    category: "max uint256",
    call: (f) => f.clearingHouse.connect(f.alice).closePosition(ALICE, ETH, MAX),
    error: ["ClearingHouse", "PriceLimitExceeded"],
    args: async (f) => [await fillOf(f, ALICE, ETH, -E18(10)), MAX],
  },

  /* ---------------------------------------------------------------- ClearingHouse: liquidations */
  {
    entry: "ClearingHouse.liquidate",
    input: "a healthy account",
    category: "bad state",
    call: (f) => f.clearingHouse.connect(f.mallory).liquidate(ALICE, ETH, MAX),
    error: ["ClearingHouse", "AccountNotLiquidatable"],
    args: async (f) => {
      const m = await f.clearingHouse.accountMargin(ALICE);
      return [ALICE, m.equity, m.maintenanceMargin];
    },
  },
  {
    entry: "ClearingHouse.liquidate",
    input: "maxSize leaving 0.001 BTC (under the $100 dust threshold)",
    category: "out of bounds",
    call: (f) => f.clearingHouse.connect(f.mallory).liquidate(DAVE, BTC, units(249, 15)),
    error: ["ClearingHouse", "LiquidationLeavesDust"],
    args: async (f) => {
      const price = (await f.btcOracle.price()) as bigint;
      return [DAVE, BTC, (units(1, 15) * price + WAD - 1n) / WAD];
    },
  },
  {
    entry: "ClearingHouse.liquidate",
    input: "market rate limit of $1 per hour used up",
    category: "out of bounds",
    setup: (f) => f.clearingHouse.setLiquidationRateLimit(BTC, WAD, 3_600),
    call: (f) => f.clearingHouse.connect(f.mallory).liquidate(DAVE, BTC, MAX),
    error: ["ClearingHouse", "LiquidationRateLimited"],
    args: async (f) => {
      const s = await f.clearingHouse.marketSafety(BTC);
      return [BTC, WAD, 0n, s.windowStart + s.rateLimitWindow];
    },
  },
  {
    entry: "ClearingHouse.liquidateCollateral",
    input: "0-decimal ZDEC ($5) for 1 USDC unit: buys nothing",
    category: "weird token",
    call: (f) => f.clearingHouse.connect(f.mallory).liquidateCollateral(CAROL, f.zdec, 1),
    error: ["Vault", "NothingToSeize"],
    args: (f) => [CAROL, f.a.zdec, 1n],
  },
  {
    entry: "ClearingHouse.liquidateCollateral",
    input: "repayAmount = max uint256 by a liquidator with no allowance",
    category: "max uint256",
    call: (f) => f.clearingHouse.connect(f.mallory).liquidateCollateral(CAROL, f.weth, MAX),
    error: ["ERC20", "ERC20InsufficientAllowance"],
    args: async (f) => {
      const debt = -(await f.vault.quoteBalance(CAROL));
      return [f.a.vault, 0n, (debt + 10n ** 12n - 1n) / 10n ** 12n]; // the whole debt, rounded up
    },
  },
  {
    entry: "ClearingHouse.settleBadDebt",
    input: "a flat account whose value is positive",
    category: "bad state",
    call: (f) => f.clearingHouse.connect(f.mallory).settleBadDebt(CAROL),
    error: ["Vault", "NoBadDebt"],
    args: async (f) => [CAROL, await f.vault.rawCollateralValue(CAROL)],
  },
  {
    entry: "ClearingHouse.pokeCircuitBreaker",
    input: "price within the band",
    category: "bad state",
    call: (f) => f.clearingHouse.connect(f.mallory).pokeCircuitBreaker(ETH),
    error: ["ClearingHouse", "PriceWithinBand"],
    args: () => [ETH, E18(3_000), E18(3_000)],
  },
  /* ---------------------------------------------------------------- ClearingHouse: governance */
  ...(
    [
      ["oracle = address(0)", "oracle", { oracle: ZERO }],
      ["group = 9", "group", { group: 9 }],
      ["skewScale = 0", "skewScale", { skewScale: 0n }],
      ["takerFee = 1 % + 1 billionth", "takerFee", { takerFee: PCT(1) + 10n ** 9n }],
      ["maxFundingRatePerDay = 100 % + 1 billionth", "maxFundingRatePerDay", { maxFundingRatePerDay: WAD + 10n ** 9n }],
      ["maxPriceDeviation = 0", "maxPriceDeviation", { maxPriceDeviation: 0n }],
      ["maxLongOpenInterest not a whole lot", "maxLongOpenInterest", { maxLongOpenInterest: E18(1) + 1n }],
      ["maxShortOpenInterest = max uint128", "maxShortOpenInterest", { maxShortOpenInterest: 2n ** 128n - 1n }],
      ["5 tiers (max 4)", "tiers", { tiers: [1n, 2n, 3n, 4n, 0n].map((b) => tier(b * 1_000_000n, PCT(1), PCT(2))) }],
      ["tier mmRate = imRate", "tierRates", { tiers: [tier(0n, PCT(5), PCT(5))] }],
      [
        "tier bounds not increasing",
        "tierBounds",
        {
          tiers: [tier(1_000_000n, PCT(5), PCT(10)), tier(1_000_000n, PCT(5), PCT(10)), tier(0n, PCT(10), PCT(20))],
        },
      ],
    ] satisfies [string, string, Partial<IClearingHouse.MarketParamsStruct>][]
  ).map(([input, name, overrides]): Draft => ({
    entry: "ClearingHouse.addMarket",
    input,
    category: "out of bounds",
    call: (f) => f.clearingHouse.addMarket(newMarket(f, overrides)),
    error: ["ClearingHouse", "InvalidMarketParam"],
    args: () => [field(name)],
  })),
  {
    // funding is accrued at the price of the oracle being configured (a dead feed can be replaced)
    entry: "ClearingHouse.setMarketParams",
    input: "a new oracle whose own feed is stale",
    category: "bad price",
    feed: (f) => staleFeed(f.stethFeed),
    call: async (f) =>
      f.clearingHouse.setMarketParams(ETH, newMarket(f, { oracle: await f.stethOracle.getAddress(), group: 1 })),
    error: ["ChainlinkOracle", "StalePrice"],
    args: (f) => staleArgs(f.stethFeed),
  },
  {
    entry: "ClearingHouse.setGroupOffset",
    input: "offset = MAX_OFFSET (99 %)",
    category: "out of bounds",
    call: (f) => f.clearingHouse.setGroupOffset(1, PCT(99)),
    error: ["ClearingHouse", "InvalidGroupOffset"],
    args: () => [1, PCT(99)],
  },
  {
    entry: "ClearingHouse.setMaxPositionsPerAccount",
    input: "17 (max 16)",
    category: "out of bounds",
    call: (f) => f.clearingHouse.setMaxPositionsPerAccount(17),
    error: ["ClearingHouse", "InvalidMaxPositions"],
    args: () => [17n],
  },
  ...(
    [
      ["liquidationFee = 10 % + 1 millionth", "liquidationFee", { liquidationFee: PCT(10) + 10n ** 12n }],
      ["keeperShare = 100 % + 1", "keeperShare", { keeperShare: WAD + 1n }],
      ["closeFactor = 0", "closeFactor", { closeFactor: 0n }],
      ["fullLiquidationThreshold = 100 % + 1", "fullLiquidationThreshold", { fullLiquidationThreshold: WAD + 1n }],
      ["dustThreshold = $1M + $1", "dustThreshold", { dustThreshold: E18(1_000_001) }],
      ["collateralDiscount = 20 % + 1 millionth", "collateralDiscount", { collateralDiscount: PCT(20) + 10n ** 12n }],
    ] satisfies [string, string, Partial<IClearingHouse.LiquidationParamsStruct>][]
  ).map(([input, name, overrides]): Draft => ({
    entry: "ClearingHouse.setLiquidationParams",
    input,
    category: "out of bounds",
    call: (f) => f.clearingHouse.setLiquidationParams(liquidationParams(overrides)),
    error: ["ClearingHouse", "InvalidLiquidationParam"],
    args: () => [field(name)],
  })),
  {
    entry: "ClearingHouse.setLiquidationRateLimit",
    input: "cap not whole dollars",
    category: "out of bounds",
    call: (f) => f.clearingHouse.setLiquidationRateLimit(ETH, WAD + 1n, 3_600),
    error: ["ClearingHouse", "InvalidLiquidationParam"],
    args: () => [field("rateLimitCap")],
  },
  {
    entry: "ClearingHouse.setLiquidationRateLimit",
    input: "window = 0 with a cap",
    category: "zero amount",
    call: (f) => f.clearingHouse.setLiquidationRateLimit(ETH, WAD, 0),
    error: ["ClearingHouse", "InvalidLiquidationParam"],
    args: () => [field("rateLimitWindow")],
  },
  {
    entry: "ClearingHouse.setCircuitBreakerTimeout",
    input: "59 s (min 1 minute)",
    category: "out of bounds",
    call: (f) => f.clearingHouse.setCircuitBreakerTimeout(59),
    error: ["ClearingHouse", "InvalidLiquidationParam"],
    args: () => [field("circuitBreakerTimeout")],
  },
  ownable(
    "ClearingHouse.clearCircuitBreaker",
    "ClearingHouse",
    (f) => f.clearingHouse.connect(f.guardian).clearCircuitBreaker(ETH),
    "guardian",
  ),

  /* ---------------------------------------------------------------- ClearingHouse: Guarded */
  {
    entry: "ClearingHouse.pause",
    input: "called by a stranger (not guardian nor owner)",
    category: "wrong caller",
    call: (f) => f.clearingHouse.connect(f.mallory).pause(PAUSE_TRADE),
    error: ["ClearingHouse", "NotGuardian"],
    args: (f) => [f.mallory.address],
  },
  ownable(
    "ClearingHouse.unpause",
    "ClearingHouse",
    (f) => f.clearingHouse.connect(f.guardian).unpause(PAUSE_TRADE),
    "guardian",
  ),
  ownable("ClearingHouse.setGuardian", "ClearingHouse", (f) =>
    f.clearingHouse.connect(f.mallory).setGuardian(f.mallory.address),
  ),
  ownable("ClearingHouse.transferOwnership", "ClearingHouse", (f) =>
    f.clearingHouse.connect(f.mallory).transferOwnership(f.mallory.address),
  ),
  {
    entry: "ClearingHouse.acceptOwnership",
    input: "called by a stranger while bob is the pending owner",
    category: "wrong caller",
    setup: (f) => f.clearingHouse.transferOwnership(f.bob.address),
    call: (f) => f.clearingHouse.connect(f.mallory).acceptOwnership(),
    error: ["ClearingHouse", "OwnableUnauthorizedAccount"],
    args: (f) => [f.mallory.address],
  },

  /* ---------------------------------------------------------------- LiquidityPool (ERC-4626) */
  {
    entry: "LiquidityPool.deposit",
    input: "assets = 0",
    category: "zero amount",
    call: (f) => f.pool.connect(f.lp).deposit(0, f.lp.address),
    error: ["Vault", "ZeroAmount"],
  },
  {
    entry: "LiquidityPool.mint",
    input: "shares = 0",
    category: "zero amount",
    call: (f) => f.pool.connect(f.lp).mint(0, f.lp.address),
    error: ["Vault", "ZeroAmount"],
  },
  {
    entry: "LiquidityPool.withdraw",
    input: "withdrawable + 1 while traders' unrealized profit is reserved (ETH +10 %)",
    category: "balance + 1",
    setup: (f) => f.ethFeed.updateAnswer(units(3_300, 8)),
    call: async (f) => f.pool.connect(f.lp).withdraw((await f.pool.withdrawable()) + 1n, f.lp, f.lp),
    error: ["LiquidityPool", "ERC4626ExceededMaxWithdraw"],
    args: async (f) => {
      const available = await f.pool.withdrawable();
      expect(await f.pool.reserveRequired(), "the reserve binds").to.be.gt(0n);
      return [f.lp.address, available + 1n, available];
    },
  },
  {
    entry: "LiquidityPool.redeem",
    input: "maxRedeem + 1",
    category: "balance + 1",
    call: async (f) => f.pool.connect(f.lp).redeem((await f.pool.maxRedeem(f.lp)) + 1n, f.lp, f.lp),
    error: ["LiquidityPool", "ERC4626ExceededMaxRedeem"],
    args: async (f) => {
      const max = await f.pool.maxRedeem(f.lp);
      return [f.lp.address, max + 1n, max];
    },
  },

  /* ---------------------------------------------------------------- ChainlinkOracle */
  {
    entry: "ChainlinkOracle.constructor",
    input: "heartbeat = 0",
    category: "zero amount",
    call: async (f) => (await ethers.getContractFactory("ChainlinkOracle")).deploy(f.ethFeed, 0),
    error: ["ChainlinkOracle", "InvalidOracleConfig"],
    args: (f) => [f.a.ethFeed, 0n, 8],
  },
  {
    entry: "ChainlinkOracle.price",
    input: "feed answers 0",
    category: "bad price",
    feed: (f) => answerFeed(f.ethFeed, 0n),
    call: (f) => f.ethOracle.price(),
    error: ["ChainlinkOracle", "InvalidPrice"],
    args: (f) => [f.a.ethFeed, 0n],
  },
  {
    entry: "ChainlinkOracle.price",
    input: "feed answers max int128 (WAD price above uint128)",
    category: "max uint256",
    feed: (f) => answerFeed(f.ethFeed, 2n ** 127n - 1n),
    call: (f) => f.ethOracle.price(),
    error: ["ChainlinkOracle", "InvalidPrice"],
    args: (f) => [f.a.ethFeed, 2n ** 127n - 1n],
  },
];

const ROWS: Row[] = DRAFTS.map((d, i) => ({ id: `BI-${String(i + 1).padStart(3, "0")}`, ...d }));

describe("Bad-input matrix: every entry point refuses bad inputs with a named error and changes nothing", () => {
  for (const row of ROWS) {
    const [src, name] = row.error;
    it(`${row.id} ${row.entry}: ${row.input} -> ${src}.${name}`, async () => {
      const f = await loadFixture(badInputFixture);
      if (row.setup) await row.setup(f);
      const before = await snapshotFull(f);
      const restore = row.feed ? await row.feed(f) : undefined;
      const args = row.args ? await row.args(f) : [];
      await expect(row.call(f))
        .to.be.revertedWithCustomError(source(f, src), name)
        .withArgs(...args);
      if (restore) await restore();
      await expectFullUnchanged(f, before);
    });
  }

  it(`has at least 50 rows covering every entry point, parameter field and category (${ROWS.length} rows)`, async () => {
    const f = await loadFixture(badInputFixture);
    expect(ROWS.length).to.be.gte(50);
    expect(new Set(ROWS.map((r) => r.id)).size, "row ids are unique").to.equal(ROWS.length);
    const entries = new Set<string>(ROWS.map((r) => r.entry));
    expect(
      ENTRY_POINTS.filter((e) => !entries.has(e)),
      "entry points without a row",
    ).to.deep.equal([]);
    for (const c of CATEGORIES) {
      expect(ROWS.filter((r) => r.category === c).length, `rows of category "${c}"`).to.be.gte(3);
    }
    const named: Record<string, Set<string>> = { InvalidMarketParam: new Set(), InvalidLiquidationParam: new Set() };
    for (const r of ROWS) {
      const [src, name] = r.error;
      expect(source(f, src).interface.getError(name), `${r.id}: ${src} declares ${name}`).to.not.equal(null);
      if (name in named && r.args) named[name].add(ethers.decodeBytes32String(String((await r.args(f))[0])));
    }
    expect([...named.InvalidMarketParam].sort(), "InvalidMarketParam fields").to.deep.equal(
      [...MARKET_PARAM_FIELDS].sort(),
    );
    expect([...named.InvalidLiquidationParam].sort(), "InvalidLiquidationParam fields").to.deep.equal(
      [...LIQUIDATION_PARAM_FIELDS].sort(),
    );
  });
});

describe("Bad-input matrix: the boundary itself is accepted", () => {
  it("withdrawing exactly the quote balance of a flat account succeeds", async () => {
    const f = await loadFixture(badInputFixture);
    await f.vault.connect(f.bob).withdraw(BOB, f.usdc, U6(1_000), f.bob.address);
    expect(await f.vault.quoteBalance(BOB)).to.equal(0n);
  });

  it("withdrawing exactly the free collateral (rounded down) succeeds", async () => {
    const f = await loadFixture(badInputFixture);
    const { amount } = await pastFreeCollateral(f, ALICE_ISO);
    await f.vault.connect(f.alice).withdraw(ALICE_ISO, f.usdc, amount - 1n, f.alice.address);
    expect((await f.clearingHouse.accountMargin(ALICE_ISO)).freeCollateral).to.be.gte(0n);
  });

  it("depositing exactly up to the 0-decimal token's cap succeeds", async () => {
    const f = await loadFixture(badInputFixture);
    await f.vault.connect(f.alice).deposit(ALICE, f.zdec, 900n);
    expect((await f.vault.collateralConfig(f.zdec)).totalDeposits).to.equal(1_000n);
  });

  it("the LP withdraws exactly maxWithdraw", async () => {
    const f = await loadFixture(badInputFixture);
    const max = await f.pool.maxWithdraw(f.lp);
    await f.pool.connect(f.lp).withdraw(max, f.lp, f.lp);
    expect(await f.pool.maxWithdraw(f.lp)).to.be.lte(1n);
  });
});
