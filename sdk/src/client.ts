/**
 * The Crossmargin client: typed contracts, reads valued with the protocol's TypeScript margin
 * mirror (src/math, src/protocol — no second copy of the math here), and actions that wait for
 * their receipts and turn reverts into ContractRevertErrors (errors.ts) named after the contracts'
 * custom errors. Amounts are bigint WAD (18 decimals) unless a field says token units.
 */
import {
  getAddress,
  getBigInt,
  isAddress,
  type BigNumberish,
  type ContractRunner,
  type ContractTransactionReceipt,
  type ContractTransactionResponse,
  type Interface,
  type Provider,
  type Signer,
} from "ethers";
import {
  ChainlinkOracle__factory,
  ClearingHouse__factory,
  IERC20__factory,
  IPriceOracle__factory,
  LiquidityPool__factory,
  MarginLens__factory,
  Vault__factory,
  type ClearingHouse,
  type LiquidityPool,
  type MarginLens,
  type Vault,
} from "../../typechain-types";
import type { AccountCreatedEvent } from "../../typechain-types/contracts/Vault";
import { WAD, abs, mulDivDown, mulDivUp, wDivDown } from "../../src/math/fixedPoint";
import {
  SECONDS_PER_DAY,
  accountCollateralValue,
  accountMargin,
  fundingIndexDelta,
  liquidationPrice as mirrorLiquidationPrice,
  notional,
  pendingFunding,
  unrealizedPnl,
  type PositionInput,
} from "../../src/math/margin";
import { readAccountCollateral, type AccountCollateral } from "../../src/protocol/collateral";
import { readAccountSnapshot, type AccountSnapshot, type MarketInputsCache } from "../../src/protocol/margin";
import { deploymentAddresses, type Deployment, type ProtocolAddresses } from "./deployment";
import {
  CrossmarginError,
  type ContractRevertError,
  NoCodeError,
  ReadOnlyRunnerError,
  WrongChainError,
  decodeRevert,
} from "./errors";
import * as events from "./events";

/* TYPES */

/** How to find the protocol: plain addresses, one registry entry, or a registry to pick from by chain id. */
export type ConnectOptions =
  | { addresses: ProtocolAddresses }
  | { deployment: Deployment }
  | { chainId: number | bigint; deployments: Record<number, Deployment> | Deployment[] };

/** An account's margin mode: Cross (up to 16 markets on one margin) or Isolated (one market). */
export type MarginMode = "cross" | "isolated";

/** One collateral token of an account, valued as the Vault values it. */
export interface TokenBalance {
  token: string;
  symbol: string;
  decimals: number;
  /** Token units. */
  balance: bigint;
  /** Oracle price, WAD. */
  price: bigint;
  /** WAD (0.1e18 = 10 %). */
  haircut: bigint;
  /** balance × price, rounded down. */
  value: bigint;
  /** value × (1 − haircut), rounded down: what counts as collateral. */
  haircutValue: bigint;
}

/** An account's collateral: settlement-token balance and other tokens. */
export interface AccountBalances {
  accountId: bigint;
  owner: string;
  mode: MarginMode;
  /** Settlement-token balance (signed, WAD; negative = debt). */
  quoteBalance: bigint;
  /** Tokens other than the settlement token with a non-zero balance, in listing order. */
  holdings: TokenBalance[];
  /** Σ values + quoteBalance (Vault.rawCollateralValue). */
  rawValue: bigint;
  /** Σ haircut values + quoteBalance (Vault.collateralValue). */
  collateralValue: bigint;
}

/** One open position with its figures at the current oracle price. */
export interface PositionInfo {
  marketId: bigint;
  side: "long" | "short";
  /** Signed base units. */
  size: bigint;
  /** Signed quote paid (negative for a long). */
  openNotional: bigint;
  /** |openNotional| / |size|, rounded down. */
  entryPrice: bigint;
  /** The market's oracle price. */
  price: bigint;
  /** |size| × price, rounded up. */
  notional: bigint;
  /** size × price + openNotional, rounded toward −∞. */
  unrealizedPnl: bigint;
  /** Funding owed since the position last settled (> 0: the account pays). */
  pendingFunding: bigint;
  /** The market's funding index, accrued to the latest block. */
  fundingIndex: bigint;
  /** The index the position last settled at. */
  entryFundingIndex: bigint;
  /** See {@link CrossmarginClient.liquidationPrice}. */
  liquidationPrice: bigint | null;
}

/** MarginLens.health plus the margin ratio. */
export interface AccountHealth {
  equity: bigint;
  maintenanceMargin: bigint;
  initialMargin: bigint;
  freeCollateral: bigint;
  liquidatable: boolean;
  /** equity / maintenanceMargin (WAD, rounded toward −∞); `null` with no margin required. */
  marginRatio: bigint | null;
}

/** A market's funding and open interest now. */
export interface FundingInfo {
  marketId: bigint;
  /** The rate accruing now, WAD per day, signed like the skew (> 0: longs pay shorts' side). */
  fundingRatePerDay: bigint;
  /** What one unit of long size pays per day at the current price (USD, WAD): rate × price. */
  fundingPerUnitPerDay: bigint;
  /** Long − short open interest, base units. */
  skew: bigint;
  skewScale: bigint;
  maxFundingRatePerDay: bigint;
  /** Cumulative index accrued to the latest block, USD per unit. */
  fundingIndex: bigint;
  longOpenInterest: bigint;
  shortOpenInterest: bigint;
  /** Unix time of the last accrual written on chain. */
  lastFundingTime: bigint;
  /** The market's oracle price. */
  price: bigint;
}

/** MarginLens.previewTrade, named. */
export interface TradePreview {
  fillPrice: bigint;
  fee: bigint;
  equityAfter: bigint;
  initialMarginAfter: bigint;
  maintenanceMarginAfter: bigint;
  freeCollateralAfter: bigint;
}

/** Slippage guard of a trade. */
export interface TradeOptions {
  /** Worst fill accepted, in basis points from the previewed fill (default 50 = 0.5 %). */
  slippageBps?: number | bigint;
  /** An explicit price limit (WAD; 0 = none); when given, no preview is made and slippageBps is ignored. */
  priceLimit?: BigNumberish;
}

/** A mined transaction. */
export interface ActionResult {
  receipt: ContractTransactionReceipt;
}

/** A new account. */
export interface CreateAccountResult extends ActionResult {
  accountId: bigint;
  mode: MarginMode;
}

/** A deposit, with the approval it needed first (`null` when the allowance sufficed). */
export interface DepositResult extends ActionResult {
  approval: ContractTransactionReceipt | null;
}

/** A trade: the limit sent, the preview it came from, and the PositionChanged event. */
export interface TradeResult extends ActionResult {
  /** The priceLimit sent to the ClearingHouse. */
  priceLimit: bigint;
  /** The preview the limit was derived from (`null` with an explicit priceLimit). */
  preview: TradePreview | null;
  trade: events.PositionChange;
}

/** Options of {@link CrossmarginClient.liquidationPrice}. */
export interface LiquidationPriceOptions {
  /**
   * Unix time the figure is for (at or after the latest block; default: the latest block's time):
   * funding keeps accruing at the current rate until then.
   */
  timestamp?: BigNumberish;
}

/* PURE HELPERS */

const BPS = 10_000n;

/**
 * The price limit for a trade `slippageBps` worse than `fillPrice`: for a buy fill × (1 + s)
 * rounded up, for a sell fill × (1 − s) rounded down and at least 1 (0 would mean "no limit").
 *
 * @param fillPrice The previewed fill (WAD).
 * @param isBuy Whether the trade buys (sizeDelta > 0).
 * @param slippageBps Basis points, an integer from 0 to 10,000.
 */
export function priceLimitFor(fillPrice: bigint, isBuy: boolean, slippageBps: number | bigint): bigint {
  if (typeof slippageBps === "number" && !Number.isInteger(slippageBps)) {
    throw new CrossmarginError(`slippageBps must be a whole number of basis points, got ${slippageBps}`);
  }
  const bps = BigInt(slippageBps);
  if (bps < 0n || bps > BPS) {
    throw new CrossmarginError(`slippageBps must be from 0 to 10000 (0 % to 100 %), got ${slippageBps}`);
  }
  if (isBuy) return mulDivUp(fillPrice, BPS + bps, BPS);
  const limit = mulDivDown(fillPrice, BPS - bps, BPS);
  return limit > 0n ? limit : 1n;
}

/**
 * equity / maintenanceMargin as WAD, rounded toward −∞; `null` when no margin is required.
 *
 * @param equity WAD, signed.
 * @param maintenanceMargin WAD.
 */
export function marginRatio(equity: bigint, maintenanceMargin: bigint): bigint | null {
  if (maintenanceMargin === 0n) return null;
  return equity >= 0n ? wDivDown(equity, maintenanceMargin) : -mulDivUp(-equity, WAD, maintenanceMargin);
}

const MODES: Record<MarginMode, number> = { cross: 0, isolated: 1 };

function isSigner(runner: ContractRunner): runner is Signer {
  const r = runner as Partial<Signer>;
  return typeof r.getAddress === "function" && typeof r.sendTransaction === "function";
}

function id(value: BigNumberish, name: string): bigint {
  const v = getBigInt(value, name);
  if (v < 0n) throw new CrossmarginError(`${name} must not be negative, got ${v}`);
  return v;
}

function positiveAmount(value: BigNumberish, name: string): bigint {
  const v = getBigInt(value, name);
  if (v <= 0n) throw new CrossmarginError(`${name} must be above 0 (token units), got ${v}`);
  return v;
}

function address(value: string, name: string): string {
  if (!isAddress(value))
    throw new CrossmarginError(`${name} must be an address (0x + 40 hex digits), got ${JSON.stringify(value)}`);
  return getAddress(value);
}

function pickDeployment(chainId: bigint, deployments: Record<number, Deployment> | Deployment[]): Deployment {
  const list = Array.isArray(deployments) ? deployments : Object.values(deployments);
  const found = list.find((d) => BigInt(d.chainId) === chainId);
  if (!found) {
    const have = list.map((d) => d.chainId).join(", ") || "none";
    throw new CrossmarginError(
      `no deployment for chain ${chainId} in the registry (it has: ${have}): deploy there first (npx hardhat deploy --network <network>) or connect to one of those chains`,
    );
  }
  return found;
}

/** Everything the liquidation-price search needs about an account, read at one block. */
interface MarginContext {
  snapshot: AccountSnapshot;
  collateral: AccountCollateral;
  /** Per market the account trades: the feed behind its oracle and its funding accrual state. */
  markets: Map<bigint, { feed: string; rate: bigint; lastFundingTime: bigint; storedIndex: bigint }>;
  /** The feed behind each of `collateral.holdings`. */
  holdingFeeds: string[];
  /** Time of the block read. */
  timestamp: bigint;
}

/* CLIENT */

/** A connection to one Crossmargin deployment. Create it with {@link CrossmarginClient.connect}. */
export class CrossmarginClient {
  /** Accounts and pooled collateral. */
  readonly vault: Vault;
  /** Markets, positions, liquidation. */
  readonly clearingHouse: ClearingHouse;
  /** Batch health and trade previews. */
  readonly lens: MarginLens;
  /** The liquidity pool (ERC-4626 over the settlement token). */
  readonly pool: LiquidityPool;
  /** The four contracts' addresses, checksummed. */
  readonly addresses: ProtocolAddresses;
  /** The chain the provider is on (checked against the registry entry when there is one). */
  readonly chainId: bigint;
  /** The registry entry, when the client was connected with one. */
  readonly deployment?: Deployment;
  /** The signer or provider the contracts are connected to. */
  readonly runner: ContractRunner;
  /** The runner's provider. */
  readonly provider: Provider;

  /** Every ABI whose custom errors a call through this client may revert with. */
  private readonly errorInterfaces: Interface[];
  /** Oracle adapter → the feed behind it (immutable in ChainlinkOracle). */
  private readonly feeds = new Map<string, Promise<string>>();

  private constructor(
    runner: ContractRunner,
    provider: Provider,
    chainId: bigint,
    addresses: ProtocolAddresses,
    deployment: Deployment | undefined,
  ) {
    this.runner = runner;
    this.provider = provider;
    this.chainId = chainId;
    this.addresses = addresses;
    this.deployment = deployment;
    this.vault = Vault__factory.connect(addresses.vault, runner);
    this.clearingHouse = ClearingHouse__factory.connect(addresses.clearingHouse, runner);
    this.lens = MarginLens__factory.connect(addresses.lens, runner);
    this.pool = LiquidityPool__factory.connect(addresses.pool, runner);
    this.errorInterfaces = [
      this.clearingHouse.interface,
      this.vault.interface,
      this.pool.interface,
      IPriceOracle__factory.createInterface(),
    ];
  }

  /**
   * Connects to a deployment. With a registry entry, checks that the runner's provider is on the
   * entry's chain ({@link WrongChainError}); in every case checks that the four contracts have
   * code ({@link NoCodeError}).
   *
   * @param runner A Signer (reads and actions) or a Provider (reads only), connected to the chain.
   * @param options The addresses, a registry entry, or a registry and the chain id to pick.
   */
  static async connect(runner: ContractRunner, options: ConnectOptions): Promise<CrossmarginClient> {
    const provider = runner.provider;
    if (!provider) {
      throw new CrossmarginError(
        "the runner has no provider: pass a Provider, or a Signer connected to one (signer.connect(provider))",
      );
    }
    const { chainId } = await provider.getNetwork();
    let deployment: Deployment | undefined;
    let addresses: ProtocolAddresses;
    if ("addresses" in options) {
      addresses = options.addresses;
    } else {
      deployment =
        "deployment" in options
          ? options.deployment
          : pickDeployment(getBigInt(options.chainId, "chainId"), options.deployments);
      if (BigInt(deployment.chainId) !== chainId) throw new WrongChainError(BigInt(deployment.chainId), chainId);
      addresses = deploymentAddresses(deployment);
    }
    const checked: ProtocolAddresses = {
      vault: address(addresses.vault, "addresses.vault"),
      clearingHouse: address(addresses.clearingHouse, "addresses.clearingHouse"),
      lens: address(addresses.lens, "addresses.lens"),
      pool: address(addresses.pool, "addresses.pool"),
    };
    const names: [keyof ProtocolAddresses, string][] = [
      ["vault", "Vault"],
      ["clearingHouse", "ClearingHouse"],
      ["lens", "MarginLens"],
      ["pool", "LiquidityPool"],
    ];
    const codes = await Promise.all(names.map(([key]) => provider.getCode(checked[key])));
    names.forEach(([key, name], i) => {
      if (codes[i] === "0x") throw new NoCodeError(name, checked[key], chainId);
    });
    return new CrossmarginClient(runner, provider, chainId, checked, deployment);
  }

  /** The first block worth scanning for events: the deployment's start block, else 0. */
  get startBlock(): number {
    return this.deployment?.startBlock ?? 0;
  }

  /* READS */

  /**
   * Ids of the accounts `owner` created, ascending, from the Vault's `AccountCreated` logs
   * (queried in chunks of {@link events.LOG_CHUNK_BLOCKS} blocks). The Vault has no way to transfer
   * an account, so the creator stays its owner.
   *
   * @param owner The owner's address.
   * @param fromBlock First block to scan (default: the deployment's start block, else 0).
   */
  async accountsOf(owner: string, fromBlock: number = this.startBlock): Promise<bigint[]> {
    const filter = this.vault.filters.AccountCreated(undefined, address(owner, "owner"));
    const toBlock = await this.provider.getBlockNumber();
    const logs = await events.queryInChunks(
      fromBlock,
      toBlock,
      (from, to) => this.vault.queryFilter(filter, from, to),
      events.LOG_CHUNK_BLOCKS,
      true, // to the latest block, even if the number read above is already behind
    );
    return logs.map((log) => log.args.accountId).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /**
   * The account's collateral: quote balance, each token with its price and haircut value, and the
   * totals, valued with the mirror exactly as Vault.collateralValue values them.
   *
   * @param accountId The account.
   */
  async balances(accountId: BigNumberish): Promise<AccountBalances> {
    const account = id(accountId, "accountId");
    const c = await this.read("Vault", "readAccountCollateral", () => readAccountCollateral(this.vault, account));
    return {
      accountId: c.accountId,
      owner: c.owner,
      mode: c.mode === MODES.isolated ? "isolated" : "cross",
      quoteBalance: c.quoteBalance,
      holdings: c.holdings.map((h) => ({
        token: h.token,
        symbol: h.symbol,
        decimals: h.decimals,
        balance: h.balance,
        price: h.price,
        haircut: h.haircut,
        value: h.value,
        haircutValue: h.haircutValue,
      })),
      rawValue: c.rawValue,
      collateralValue: c.collateralValue,
    };
  }

  /**
   * The account's open positions with entry price, notional, unrealized PnL, pending funding and
   * liquidation price, at the latest block.
   *
   * @param accountId The account.
   */
  async positions(accountId: BigNumberish): Promise<PositionInfo[]> {
    const context = await this.marginContext(id(accountId, "accountId"));
    return context.snapshot.positions.map((p) => ({
      marketId: p.marketId,
      side: p.size > 0n ? "long" : "short",
      size: p.size,
      openNotional: p.openNotional,
      entryPrice: wDivDown(abs(p.openNotional), abs(p.size)),
      price: p.price,
      notional: notional(p.size, p.price),
      unrealizedPnl: unrealizedPnl(p.size, p.openNotional, p.price),
      pendingFunding: pendingFunding(p.size, p.fundingIndex, p.entryFundingIndex),
      fundingIndex: p.fundingIndex,
      entryFundingIndex: p.entryFundingIndex,
      liquidationPrice: this.liquidationPriceIn(context, p.marketId, context.timestamp),
    }));
  }

  /**
   * MarginLens.health with the margin ratio (equity / maintenance margin).
   *
   * @param accountId The account.
   */
  async health(accountId: BigNumberish): Promise<AccountHealth> {
    const h = await this.read("MarginLens", "health", () => this.lens.health(id(accountId, "accountId")));
    return {
      equity: h.equity,
      maintenanceMargin: h.maintenanceMargin,
      initialMargin: h.initialMargin,
      freeCollateral: h.freeCollateral,
      liquidatable: h.liquidatable,
      marginRatio: marginRatio(h.equity, h.maintenanceMargin),
    };
  }

  /**
   * A market's funding: the rate accruing now (ClearingHouse.marketState, set from the skew at the
   * last trade), what it costs a unit of long size per day, the skew and open interest.
   *
   * @param marketId The market.
   */
  async funding(marketId: BigNumberish): Promise<FundingInfo> {
    const market = id(marketId, "marketId");
    const [state, params] = await Promise.all([
      this.read("ClearingHouse", "marketState", () => this.clearingHouse.marketState(market)),
      this.read("ClearingHouse", "marketParams", () => this.clearingHouse.marketParams(market)),
    ]);
    const price = await this.read("ChainlinkOracle", "price", () =>
      ChainlinkOracle__factory.connect(params.oracle, this.runner).price(),
    );
    return {
      marketId: market,
      fundingRatePerDay: state.fundingRate,
      fundingPerUnitPerDay: fundingIndexDelta(state.fundingRate, price, SECONDS_PER_DAY),
      skew: state.skew,
      skewScale: params.skewScale,
      maxFundingRatePerDay: params.maxFundingRatePerDay,
      fundingIndex: state.fundingIndex,
      longOpenInterest: state.longOpenInterest,
      shortOpenInterest: state.shortOpenInterest,
      lastFundingTime: state.lastFundingTime,
      price,
    };
  }

  /**
   * The oracle price of `marketId` at which the account becomes liquidatable (equity < maintenance
   * margin), every other price held, found with the mirror's `liquidationPrice` so tiers, hedge
   * offsets and rounding are the contracts'. Collateral priced by the same feed as the market (WETH
   * under ETH-PERP) moves with it, revalued as the Vault does; the funding index accrues at the
   * moving price, as on chain. For a long the account is liquidatable at and below the returned
   * price, for a short at and above it (a short backed by more same-feed collateral than its size
   * behaves like a long). The feed reports in steps of 10^(18 − feed decimals): the last reachable
   * liquidating answer is this price rounded down to a step for a long, up for a short. `null`
   * when no price liquidates the account.
   *
   * @param accountId The account.
   * @param marketId A market the account holds a position in.
   * @param options `timestamp`: compute for a later time, funding accrued at the current rate.
   */
  async liquidationPrice(
    accountId: BigNumberish,
    marketId: BigNumberish,
    options: LiquidationPriceOptions = {},
  ): Promise<bigint | null> {
    const account = id(accountId, "accountId");
    const market = id(marketId, "marketId");
    const context = await this.marginContext(account);
    if (!context.snapshot.positions.some((p) => p.marketId === market)) {
      throw new CrossmarginError(
        `account ${account} holds no position in market ${market}, so it has no liquidation price there (see positions(${account}))`,
      );
    }
    const timestamp = options.timestamp === undefined ? context.timestamp : getBigInt(options.timestamp, "timestamp");
    if (timestamp < context.timestamp) {
      throw new CrossmarginError(
        `timestamp ${timestamp} is before the latest block (${context.timestamp}): pass a time at or after it`,
      );
    }
    return this.liquidationPriceIn(context, market, timestamp);
  }

  /**
   * MarginLens.previewTrade: the fill and fee of a trade and the account's margin after it.
   *
   * @param accountId The account.
   * @param marketId The market.
   * @param sizeDelta Size to buy (> 0) or sell (< 0), WAD, whole lots of 1e10.
   */
  async previewTrade(accountId: BigNumberish, marketId: BigNumberish, sizeDelta: BigNumberish): Promise<TradePreview> {
    const r = await this.read("MarginLens", "previewTrade", () =>
      this.lens.previewTrade(id(accountId, "accountId"), id(marketId, "marketId"), getBigInt(sizeDelta, "sizeDelta")),
    );
    // MarginLens returns initial margin before maintenance margin (DESIGN §12)
    return {
      fillPrice: r.fillPrice,
      fee: r.fee,
      equityAfter: r.equityAfter,
      initialMarginAfter: r.initialMarginAfter,
      maintenanceMarginAfter: r.maintenanceMarginAfter,
      freeCollateralAfter: r.freeCollateralAfter,
    };
  }

  /* ACTIONS */

  /**
   * Creates an account owned by the signer.
   *
   * @param mode `cross` (one margin over up to 16 markets) or `isolated` (one market).
   */
  async createAccount(mode: MarginMode): Promise<CreateAccountResult> {
    this.requireSigner("createAccount");
    if (!(mode in MODES)) throw new CrossmarginError(`mode must be "cross" or "isolated", got ${JSON.stringify(mode)}`);
    const receipt = await this.send("Vault", "createAccount", () => this.vault.createAccount(MODES[mode]));
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== this.addresses.vault.toLowerCase()) continue;
      const parsed = this.vault.interface.parseLog(log);
      if (parsed?.name !== "AccountCreated") continue;
      const args = parsed.args.toObject() as AccountCreatedEvent.OutputObject;
      return { receipt, accountId: args.accountId, mode };
    }
    throw new CrossmarginError(
      `transaction ${receipt.hash} created no account: no AccountCreated event in its receipt`,
    );
  }

  /**
   * Deposits `amount` of `token` from the signer into an account. When the signer's allowance to
   * the Vault is below `amount`, first approves exactly `amount`.
   *
   * @param accountId The account to credit (anyone may deposit for any account).
   * @param token The settlement token or a listed collateral token.
   * @param amount Token units (6 decimals for USDC, 18 for WETH …).
   */
  async deposit(accountId: BigNumberish, token: string, amount: BigNumberish): Promise<DepositResult> {
    const signer = this.requireSigner("deposit");
    const account = id(accountId, "accountId");
    const tokenAddress = address(token, "token");
    const value = positiveAmount(amount, "amount");
    const erc20 = IERC20__factory.connect(tokenAddress, signer);
    const label = `token ${tokenAddress}`;
    const allowance = await this.read(label, "allowance", async () =>
      erc20.allowance(await signer.getAddress(), this.addresses.vault),
    );
    const approval =
      allowance < value ? await this.send(label, "approve", () => erc20.approve(this.addresses.vault, value)) : null;
    const receipt = await this.send("Vault", "deposit", () => this.vault.deposit(account, tokenAddress, value));
    return { receipt, approval };
  }

  /**
   * Withdraws `amount` of `token` from an account (owner only). The account must keep free
   * collateral ≥ 0; the settlement token never takes the quote balance below zero.
   *
   * @param accountId The account.
   * @param token The token.
   * @param amount Token units.
   * @param to Recipient (default: the signer).
   */
  async withdraw(accountId: BigNumberish, token: string, amount: BigNumberish, to?: string): Promise<ActionResult> {
    const signer = this.requireSigner("withdraw");
    const account = id(accountId, "accountId");
    const tokenAddress = address(token, "token");
    const value = positiveAmount(amount, "amount");
    const recipient = to === undefined ? await signer.getAddress() : address(to, "to");
    const receipt = await this.send("Vault", "withdraw", () =>
      this.vault.withdraw(account, tokenAddress, value, recipient),
    );
    return { receipt };
  }

  /**
   * Moves collateral between two accounts of one owner (e.g. margin into an isolated account).
   *
   * @param fromId The account debited (it must keep free collateral ≥ 0).
   * @param toId The account credited.
   * @param token The token.
   * @param amount Token units.
   */
  async transferCollateral(
    fromId: BigNumberish,
    toId: BigNumberish,
    token: string,
    amount: BigNumberish,
  ): Promise<ActionResult> {
    this.requireSigner("transferCollateral");
    const from = id(fromId, "fromId");
    const to = id(toId, "toId");
    const tokenAddress = address(token, "token");
    const value = positiveAmount(amount, "amount");
    const receipt = await this.send("Vault", "transferCollateral", () =>
      this.vault.transferCollateral(from, to, tokenAddress, value),
    );
    return { receipt };
  }

  /**
   * Trades `sizeDelta` in a market. Unless `priceLimit` is given, previews the trade and sends the
   * previewed fill `slippageBps` worse as the limit (a buy: higher, rounded up; a sell: lower,
   * rounded down, never 0).
   *
   * @param accountId The account (the signer owns it or operates it).
   * @param marketId The market.
   * @param sizeDelta Size to buy (> 0) or sell (< 0), WAD, whole lots of 1e10.
   * @param options Slippage in basis points (default 50) or an explicit price limit.
   */
  async openPosition(
    accountId: BigNumberish,
    marketId: BigNumberish,
    sizeDelta: BigNumberish,
    options: TradeOptions = {},
  ): Promise<TradeResult> {
    this.requireSigner("openPosition");
    const account = id(accountId, "accountId");
    const market = id(marketId, "marketId");
    const size = getBigInt(sizeDelta, "sizeDelta");
    if (size === 0n) {
      throw new CrossmarginError(
        `sizeDelta is 0 for account ${account} in market ${market}: pass a size to buy (> 0) or sell (< 0); closePosition closes a position`,
      );
    }
    const { priceLimit, preview } = await this.limitFor(account, market, size, options);
    const receipt = await this.send("ClearingHouse", "openPosition", () =>
      this.clearingHouse.openPosition(account, market, size, priceLimit),
    );
    return { receipt, priceLimit, preview, trade: this.tradeIn(receipt, account, market) };
  }

  /**
   * Closes the account's whole position in a market, with the same slippage rule as
   * {@link CrossmarginClient.openPosition} applied to a preview of the opposite trade.
   *
   * @param accountId The account.
   * @param marketId The market.
   * @param options Slippage in basis points (default 50) or an explicit price limit.
   */
  async closePosition(
    accountId: BigNumberish,
    marketId: BigNumberish,
    options: TradeOptions = {},
  ): Promise<TradeResult> {
    this.requireSigner("closePosition");
    const account = id(accountId, "accountId");
    const market = id(marketId, "marketId");
    const [size] = await this.read("ClearingHouse", "positionOf", () => this.clearingHouse.positionOf(account, market));
    if (size === 0n) {
      throw new CrossmarginError(
        `account ${account} holds no position in market ${market}: nothing to close (see positions(${account}))`,
      );
    }
    const { priceLimit, preview } = await this.limitFor(account, market, -size, options);
    const receipt = await this.send("ClearingHouse", "closePosition", () =>
      this.clearingHouse.closePosition(account, market, priceLimit),
    );
    return { receipt, priceLimit, preview, trade: this.tradeIn(receipt, account, market) };
  }

  /* EVENTS */

  /**
   * Calls `listener` for every liquidation from now on (of one account when given); resolves with
   * the function that unsubscribes.
   *
   * @param listener Receives each liquidation, decoded.
   * @param filter `accountId`: only this account's.
   */
  onLiquidation(
    listener: (liquidation: events.Liquidation) => void,
    filter: { accountId?: BigNumberish } = {},
  ): Promise<events.Unsubscribe> {
    return events.onLiquidation(this.clearingHouse, listener, filter);
  }

  /**
   * Calls `listener` for every trade from now on (of one account and/or market when given);
   * resolves with the function that unsubscribes.
   *
   * @param listener Receives each trade, decoded.
   * @param filter `accountId`, `marketId`: only trades of this account / in this market.
   */
  onPositionChanged(
    listener: (change: events.PositionChange) => void,
    filter: { accountId?: BigNumberish; marketId?: BigNumberish } = {},
  ): Promise<events.Unsubscribe> {
    return events.onPositionChanged(this.clearingHouse, listener, filter);
  }

  /**
   * Past liquidations, oldest first, from the deployment's start block (or `fromBlock`) to the
   * latest block (or `toBlock`), of one account when given.
   *
   * @param options Block range and account.
   */
  liquidations(options: events.BlockRange & { accountId?: BigNumberish } = {}): Promise<events.Liquidation[]> {
    return events.liquidations(this.clearingHouse, { fromBlock: this.startBlock, ...options });
  }

  /**
   * An account's past trades, oldest first, from the deployment's start block (or `fromBlock`) to
   * the latest block (or `toBlock`), in one market when given.
   *
   * @param accountId The account.
   * @param options Block range and market.
   */
  positionHistory(
    accountId: BigNumberish,
    options: events.BlockRange & { marketId?: BigNumberish } = {},
  ): Promise<events.PositionChange[]> {
    return events.positionHistory(this.clearingHouse, id(accountId, "accountId"), {
      fromBlock: this.startBlock,
      ...options,
    });
  }

  /* INTERNAL */

  private requireSigner(action: string): Signer {
    if (!isSigner(this.runner)) throw new ReadOnlyRunnerError(action);
    return this.runner;
  }

  /** Runs a read; a revert becomes a ContractRevertError. */
  private async read<T>(contract: string, method: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw decodeRevert(error, contract, method, this.errorInterfaces) ?? error;
    }
  }

  /**
   * Sends a transaction and waits for its receipt; a revert (at gas estimation or mined) becomes
   * a ContractRevertError. A mined revert reported without data is replayed as a call on the
   * latest state to name the error.
   */
  private async send(
    contract: string,
    method: string,
    submit: () => Promise<ContractTransactionResponse>,
  ): Promise<ContractTransactionReceipt> {
    let sent: ContractTransactionResponse | undefined;
    try {
      sent = await submit();
      const receipt = await sent.wait();
      if (!receipt) throw new CrossmarginError(`${contract}.${method}: transaction ${sent.hash} has no receipt`);
      return receipt;
    } catch (error) {
      const revert = decodeRevert(error, contract, method, this.errorInterfaces);
      if (!revert) throw error;
      if (revert.data === "0x" && sent) {
        const replayed = await this.replay(sent, contract, method);
        if (replayed) throw replayed;
      }
      throw revert;
    }
  }

  private async replay(
    tx: ContractTransactionResponse,
    contract: string,
    method: string,
  ): Promise<ContractRevertError | undefined> {
    try {
      await this.provider.call({ to: tx.to, from: tx.from, data: tx.data, value: tx.value });
      return undefined;
    } catch (error) {
      return decodeRevert(error, contract, method, this.errorInterfaces);
    }
  }

  private async limitFor(
    account: bigint,
    market: bigint,
    size: bigint,
    options: TradeOptions,
  ): Promise<{ priceLimit: bigint; preview: TradePreview | null }> {
    if (options.priceLimit !== undefined) {
      const priceLimit = getBigInt(options.priceLimit, "priceLimit");
      if (priceLimit < 0n) throw new CrossmarginError(`priceLimit must be 0 (none) or a WAD price, got ${priceLimit}`);
      return { priceLimit, preview: null };
    }
    const preview = await this.previewTrade(account, market, size);
    return { priceLimit: priceLimitFor(preview.fillPrice, size > 0n, options.slippageBps ?? 50), preview };
  }

  /** The PositionChanged event of a trade's receipt. */
  private tradeIn(receipt: ContractTransactionReceipt, account: bigint, market: bigint): events.PositionChange {
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== this.addresses.clearingHouse.toLowerCase()) continue;
      const change = events.decodePositionChange(log);
      if (change && change.accountId === account && change.marketId === market) return change;
    }
    throw new CrossmarginError(
      `transaction ${receipt.hash} has no PositionChanged event for account ${account} in market ${market}`,
    );
  }

  /** The feed behind an oracle adapter (the adapter itself when it is not a ChainlinkOracle). */
  private feedOf(oracle: string): Promise<string> {
    const key = oracle.toLowerCase();
    let feed = this.feeds.get(key);
    if (!feed) {
      feed = ChainlinkOracle__factory.connect(oracle, this.runner)
        .feed()
        .then(
          (f) => f.toLowerCase(),
          () => key,
        );
      this.feeds.set(key, feed);
    }
    return feed;
  }

  /**
   * Reads an account's snapshot, collateral, and per market its feed and funding accrual, all at
   * one block (retried when a block arrives mid-read).
   */
  private async marginContext(accountId: bigint): Promise<MarginContext> {
    for (let attempt = 0; ; attempt++) {
      const block = await this.provider.getBlock("latest");
      if (!block) throw new CrossmarginError("the provider returned no latest block");
      const cache: MarketInputsCache = new Map();
      const [snapshot, collateral] = await Promise.all([
        this.read("ClearingHouse", "readAccountSnapshot", () =>
          readAccountSnapshot(this.vault, this.clearingHouse, accountId, cache),
        ),
        this.read("Vault", "readAccountCollateral", () => readAccountCollateral(this.vault, accountId)),
      ]);
      const timestamp = BigInt(block.timestamp);
      const markets: MarginContext["markets"] = new Map();
      for (const p of snapshot.positions) {
        const inputs = cache.get(p.marketId);
        if (!inputs) throw new CrossmarginError(`market ${p.marketId}: parameters missing from the snapshot`);
        const [state, feed] = await Promise.all([
          this.read("ClearingHouse", "marketState", () => this.clearingHouse.marketState(p.marketId)),
          inputs.then((m) => this.feedOf(m.oracle)),
        ]);
        // the stored index: what the view accrued at the current price, taken back out
        const elapsed = timestamp - state.lastFundingTime;
        const storedIndex = p.fundingIndex - fundingIndexDelta(state.fundingRate, p.price, elapsed);
        markets.set(p.marketId, { feed, rate: state.fundingRate, lastFundingTime: state.lastFundingTime, storedIndex });
      }
      const holdingFeeds = await Promise.all(
        collateral.holdings.map(async (h) => this.feedOf((await this.vault.collateralConfig(h.token)).oracle)),
      );
      if ((await this.provider.getBlockNumber()) === block.number || attempt >= 2) {
        return { snapshot, collateral, markets, holdingFeeds, timestamp };
      }
    }
  }

  /** The liquidation price search of {@link CrossmarginClient.liquidationPrice} on read data. */
  private liquidationPriceIn(context: MarginContext, marketId: bigint, timestamp: bigint): bigint | null {
    const { snapshot, collateral, markets, holdingFeeds } = context;
    const position = snapshot.positions.find((p) => p.marketId === marketId);
    const market = markets.get(marketId);
    if (!position || !market) return null;
    const feed = market.feed;
    const p0 = position.price;

    const positionsAt = (price: bigint): PositionInput[] =>
      snapshot.positions.map((p) => {
        const m = markets.get(p.marketId);
        if (!m) return p;
        const moved = m.feed === feed ? price : p.price;
        return {
          ...p,
          price: moved,
          fundingIndex: m.storedIndex + fundingIndexDelta(m.rate, moved, timestamp - m.lastFundingTime),
        };
      });
    const sharesFeed = holdingFeeds.map((f) => f === feed);
    const collateralAt = (price: bigint): bigint =>
      accountCollateralValue(
        collateral.holdings.map((h, i) => (sharesFeed[i] ? { ...h, price } : h)),
        collateral.quoteBalance,
      );
    const collateralValue = sharesFeed.some(Boolean) ? collateralAt : collateral.collateralValue;

    // A long, or a short without collateral on its feed, loses margin in one direction only: the
    // mirror's bisection applies as is.
    if (position.size > 0n || typeof collateralValue === "bigint") {
      return mirrorLiquidationPrice(positionsAt, collateralValue, snapshot.groupOffsets, position.size > 0n);
    }
    // A short backed by collateral on its own feed gains on one side and loses on the other, and its
    // margin may fail on both sides (tiers grow with notional). Look only on the side where the
    // margin surplus falls from the current price, counting the other side as safe.
    const surplus = (price: bigint) => {
      const m = accountMargin(collateralAt(price), positionsAt(price), snapshot.groupOffsets);
      return m.equity - m.maintenanceMargin;
    };
    const step = p0 / 1000n + 1n;
    const longLike = surplus(p0 + step) > surplus(p0 > step ? p0 - step : 1n);
    const SAFE = 1n << 200n;
    const bounded = (price: bigint) => ((longLike ? price > p0 : price < p0) ? SAFE : collateralAt(price));
    return mirrorLiquidationPrice(positionsAt, bounded, snapshot.groupOffsets, longLike);
  }
}
