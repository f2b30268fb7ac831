/**
 * The machinery of the stateful model-based tests (test/Stateful.test.ts, `npm run fuzz`): a
 * deployment with the real Vault, ClearingHouse and LiquidityPool, its reference model read back
 * from the chain, the actions as data, how each runs on the model and on the chain, the full
 * observation of both, and the invariants of test/shared/invariants.ts checked after every step.
 */
import { expect } from "chai";
import { ethers, network } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { ContractTransactionResponse } from "ethers";
import type {
  ChainlinkOracle,
  ClearingHouse,
  LiquidityPool,
  MockAggregator,
  MockERC20,
  Vault,
} from "../../typechain-types";
import * as M from "./model";
import { INVARIANTS, violation, type InvariantName } from "./invariants";
import { deployFeed, deployOracle, units, WAD } from "./fixtures";
import { deployClearingHouse, marketParams } from "./protocol";
import * as lq from "../../src/math/liquidation";
import { abs, fromWadDown } from "../../src/math/fixedPoint";

const GAS = { gasLimit: 8_000_000 }; // no estimation: a refused call is mined too, at the time set

export interface Chain {
  vault: Vault;
  clearingHouse: ClearingHouse;
  pool: LiquidityPool;
  tokens: MockERC20[];
  feeds: MockAggregator[];
  ethOracle: ChainlinkOracle;
  owner: HardhatEthersSigner;
  guardian: HardhatEthersSigner;
  /** Traders by name; `keeper`, `lp` and `stranger` own no account. */
  signers: Record<Actor, HardhatEthersSigner>;
}

export const ACTORS = ["alice", "bob", "carol", "operator", "keeper", "lp", "stranger"] as const;
export type Actor = (typeof ACTORS)[number];
/** Accounts: 1 alice Cross, 2 alice Isolated, 3 bob Cross (operator approved), 4 carol Cross. */
export const ACCOUNTS = [1n, 2n, 3n, 4n] as const;
export const OWNER_OF: Record<string, Actor> = { "1": "alice", "2": "alice", "3": "bob", "4": "carol" };
export const MARKETS = [1n, 2n, 3n] as const;
/** Token indexes into Chain.tokens and ModelState.tokens: USDC (6), WETH (18), WBTC (8). */
export const TOKENS = [0, 1, 2] as const;
const BASE_ANSWERS = [units(3_000, 8), units(60_000, 8), units(2_990, 8)];

/** Deploys the protocol with a real LiquidityPool, funds the actors and opens four accounts. */
export async function statefulFixture(): Promise<Chain> {
  const [owner, guardian, alice, bob, carol, operator, keeper, lp, stranger] = await ethers.getSigners();
  const signers: Record<Actor, HardhatEthersSigner> = { alice, bob, carol, operator, keeper, lp, stranger };
  const usdc = await ethers.deployContract("MockERC20", ["USD Coin", "USDC", 6]);
  const weth = await ethers.deployContract("MockERC20", ["Wrapped Ether", "WETH", 18]);
  const wbtc = await ethers.deployContract("MockERC20", ["Wrapped Bitcoin", "WBTC", 8]);
  const feeds = [
    await deployFeed(8, BASE_ANSWERS[0], "ETH / USD"),
    await deployFeed(8, BASE_ANSWERS[1], "BTC / USD"),
    await deployFeed(8, BASE_ANSWERS[2], "STETH / USD"),
  ];
  const oracles = await Promise.all(feeds.map((f) => deployOracle(f)));
  const vault = await ethers.deployContract("Vault", [await usdc.getAddress(), owner.address, guardian.address]);
  await vault.listCollateral(weth, oracles[0], WAD / 10n, units(100_000, 18));
  await vault.listCollateral(wbtc, oracles[1], (WAD * 15n) / 100n, units(5_000, 8));
  const clearingHouse = await deployClearingHouse(await vault.getAddress(), owner.address, guardian.address);
  await vault.setClearingHouse(clearingHouse);
  await clearingHouse.addMarket(marketParams(await oracles[0].getAddress(), { group: 1 }));
  await clearingHouse.addMarket(
    marketParams(await oracles[1].getAddress(), {
      skewScale: units(50_000, 18),
      maxLongOpenInterest: units(5_000, 18),
      maxShortOpenInterest: units(5_000, 18),
    }),
  );
  await clearingHouse.addMarket(marketParams(await oracles[2].getAddress(), { group: 1 }));
  await clearingHouse.setGroupOffset(1, (WAD * 8n) / 10n);
  const pool = await ethers.deployContract("LiquidityPool", [
    await vault.getAddress(),
    await clearingHouse.getAddress(),
  ]);
  await vault.setLiquidityPool(pool);

  const tokens = [usdc, weth, wbtc];
  const grants = [units(100_000_000, 6), units(100_000, 18), units(5_000, 8)];
  for (const signer of [owner, ...Object.values(signers)]) {
    for (let i = 0; i < 3; i++) {
      await tokens[i].mint(signer.address, grants[i]);
      await tokens[i].connect(signer).approve(vault, ethers.MaxUint256);
    }
    await usdc.connect(signer).approve(pool, ethers.MaxUint256);
  }
  await pool.connect(lp).deposit(units(2_000_000, 6), lp.address);
  await vault.depositInsurance(units(50_000, 6));
  await vault.connect(alice).createAccount(0);
  await vault.connect(alice).createAccount(1);
  await vault.connect(bob).createAccount(0);
  await vault.connect(carol).createAccount(0);
  await vault.connect(bob).setOperator(3, operator.address, true);
  await vault.connect(alice).deposit(1, usdc, units(20_000, 6));
  await vault.connect(alice).deposit(1, weth, units(5, 18));
  await vault.connect(alice).deposit(2, usdc, units(5_000, 6));
  await vault.connect(bob).deposit(3, usdc, units(10_000, 6));
  await vault.connect(bob).deposit(3, wbtc, units(2, 7));
  await vault.connect(carol).deposit(4, usdc, units(30_000, 6));
  return { vault, clearingHouse, pool, tokens, feeds, ethOracle: oracles[0], owner, guardian, signers };
}

/** Every address whose token balances the model follows. */
const holders = (c: Chain): string[] => [c.owner.address, ...Object.values(c.signers).map((s) => s.address)];

/** Reads the deployed state into the model (once, after the fixture). */
export async function readModel(c: Chain): Promise<M.ModelState> {
  const latest = (await ethers.provider.getBlock("latest"))!;
  const vaultAddress = await c.vault.getAddress();
  const feeds: M.FeedState[] = [];
  for (const f of c.feeds) {
    const round = await f.latestRoundData();
    feeds.push({
      address: await f.getAddress(),
      answer: round.answer,
      decimals: Number(await f.decimals()),
      updatedAt: round.updatedAt,
      heartbeat: 86_400n,
    });
  }
  const tokens: M.TokenState[] = [];
  for (let i = 0; i < c.tokens.length; i++) {
    const address = await c.tokens[i].getAddress();
    const config = await c.vault.collateralConfig(address);
    tokens.push({
      address,
      symbol: await c.tokens[i].symbol(),
      decimals: Number(await c.tokens[i].decimals()),
      feed: i === 0 ? -1 : i - 1,
      haircut: config.haircut,
      cap: config.cap,
      enabled: config.enabled,
      index: Number(config.index),
      totalDeposits: config.totalDeposits,
      insurance: i === 0 ? 0n : await c.vault.insuranceTokenBalance(address),
    });
  }
  const markets: Record<string, M.MarketModel> = {};
  for (const id of MARKETS) {
    const p = await c.clearingHouse.marketParams(id);
    const st = await c.clearingHouse.marketState(id);
    const safety = await c.clearingHouse.marketSafety(id);
    markets[id.toString()] = {
      oracle: p.oracle,
      feed: Number(id) - 1,
      group: Number(p.group),
      skewScale: p.skewScale,
      takerFee: p.takerFee,
      maxFundingRatePerDay: p.maxFundingRatePerDay,
      maxLong: p.maxLongOpenInterest,
      maxShort: p.maxShortOpenInterest,
      maxPriceDeviation: p.maxPriceDeviation,
      tiers: p.tiers.map((t) => ({ upToNotional: t.upToNotional, mmRate: t.mmRate, imRate: t.imRate })),
      fundingIndex: st.fundingIndex,
      fundingRate: st.fundingRate,
      lastFundingTime: st.lastFundingTime,
      long: st.longOpenInterest,
      short: st.shortOpenInterest,
      openNotionalSum: st.openNotionalSum,
      referencePrice: safety.referencePrice,
      reduceOnlySince: 0n,
      rateLimitCapUsd: safety.rateLimitCap / WAD,
      rateLimitWindow: safety.rateLimitWindow,
      windowStart: safety.windowStart,
      windowLiquidated: safety.windowLiquidated,
    };
  }
  const accounts: Record<string, M.AccountModel> = {};
  for (const id of ACCOUNTS) {
    const balances: Record<string, bigint> = {};
    for (const t of tokens.slice(1)) balances[t.address] = await c.vault.balanceOf(id, t.address);
    const operators = [];
    for (const s of Object.values(c.signers)) if (await c.vault.isOperator(id, s.address)) operators.push(s.address);
    accounts[id.toString()] = {
      owner: await c.vault.ownerOf(id),
      mode: Number(await c.vault.accountMode(id)),
      quote: await c.vault.quoteBalance(id),
      balances,
      positions: {},
      operators,
    };
  }
  const wallets: M.ModelState["wallets"] = {};
  for (const t of c.tokens) {
    const address = await t.getAddress();
    wallets[address] = {};
    for (const h of [...holders(c), vaultAddress, await c.pool.getAddress()])
      wallets[address][h] = await t.balanceOf(h);
  }
  const shares: Record<string, bigint> = {};
  for (const h of holders(c)) shares[h] = await c.pool.balanceOf(h);
  const lp = await c.clearingHouse.liquidationParams();
  return {
    time: BigInt(latest.timestamp),
    feeds,
    tokens,
    markets,
    accounts,
    pool: await c.vault.poolBalance(),
    insurance: await c.vault.insuranceFund(),
    fees: await c.vault.feeBalance(),
    lp: { address: await c.pool.getAddress(), supply: await c.pool.totalSupply(), shares },
    wallets,
    vault: vaultAddress,
    liquidation: lq.toLiquidationParams({
      liquidationFee: lp.liquidationFee,
      keeperShare: lp.keeperShare,
      closeFactor: lp.closeFactor,
      fullLiquidationThreshold: lp.fullLiquidationThreshold,
      dustThreshold: lp.dustThreshold,
      collateralDiscount: lp.collateralDiscount,
    }),
    breakerTimeout: await c.clearingHouse.circuitBreakerTimeout(),
    maxPositions: await c.clearingHouse.maxPositionsPerAccount(),
    groupOffsets: { "1": await c.clearingHouse.groupOffset(1) },
    vaultPaused: Number(await c.vault.pausedFlags()),
    clearingHousePaused: Number(await c.clearingHouse.pausedFlags()),
  };
}

/* ------------------------------------------------------------------------------------------------
 * Observation: everything both sides can show, in one comparable shape
 * ---------------------------------------------------------------------------------------------- */

export interface Observation {
  accounts: Record<string, { quote: bigint; balances: bigint[]; positions: bigint[][]; margin: unknown[] }>;
  markets: Record<string, bigint[] | unknown[]>;
  tokens: bigint[][];
  ledgers: bigint[];
  lp: bigint[];
  wallets: bigint[][];
  params: bigint[];
}

const marginRow = (r: {
  collateralValue: bigint;
  equity: bigint;
  maintenanceMargin: bigint;
  initialMargin: bigint;
  freeCollateral: bigint;
  liquidatable: boolean;
  notional: bigint;
}) => [r.collateralValue, r.equity, r.maintenanceMargin, r.initialMargin, r.freeCollateral, r.liquidatable, r.notional];

/** The model's observation at its time (views accrue funding to the latest block's timestamp). */
export function observeModel(s: M.ModelState, addresses: string[]): Observation {
  const accounts: Observation["accounts"] = {};
  for (const id of ACCOUNTS) {
    const a = M.account(s, id)!;
    let marginFigures: unknown[];
    try {
      marginFigures = marginRow(M.margin(s, id));
    } catch (e) {
      if (!(e instanceof M.ModelRevert)) throw e;
      marginFigures = [e.error];
    }
    accounts[id.toString()] = {
      quote: a.quote,
      balances: s.tokens.slice(1).map((t) => a.balances[t.address] ?? 0n),
      positions: MARKETS.map((m) => {
        const p = a.positions[m.toString()];
        return p ? [p.size, p.openNotional, p.fundingIndex] : [0n, 0n, 0n];
      }),
      margin: marginFigures,
    };
  }
  const markets: Observation["markets"] = {};
  for (const id of MARKETS) {
    const m = M.market(s, id)!;
    let state: unknown[];
    try {
      const index = M.indexNow(m, M.priceOf(s, m.feed), s.time);
      state = [index, m.fundingRate, m.long - m.short, m.openNotionalSum, m.long, m.short, m.lastFundingTime];
    } catch (e) {
      if (!(e instanceof M.ModelRevert)) throw e;
      state = [e.error, 0n, 0n, 0n, 0n, 0n, 0n]; // marketState reverts without a price
    }
    const expired = m.reduceOnlySince !== 0n && s.time >= m.reduceOnlySince + s.breakerTimeout;
    const windowOver = s.time >= m.windowStart + m.rateLimitWindow;
    markets[id.toString()] = [
      ...state,
      expired ? 0n : m.referencePrice,
      !expired && m.reduceOnlySince !== 0n,
      expired || m.reduceOnlySince === 0n ? 0n : m.reduceOnlySince + s.breakerTimeout,
      m.rateLimitCapUsd * WAD,
      m.rateLimitWindow,
      windowOver ? s.time : m.windowStart,
      windowOver ? 0n : m.windowLiquidated,
      m.takerFee,
      m.maxFundingRatePerDay,
      m.maxPriceDeviation,
    ];
  }
  return {
    accounts,
    markets,
    tokens: s.tokens.map((t) => [t.haircut, t.cap, t.totalDeposits, t.insurance, t.enabled ? 1n : 0n]),
    ledgers: [s.pool, s.insurance, s.fees],
    lp: [s.lp.supply, ...addresses.map((h) => s.lp.shares[h] ?? 0n)],
    wallets: s.tokens.map((t) => addresses.map((h) => s.wallets[t.address]?.[h] ?? 0n)),
    params: [
      s.liquidation.liquidationFee,
      s.liquidation.keeperShare,
      s.liquidation.closeFactor,
      s.liquidation.fullLiquidationThreshold,
      s.liquidation.dustThreshold,
      s.liquidation.collateralDiscount,
      s.breakerTimeout,
      s.maxPositions,
      s.groupOffsets["1"] ?? 0n,
      BigInt(s.vaultPaused),
      BigInt(s.clearingHousePaused),
      ...s.feeds.flatMap((f) => [f.answer, f.updatedAt]),
    ],
  };
}

const errorName = (e: unknown, c: Chain): string => {
  const data = (e as { data?: string }).data;
  for (const contract of [c.clearingHouse, c.vault, c.ethOracle]) {
    const parsed = data ? contract.interface.parseError(data) : null;
    if (parsed) return parsed.name;
  }
  return "revert";
};

async function attempt<T>(read: () => Promise<T>, c: Chain): Promise<T | string> {
  try {
    return await read();
  } catch (e) {
    return errorName(e, c);
  }
}

/** The same observation read from the chain. */
export async function observeChain(c: Chain, s: M.ModelState, addresses: string[]): Promise<Observation> {
  const { vault, clearingHouse: ch, pool } = c;
  const tokenAddresses = s.tokens.map((t) => t.address);
  const accounts: Observation["accounts"] = {};
  await Promise.all(
    ACCOUNTS.map(async (id) => {
      const [quote, balances, positions, margin] = await Promise.all([
        vault.quoteBalance(id),
        Promise.all(tokenAddresses.slice(1).map((t) => vault.balanceOf(id, t))),
        Promise.all(
          MARKETS.map(async (m) => {
            const [[size, openNotional], index] = await Promise.all([
              ch.positionOf(id, m),
              ch.positionFundingIndex(id, m),
            ]);
            return [size, openNotional, index];
          }),
        ),
        attempt(async () => marginRow(await ch.accountMargin(id)), c),
      ]);
      accounts[id.toString()] = { quote, balances, positions, margin: typeof margin === "string" ? [margin] : margin };
    }),
  );
  const markets: Observation["markets"] = {};
  await Promise.all(
    MARKETS.map(async (id) => {
      const [state, safety, params] = await Promise.all([
        attempt(() => ch.marketState(id), c),
        ch.marketSafety(id),
        ch.marketParams(id),
      ]);
      const st =
        typeof state === "string"
          ? null
          : [state.fundingRate, state.skew, state.openNotionalSum, state.longOpenInterest, state.shortOpenInterest];
      markets[id.toString()] = [
        typeof state === "string" ? state : state.fundingIndex,
        ...(st ?? [0n, 0n, 0n, 0n, 0n]),
        typeof state === "string" ? 0n : state.lastFundingTime,
        safety.referencePrice,
        safety.reduceOnly,
        safety.reduceOnlyUntil,
        safety.rateLimitCap,
        safety.rateLimitWindow,
        safety.windowStart,
        safety.windowLiquidated,
        params.takerFee,
        params.maxFundingRatePerDay,
        params.maxPriceDeviation,
      ];
    }),
  );
  const tokens = await Promise.all(
    tokenAddresses.map(async (t, i) => {
      const config = await vault.collateralConfig(t);
      return [
        config.haircut,
        config.cap,
        config.totalDeposits,
        i === 0 ? 0n : await vault.insuranceTokenBalance(t),
        i === 0 || config.enabled ? 1n : 0n,
      ];
    }),
  );
  const lpParams = await ch.liquidationParams();
  const [ledgers, lp, wallets, rest] = await Promise.all([
    Promise.all([vault.poolBalance(), vault.insuranceFund(), vault.feeBalance()]),
    Promise.all([pool.totalSupply(), ...addresses.map((h) => pool.balanceOf(h))]),
    Promise.all(c.tokens.map((t) => Promise.all(addresses.map((h) => t.balanceOf(h))))),
    Promise.all([
      ch.circuitBreakerTimeout(),
      ch.maxPositionsPerAccount(),
      ch.groupOffset(1),
      vault.pausedFlags(),
      ch.pausedFlags(),
      ...c.feeds.map((f) => f.latestRoundData()),
    ]),
  ]);
  const [timeout, maxPositions, offset, vaultPaused, chPaused, ...rounds] = rest as [
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
    ...{ answer: bigint; updatedAt: bigint }[],
  ];
  return {
    accounts,
    markets,
    tokens,
    ledgers,
    lp,
    wallets,
    params: [
      lpParams.liquidationFee,
      lpParams.keeperShare,
      lpParams.closeFactor,
      lpParams.fullLiquidationThreshold,
      lpParams.dustThreshold,
      lpParams.collateralDiscount,
      timeout,
      maxPositions,
      offset,
      vaultPaused,
      chPaused,
      ...rounds.flatMap((r) => [r.answer, r.updatedAt]),
    ],
  };
}

/** The model's settlement-token cap ("cap" of USDC reads 0 in collateralConfig). */
function normalise(o: Observation): Observation {
  o.tokens[0] = [0n, 0n, 0n, 0n, 1n];
  return o;
}

/* ------------------------------------------------------------------------------------------------
 * Actions as data
 * ---------------------------------------------------------------------------------------------- */

export type AmountSpec =
  { kind: "all" } | { kind: "plus1" } | { kind: "part"; bps: number } | { kind: "raw"; units: bigint };

export type Spec =
  | { kind: "deposit"; who: Actor; account: bigint; token: number; units: bigint }
  | { kind: "withdraw"; who: Actor; account: bigint; token: number; amount: AmountSpec }
  | { kind: "transfer"; who: Actor; from: bigint; to: bigint; token: number; amount: AmountSpec }
  | { kind: "open"; who: Actor; account: bigint; market: bigint; lots: bigint }
  | { kind: "close"; who: Actor; account: bigint; market: bigint }
  | { kind: "roundTrip"; who: Actor; account: bigint; market: bigint; lots: bigint }
  | { kind: "depositWithdraw"; account: bigint; token: number; units: bigint }
  | { kind: "price"; feed: number; bps: number }
  | { kind: "cross"; account: bigint; market: bigint; under: boolean }
  | { kind: "refresh" }
  | { kind: "time"; seconds: number }
  | { kind: "liquidate"; who: Actor; account: bigint; market: bigint; size: "max" | "half" | "lot" | "zero" }
  | { kind: "liquidateCollateral"; who: Actor; account: bigint; token: number; amount: AmountSpec }
  | { kind: "settleBadDebt"; who: Actor; account: bigint }
  | { kind: "lpDeposit"; units: bigint }
  | { kind: "lpRedeem"; amount: AmountSpec }
  | { kind: "liquidationParams"; choice: number }
  | { kind: "groupOffset"; offsetPct: number }
  | { kind: "marketParams"; market: bigint; takerFeePpb: bigint; maxFundingPpb: bigint; maxDeviationPct: number }
  | { kind: "haircut"; token: number; pct: number }
  | { kind: "maxPositions"; n: number }
  | { kind: "rateLimit"; market: bigint; capUsd: bigint; window: number }
  | { kind: "pause"; contract: "vault" | "clearingHouse"; flags: number };

/** Valid liquidation parameter sets the owner may switch between (index 0: DESIGN §13 defaults). */
export const LIQUIDATION_CHOICES: lq.LiquidationParams[] = [
  lq.DEFAULT_LIQUIDATION_PARAMS,
  {
    liquidationFee: units(2, 16),
    keeperShare: units(8, 17),
    closeFactor: units(25, 16),
    fullLiquidationThreshold: units(3, 17),
    dustThreshold: units(500, 18),
    collateralDiscount: units(1, 17),
  },
  {
    liquidationFee: units(5, 15),
    keeperShare: WAD,
    closeFactor: WAD,
    fullLiquidationThreshold: WAD,
    dustThreshold: units(10, 18),
    collateralDiscount: 0n,
  },
  {
    liquidationFee: units(1, 17),
    keeperShare: units(1, 17),
    closeFactor: units(1, 17),
    fullLiquidationThreshold: units(1, 17),
    dustThreshold: 0n,
    collateralDiscount: units(2, 17),
  },
];

const USER_KINDS = new Set<Spec["kind"]>([
  "deposit",
  "withdraw",
  "transfer",
  "open",
  "close",
  "roundTrip",
  "depositWithdraw",
  "lpDeposit",
  "lpRedeem",
]);

export const describeSpec = (s: Spec): string =>
  `${s.kind}(${Object.entries(s)
    .filter(([k]) => k !== "kind")
    .map(
      ([k, v]) =>
        `${k}=${typeof v === "object" ? JSON.stringify(v, (_, x) => (typeof x === "bigint" ? `${x}` : x)) : String(v)}`,
    )
    .join(", ")})`;

/** The owner of an account, or the caller an action names. */
function signerOf(c: Chain, who: Actor): HardhatEthersSigner {
  return c.signers[who];
}

function amountOf(spec: AmountSpec, available: bigint): bigint {
  switch (spec.kind) {
    case "all":
      return available;
    case "plus1":
      return available + 1n;
    case "part":
      return (available * BigInt(spec.bps)) / 10_000n;
    case "raw":
      return spec.units;
  }
}

/* ------------------------------------------------------------------------------------------------
 * Running a step
 * ---------------------------------------------------------------------------------------------- */

export interface Stats {
  steps: number;
  reverted: Record<string, number>;
  succeeded: Record<string, number>;
  checks: Record<InvariantName, number>;
}

export const newStats = (): Stats => ({
  steps: 0,
  reverted: {},
  succeeded: {},
  checks: Object.fromEntries(Object.keys(INVARIANTS).map((k) => [k, 0])) as Record<InvariantName, number>,
});

export interface Runner {
  chain: Chain;
  state: M.ModelState;
  stats: Stats;
  addresses: string[];
  /** What the invariants were checked on after the latest step. */
  lastContext?: CheckContext;
}

export async function newRunner(chain: Chain, stats: Stats): Promise<Runner> {
  const state = await readModel(chain);
  const addresses = [...holders(chain), state.vault, state.lp.address];
  return { chain, state, stats, addresses };
}

type Outcome = { state: M.ModelState; after?: (r: Runner, before: M.ModelState) => void };
/** One transaction: what the model predicts, and how to send it. */
interface Tx {
  predict: (s: M.ModelState, at: bigint) => Outcome;
  send: () => Promise<ContractTransactionResponse>;
}

const contractFor = (c: Chain, source: M.ErrorSource) =>
  source === "vault"
    ? c.vault
    : source === "clearingHouse"
      ? c.clearingHouse
      : source === "pool"
        ? c.pool
        : source === "oracle"
          ? c.ethOracle
          : c.tokens[0];

async function setNextTime(at: bigint) {
  await network.provider.send("evm_setNextBlockTimestamp", [Number(at)]);
}

/** Sends one transaction at `at` and holds the chain to the model's verdict (success or the exact revert). */
async function runTx(r: Runner, tx: Tx, at: bigint, label: string): Promise<{ ok: boolean; outcome?: Outcome }> {
  let outcome: Outcome | undefined;
  let expected: M.ModelRevert | undefined;
  try {
    outcome = tx.predict(r.state, at);
  } catch (e) {
    if (!(e instanceof M.ModelRevert)) throw e;
    expected = e;
  }
  await setNextTime(at);
  if (expected) {
    const contract = contractFor(r.chain, expected.source);
    await expect(tx.send(), `${label}: the model expects ${expected.message}`)
      .to.be.revertedWithCustomError(contract, expected.error)
      .withArgs(...expected.args);
    r.state = { ...r.state, time: at };
    r.stats.reverted[expected.error] = (r.stats.reverted[expected.error] ?? 0) + 1;
    return { ok: false };
  }
  try {
    await (await tx.send()).wait();
  } catch (e) {
    throw new Error(`${label}: the model expects success, the chain refused: ${errorName(e, r.chain)} ${String(e)}`);
  }
  r.state = outcome!.state;
  return { ok: true, outcome };
}

/** Runs one action on the model and the chain, then compares everything and checks every invariant. */
export async function step(r: Runner, original: Spec): Promise<void> {
  const { chain: c } = r;
  const spec = resolveTarget(r.state, original);
  const label = describeSpec(spec) + (spec === original ? "" : ` [from ${describeSpec(original)}]`);
  const before = r.state;
  const observedBefore = normalise(observeModel(before, r.addresses));
  const at = before.time + (spec.kind === "time" ? BigInt(spec.seconds) : 1n);
  const token = (i: number) => before.tokens[i].address;
  const account = (id: bigint) => M.account(before, id)!;
  const available = (id: bigint, i: number): bigint =>
    i === 0
      ? account(id).quote > 0n
        ? fromWadDown(account(id).quote, M.SETTLEMENT_DECIMALS)
        : 0n
      : (account(id).balances[token(i)] ?? 0n);
  let succeeded = false;
  let liquidation: M.LiquidationResult | undefined;

  switch (spec.kind) {
    case "deposit": {
      const signer = signerOf(c, spec.who);
      ({ ok: succeeded } = await runTx(
        r,
        {
          predict: (s, t) => ({ state: M.deposit(s, signer.address, spec.account, token(spec.token), spec.units, t) }),
          send: () => c.vault.connect(signer).deposit(spec.account, token(spec.token), spec.units, GAS),
        },
        at,
        label,
      ));
      break;
    }
    case "withdraw": {
      const signer = signerOf(c, spec.who);
      const amount = amountOf(spec.amount, available(spec.account, spec.token));
      ({ ok: succeeded } = await runTx(
        r,
        {
          predict: (s, t) => ({
            state: M.withdraw(s, signer.address, spec.account, token(spec.token), amount, signer.address, t),
          }),
          send: () => c.vault.connect(signer).withdraw(spec.account, token(spec.token), amount, signer.address, GAS),
        },
        at,
        label,
      ));
      break;
    }
    case "transfer": {
      const signer = signerOf(c, spec.who);
      const amount = amountOf(spec.amount, available(spec.from, spec.token));
      ({ ok: succeeded } = await runTx(
        r,
        {
          predict: (s, t) => ({
            state: M.transferCollateral(s, signer.address, spec.from, spec.to, token(spec.token), amount, t),
          }),
          send: () => c.vault.connect(signer).transferCollateral(spec.from, spec.to, token(spec.token), amount, GAS),
        },
        at,
        label,
      ));
      break;
    }
    case "open":
    case "close": {
      const signer = signerOf(c, spec.who);
      const size = spec.kind === "open" ? spec.lots * M.SIZE_STEP : 0n;
      ({ ok: succeeded } = await runTx(
        r,
        {
          predict: (s, t) => ({
            state:
              spec.kind === "open"
                ? M.trade(s, signer.address, spec.account, spec.market, size, 0n, t).state
                : M.closePosition(s, signer.address, spec.account, spec.market, t).state,
          }),
          send: () =>
            spec.kind === "open"
              ? c.clearingHouse.connect(signer).openPosition(spec.account, spec.market, size, 0, GAS)
              : c.clearingHouse.connect(signer).closePosition(spec.account, spec.market, 0, GAS),
        },
        at,
        label,
      ));
      break;
    }
    case "roundTrip":
    case "depositWithdraw": {
      succeeded = await roundTrip(r, spec, at, label);
      break;
    }
    case "price":
    case "cross":
    case "refresh": {
      const updates: [number, bigint][] = [];
      if (spec.kind === "price") {
        const f = before.feeds[spec.feed];
        let answer = (f.answer * BigInt(10_000 + spec.bps)) / 10_000n;
        if (spec.bps === 0) answer = f.answer + 1n; // one tick
        updates.push([spec.feed, answer > 0n ? answer : 1n]);
      } else if (spec.kind === "cross") {
        const answer = M.liquidationAnswer(before, spec.account, spec.market);
        if (answer !== null) {
          const long = account(spec.account).positions[spec.market.toString()].size > 0n;
          // `answer` is the last liquidating price: one tick beyond it is safe
          updates.push([Number(spec.market) - 1, spec.under ? answer : long ? answer + 1n : answer - 1n]);
        }
      } else before.feeds.forEach((f, i) => updates.push([i, f.answer]));
      let t = at;
      for (const [feed, answer] of updates) {
        await runTx(
          r,
          {
            predict: (s, time) => ({ state: M.setFeed(s, feed, answer, time) }),
            send: () => c.feeds[feed].updateAnswer(answer, GAS),
          },
          t++,
          label,
        );
      }
      succeeded = updates.length > 0;
      break;
    }
    case "time": {
      await setNextTime(at);
      await network.provider.send("evm_mine", []);
      r.state = { ...r.state, time: at };
      succeeded = true;
      break;
    }
    case "liquidate": {
      const signer = signerOf(c, spec.who);
      const pos = account(spec.account).positions[spec.market.toString()];
      const lots = pos ? abs(pos.size) / M.SIZE_STEP : 0n;
      const maxSize =
        spec.size === "max"
          ? ethers.MaxUint256
          : spec.size === "half"
            ? (lots / 2n) * M.SIZE_STEP
            : spec.size === "lot"
              ? M.SIZE_STEP
              : M.SIZE_STEP - 1n;
      const res = await runTx(
        r,
        {
          predict: (s, t) => {
            const out = M.liquidate(s, signer.address, spec.account, spec.market, maxSize, t);
            liquidation = out.result;
            return { state: out.state };
          },
          send: () => c.clearingHouse.connect(signer).liquidate(spec.account, spec.market, maxSize, GAS),
        },
        at,
        label,
      );
      succeeded = res.ok;
      if (!succeeded) liquidation = undefined;
      break;
    }
    case "liquidateCollateral": {
      const signer = signerOf(c, spec.who);
      const debt =
        account(spec.account).quote < 0n ? (-account(spec.account).quote + 10n ** 12n - 1n) / 10n ** 12n : 0n;
      const repay = amountOf(spec.amount, debt);
      ({ ok: succeeded } = await runTx(
        r,
        {
          predict: (s, t) => ({
            state: M.liquidateCollateral(s, signer.address, spec.account, token(spec.token), repay, t).state,
          }),
          send: () => c.clearingHouse.connect(signer).liquidateCollateral(spec.account, token(spec.token), repay, GAS),
        },
        at,
        label,
      ));
      break;
    }
    case "settleBadDebt": {
      const signer = signerOf(c, spec.who);
      ({ ok: succeeded } = await runTx(
        r,
        {
          predict: (s, t) => ({ state: M.settleBadDebt(s, spec.account, t).state }),
          send: () => c.clearingHouse.connect(signer).settleBadDebt(spec.account, GAS),
        },
        at,
        label,
      ));
      break;
    }
    case "lpDeposit": {
      const lp = c.signers.lp;
      ({ ok: succeeded } = await runTx(
        r,
        {
          predict: (s, t) => ({ state: M.lpDeposit(s, lp.address, spec.units, t).state }),
          send: () => c.pool.connect(lp).deposit(spec.units, lp.address, GAS),
        },
        at,
        label,
      ));
      break;
    }
    case "lpRedeem": {
      const lp = c.signers.lp;
      const shares = amountOf(spec.amount, before.lp.shares[lp.address] ?? 0n);
      ({ ok: succeeded } = await runTx(
        r,
        {
          predict: (s, t) => ({ state: M.lpRedeem(s, lp.address, shares, t).state }),
          send: () => c.pool.connect(lp).redeem(shares, lp.address, lp.address, GAS),
        },
        at,
        label,
      ));
      break;
    }
    default:
      succeeded = await governance(r, spec, at, label);
  }

  r.stats.steps++;
  if (succeeded) r.stats.succeeded[spec.kind] = (r.stats.succeeded[spec.kind] ?? 0) + 1;
  const context: CheckContext = {
    chain: c,
    spec,
    label,
    before,
    after: r.state,
    at: r.state.time,
    observedBefore,
    modelView: normalise(observeModel(r.state, r.addresses)),
    chainView: normalise(await observeChain(c, r.state, r.addresses)),
    addresses: r.addresses,
    succeeded,
    liquidation,
    roundTrip: (spec.kind === "roundTrip" || spec.kind === "depositWithdraw") && succeeded,
  };
  r.lastContext = context;
  await checkInvariants(context, r.stats);
}

/**
 * Account 0 in `liquidate` and `cross` means "the account closest to liquidation that holds a
 * position" (lowest equity ÷ maintenance margin), and the market one it holds (the one named if
 * it holds it): the random walk then reaches the liquidation paths often.
 */
function resolveTarget(s: M.ModelState, spec: Spec): Spec {
  if ((spec.kind !== "liquidate" && spec.kind !== "cross") || spec.account !== 0n) return spec;
  let best: { id: bigint; ratio: number } | undefined;
  for (const id of ACCOUNTS) {
    const a = M.account(s, id)!;
    if (M.openMarkets(a).length === 0) continue;
    let ratio: number;
    try {
      const m = M.margin(s, id);
      ratio = m.maintenanceMargin === 0n ? Infinity : Number(m.equity) / Number(m.maintenanceMargin);
    } catch {
      ratio = Infinity;
    }
    if (!best || ratio < best.ratio) best = { id, ratio };
  }
  if (!best) return { ...spec, account: 1n };
  const held = M.openMarkets(M.account(s, best.id)!);
  const market = held.includes(spec.market) ? spec.market : held[0];
  return { ...spec, account: best.id, market };
}

async function governance(r: Runner, spec: Spec, at: bigint, label: string): Promise<boolean> {
  const { chain: c } = r;
  const ch = c.clearingHouse.connect(c.owner);
  let tx: Tx;
  switch (spec.kind) {
    case "liquidationParams": {
      const p = LIQUIDATION_CHOICES[spec.choice];
      tx = {
        predict: (s, t) => ({ state: M.setLiquidationParams(s, p, t) }),
        send: () => ch.setLiquidationParams(p, GAS),
      };
      break;
    }
    case "groupOffset": {
      const offset = (WAD * BigInt(spec.offsetPct)) / 100n;
      tx = {
        predict: (s, t) => ({ state: M.setGroupOffset(s, 1, offset, t) }),
        send: () => ch.setGroupOffset(1, offset, GAS),
      };
      break;
    }
    case "marketParams": {
      const m = M.market(r.state, spec.market)!;
      const changes = {
        takerFee: spec.takerFeePpb * 10n ** 9n,
        maxFundingRatePerDay: spec.maxFundingPpb * 10n ** 9n,
        maxPriceDeviation: (WAD * BigInt(spec.maxDeviationPct)) / 100n,
      };
      const params = {
        oracle: m.oracle,
        group: m.group,
        skewScale: m.skewScale,
        takerFee: changes.takerFee,
        maxFundingRatePerDay: changes.maxFundingRatePerDay,
        maxLongOpenInterest: m.maxLong,
        maxShortOpenInterest: m.maxShort,
        maxPriceDeviation: changes.maxPriceDeviation,
        tiers: m.tiers,
      };
      tx = {
        predict: (s, t) => ({ state: M.setMarketParams(s, spec.market, changes, t) }),
        send: () => ch.setMarketParams(spec.market, params, GAS),
      };
      break;
    }
    case "haircut": {
      const t = r.state.tokens[spec.token];
      const haircut = (WAD * BigInt(spec.pct)) / 100n;
      const feedOracle = await c.vault.collateralConfig(t.address);
      tx = {
        predict: (s, time) => ({ state: M.setHaircut(s, t.address, haircut, time) }),
        send: () =>
          c.vault.connect(c.owner).setCollateralConfig(t.address, feedOracle.oracle, haircut, t.cap, t.enabled, GAS),
      };
      break;
    }
    case "maxPositions":
      tx = {
        predict: (s, t) => ({ state: M.setMaxPositions(s, BigInt(spec.n), t) }),
        send: () => ch.setMaxPositionsPerAccount(spec.n, GAS),
      };
      break;
    case "rateLimit":
      tx = {
        predict: (s, t) => ({ state: M.setRateLimit(s, spec.market, spec.capUsd, BigInt(spec.window), t) }),
        send: () => ch.setLiquidationRateLimit(spec.market, spec.capUsd * WAD, spec.window, GAS),
      };
      break;
    case "pause": {
      const target = spec.contract === "vault" ? c.vault.connect(c.owner) : ch;
      const current = spec.contract === "vault" ? r.state.vaultPaused : r.state.clearingHousePaused;
      const flags = spec.flags;
      // toggles: pauses what is not paused, resumes what is
      const pausing = (current & flags) === 0;
      tx = {
        predict: (s, t) => ({ state: M.setPaused(s, spec.contract, pausing ? current | flags : current & ~flags, t) }),
        send: () => (pausing ? target.pause(flags, GAS) : target.unpause(flags, GAS)),
      };
      break;
    }
    default:
      throw new Error(`unknown action ${label}`);
  }
  return (await runTx(r, tx, at, label)).ok;
}

/** Two transactions in one block (same price, same time): INV-03. */
async function roundTrip(
  r: Runner,
  spec: Extract<Spec, { kind: "roundTrip" | "depositWithdraw" }>,
  at: bigint,
  label: string,
): Promise<boolean> {
  const { chain: c } = r;
  const before = r.state;
  let mid: M.ModelState;
  let end: M.ModelState;
  let first: () => Promise<ContractTransactionResponse>;
  let second: () => Promise<ContractTransactionResponse>;
  const owner = signerOf(c, OWNER_OF[spec.account.toString()]);
  try {
    if (spec.kind === "roundTrip") {
      const size = spec.lots * M.SIZE_STEP;
      const caller = signerOf(c, spec.who);
      mid = M.trade(before, caller.address, spec.account, spec.market, size, 0n, at).state;
      end = M.trade(mid, caller.address, spec.account, spec.market, -size, 0n, at).state;
      first = () => c.clearingHouse.connect(caller).openPosition(spec.account, spec.market, size, 0, GAS);
      second = () => c.clearingHouse.connect(caller).openPosition(spec.account, spec.market, -size, 0, GAS);
    } else {
      const t = before.tokens[spec.token].address;
      mid = M.deposit(before, owner.address, spec.account, t, spec.units, at);
      end = M.withdraw(mid, owner.address, spec.account, t, spec.units, owner.address, at);
      first = () => c.vault.connect(owner).deposit(spec.account, t, spec.units, GAS);
      second = () => c.vault.connect(owner).withdraw(spec.account, t, spec.units, owner.address, GAS);
    }
  } catch (e) {
    if (!(e instanceof M.ModelRevert)) throw e;
    r.stats.reverted[`${spec.kind}:${e.error}`] = (r.stats.reverted[`${spec.kind}:${e.error}`] ?? 0) + 1;
    return false; // the model refuses one leg: the round trip is not attempted
  }
  await network.provider.send("evm_setAutomine", [false]);
  try {
    const a = await first();
    const b = await second();
    await setNextTime(at);
    await network.provider.send("evm_mine", []);
    const [ra, rb] = [await a.wait(), await b.wait()];
    expect([ra?.status, rb?.status, ra?.blockNumber === rb?.blockNumber], label).to.deep.equal([1, 1, true]);
  } finally {
    await network.provider.send("evm_setAutomine", [true]);
  }
  r.state = end;
  return true;
}

/* ------------------------------------------------------------------------------------------------
 * Invariants after every step: each a check over what the step saw, counted when it applied
 * ---------------------------------------------------------------------------------------------- */

/** Everything one step leaves for the invariant checks. */
export interface CheckContext {
  chain: Chain;
  spec: Spec;
  label: string;
  /** The model before and after (after = the chain's state, checked by INV-10 first). */
  before: M.ModelState;
  after: M.ModelState;
  /** The step's (last) block time. */
  at: bigint;
  observedBefore: Observation;
  modelView: Observation;
  chainView: Observation;
  addresses: string[];
  succeeded: boolean;
  liquidation?: M.LiquidationResult;
  /** Both legs of a roundTrip / depositWithdraw were mined in one block. */
  roundTrip: boolean;
}

const big = (_: string, v: unknown) => (typeof v === "bigint" ? v.toString() : v);
const same = (a: unknown, b: unknown) => JSON.stringify(a, big) === JSON.stringify(b, big);

/** Each invariant's check: throws its violation() message when broken, returns whether it applied. */
export const CHECKS: Record<InvariantName, (x: CheckContext) => boolean | Promise<boolean>> = {
  mirror: (x) => {
    expect(x.chainView, violation("mirror", `after ${x.label}`)).to.deep.equal(x.modelView);
    return true;
  },

  conservation: (x) => {
    const v = x.chainView;
    const vault = x.addresses.indexOf(x.after.vault);
    const quotes = ACCOUNTS.reduce((sum, id) => sum + v.accounts[id.toString()].quote, 0n);
    const [pool, insurance, fees] = v.ledgers;
    const scale = 10n ** BigInt(18 - x.after.tokens[0].decimals);
    expect(v.wallets[0][vault] * scale, violation("conservation", `USDC after ${x.label}`)).to.equal(
      quotes + pool + insurance + fees,
    );
    for (let i = 1; i < x.after.tokens.length; i++) {
      const sum = ACCOUNTS.reduce((acc, id) => acc + v.accounts[id.toString()].balances[i - 1], 0n);
      const held = v.tokens[i][3];
      expect(v.wallets[i][vault], violation("conservation", `${x.after.tokens[i].symbol} after ${x.label}`)).to.equal(
        sum + held,
      );
    }
    return true;
  },

  totals: (x) => {
    const v = x.chainView;
    for (let i = 1; i < x.after.tokens.length; i++) {
      const sum = ACCOUNTS.reduce((acc, id) => acc + v.accounts[id.toString()].balances[i - 1], 0n);
      expect(
        v.tokens[i][2],
        violation("totals", `${x.after.tokens[i].symbol} totalDeposits after ${x.label}`),
      ).to.equal(sum);
    }
    for (const m of MARKETS) {
      let [long, short, notional] = [0n, 0n, 0n];
      for (const id of ACCOUNTS) {
        const [size, openNotional] = v.accounts[id.toString()].positions[Number(m) - 1];
        if (size > 0n) long += size;
        else short -= size;
        notional += openNotional;
      }
      const row = v.markets[m.toString()] as bigint[];
      if (typeof row[0] === "string") continue; // marketState needs a price: the feed is stale or invalid
      expect([row[4], row[5], row[2], row[3]], violation("totals", `market ${m} after ${x.label}`)).to.deep.equal([
        long,
        short,
        long - short,
        notional,
      ]);
    }
    return true;
  },

  noFreeRoundTrip: (x) => {
    if (!x.roundTrip) return false;
    const spec = x.spec as Extract<Spec, { kind: "roundTrip" | "depositWithdraw" }>;
    const id = spec.account.toString();
    const [was, now] = [x.observedBefore.accounts[id], x.chainView.accounts[id]];
    if (spec.kind === "depositWithdraw") {
      const owner = x.addresses.indexOf(x.chain.signers[OWNER_OF[id]].address);
      expect(
        [now.quote, now.balances, now.positions, x.chainView.wallets[spec.token][owner]],
        violation("noFreeRoundTrip", x.label),
      ).to.deep.equal([was.quote, was.balances, was.positions, x.observedBefore.wallets[spec.token][owner]]);
    } else {
      // judged on equity at the block's prices and time: the close may realize PnL the position
      // already had (average entry), which is no new value
      const e0 = M.margin(x.before, spec.account, x.at).equity;
      const e1 = now.margin[1] as bigint;
      expect(e1 <= e0, violation("noFreeRoundTrip", `${x.label}: equity ${e0} → ${e1}`)).to.equal(true);
    }
    return true;
  },

  userActionsKeepHealthy: (x) => {
    if (!USER_KINDS.has(x.spec.kind) || !x.succeeded) return false;
    for (const id of ACCOUNTS) {
      let healthyBefore: boolean;
      try {
        healthyBefore = !M.margin(x.before, id, x.at).liquidatable; // judged at the same timestamp
      } catch {
        continue; // no price: the account's health is undefined
      }
      const liquidatable = x.chainView.accounts[id.toString()].margin[5];
      if (healthyBefore) {
        expect(liquidatable, violation("userActionsKeepHealthy", `account ${id} after ${x.label}`)).to.equal(false);
      }
    }
    return true;
  },

  liquidationNeedsShortfall: (x) => {
    if (!x.liquidation) return false;
    const m = x.liquidation.before;
    expect(m.liquidatable && m.equity < m.maintenanceMargin, violation("liquidationNeedsShortfall", x.label)).to.equal(
      true,
    );
    return true;
  },

  liquidationImprovesRatio: (x) => {
    if (!x.liquidation || x.spec.kind !== "liquidate") return false;
    const { before: m0, plan } = x.liquidation;
    const id = x.spec.account;
    const lowestMm = Object.values(x.before.markets).reduce(
      (min, m) => m.tiers.reduce((low, t) => (t.mmRate < low ? t.mmRate : low), min),
      WAD,
    );
    const p = x.before.liquidation;
    const feeBounded = p.liquidationFee * WAD <= p.fullLiquidationThreshold * lowestMm;
    const a = M.account(x.before, id)!;
    const sides = new Map<number, Set<boolean>>();
    for (const market of M.openMarkets(a)) {
      const group = M.market(x.before, market)!.group;
      if (group !== 0) sides.set(group, (sides.get(group) ?? new Set()).add(a.positions[market.toString()].size > 0n));
    }
    const hedged = [...sides.values()].some((set) => set.size > 1);
    const [, equity, mm] = x.chainView.accounts[id.toString()].margin as bigint[];
    // plan.whole: the account was under the full-liquidation threshold (or the position is dust),
    // so the liquidation may close the whole position, which is allowed to lower the ratio
    if (plan.whole || plan.positionClosed || !feeBounded || hedged || mm === 0n) return false;
    expect(
      equity * m0.maintenanceMargin >= m0.equity * mm,
      violation("liquidationImprovesRatio", `${x.label}: ${m0.equity}/${m0.maintenanceMargin} → ${equity}/${mm}`),
    ).to.equal(true);
    return true;
  },

  badDebtOnlyWhenEmpty: (x) => {
    if (x.spec.kind !== "settleBadDebt" || !x.succeeded) return false;
    const a = M.account(x.before, x.spec.account)!;
    expect(
      M.openMarkets(a).length === 0 && M.collateralValue(x.before, a, false, x.at) < 0n,
      violation("badDebtOnlyWhenEmpty", x.label),
    ).to.equal(true);
    const seen = x.chainView.accounts[x.spec.account.toString()];
    expect([seen.quote, ...seen.balances], violation("badDebtOnlyWhenEmpty", x.label)).to.deep.equal([0n, 0n, 0n]);
    return true;
  },

  flatAccountWithdraws: async (x) => {
    if ((x.after.vaultPaused & 2) !== 0) return false;
    let applied = false;
    for (const id of ACCOUNTS) {
      const a = M.account(x.after, id)!;
      if (M.openMarkets(a).length !== 0 || a.quote < 0n) continue;
      const owner = x.chain.signers[OWNER_OF[id.toString()]];
      for (let i = 0; i < x.after.tokens.length; i++) {
        const t = x.after.tokens[i].address;
        const amount = i === 0 ? fromWadDown(a.quote, M.SETTLEMENT_DECIMALS) : (a.balances[t] ?? 0n);
        if (amount === 0n) continue;
        try {
          await x.chain.vault.connect(owner).withdraw.staticCall(id, t, amount, owner.address);
        } catch (e) {
          expect.fail(violation("flatAccountWithdraws", `account ${id} ${amount} of ${t}: ${errorName(e, x.chain)}`));
        }
        applied = true;
      }
    }
    return applied;
  },

  fundingMonotone: (x) => {
    for (const m of MARKETS) {
      const t0 = M.market(x.before, m)!.lastFundingTime;
      const row = x.chainView.markets[m.toString()];
      const t1 = typeof row[0] === "string" ? t0 : (row[6] as bigint);
      expect(t1 >= t0, violation("fundingMonotone", `market ${m}: ${t0} → ${t1}`)).to.equal(true);
      if (t1 !== t0) expect(t1, violation("fundingMonotone", `market ${m} after ${x.label}`)).to.equal(x.at);
    }
    return true;
  },

  noForeignChanges: (x) => {
    if (!("who" in x.spec) || !USER_KINDS.has(x.spec.kind)) return false;
    const caller = x.chain.signers[x.spec.who].address;
    for (const id of ACCOUNTS) {
      const a = M.account(x.after, id)!;
      if (a.owner === caller || a.operators.includes(caller)) continue;
      const was = x.observedBefore.accounts[id.toString()];
      const now = x.chainView.accounts[id.toString()];
      const onlyGrew = now.quote >= was.quote && now.balances.every((b, i) => b >= was.balances[i]);
      expect(
        onlyGrew && same(now.positions, was.positions),
        violation("noForeignChanges", `account ${id} after ${x.label}`),
      ).to.equal(true);
    }
    return true;
  },
};

async function checkInvariants(x: CheckContext, stats: Stats) {
  for (const name of Object.keys(CHECKS) as InvariantName[]) {
    if (await CHECKS[name](x)) stats.checks[name]++;
  }
}

/** A crash through alice's isolated account: liquidation, collateral liquidation, bad debt. */
export const BANKRUPTCY: Spec[] = [
  { kind: "deposit", who: "alice", account: 2n, token: 1, units: 2n * 10n ** 18n },
  { kind: "open", who: "alice", account: 2n, market: 1n, lots: 1_500_000_000n },
  { kind: "price", feed: 0, bps: -5_000 },
  { kind: "liquidate", who: "alice", account: 2n, market: 1n, size: "max" },
  { kind: "liquidateCollateral", who: "keeper", account: 2n, token: 1, amount: { kind: "all" } },
  { kind: "settleBadDebt", who: "keeper", account: 2n },
];
