import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { ContractTransactionResponse } from "ethers";
import type { Signer } from "ethers";
import type { MockAggregator } from "../../typechain-types";
import { deployLocal, type LocalProtocol } from "../deploy/local";

const WAD = 10n ** 18n;

/** Exact gas of the trading paths, measured on the local deployment. */
export interface TradingGas {
  /** openPosition, first position of an account holding only USDC, market already traded (at the
   *  same oracle price, and once as the first trade after an oracle update). */
  openFirst: { market: string; gas: bigint }[];
  openIncrease: bigint;
  openReduce: bigint;
  closePosition: bigint;
  /** withdraw(1 unit of USDC) with k = 1..N positions, one feed per market. */
  withdrawWithPositions: bigint[];
  /** Differences between consecutive entries of withdrawWithPositions (ungrouped markets). */
  marginalPerPosition: bigint[];
  /** The transactions of withdrawWithPositions, for tracing their storage and account accesses. */
  withdrawTxHashes: string[];
}

async function receiptOf(tx: Promise<ContractTransactionResponse>) {
  const receipt = await (await tx).wait();
  if (!receipt) throw new Error("transaction was not mined");
  return receipt;
}

const gasOf = async (tx: Promise<ContractTransactionResponse>): Promise<bigint> => (await receiptOf(tx)).gasUsed;

/**
 * Adds `count` ungrouped markets with BTC-PERP's fee, funding, deviation and tiers, each on a fresh
 * 8-decimal feed at $100 with a 1-day heartbeat (ids 4, 5, …); returns their feeds.
 */
export async function addBenchMarkets(
  hre: HardhatRuntimeEnvironment,
  p: LocalProtocol,
  owner: Signer,
  count: number,
): Promise<MockAggregator[]> {
  const { ethers } = hre;
  const params = await p.clearingHouse.marketParams(2); // BTC-PERP's settings, ungrouped
  const feeds: MockAggregator[] = [];
  for (let i = 0; i < count; i++) {
    const feed = await ethers.deployContract("MockAggregator", [8, `X${i} / USD`, 100n * 10n ** 8n]);
    const oracle = await ethers.deployContract("ChainlinkOracle", [await feed.getAddress(), 86_400n]);
    feeds.push(feed);
    await (
      await p.clearingHouse.connect(owner).addMarket({
        oracle: await oracle.getAddress(),
        group: 0,
        skewScale: 1_000_000n * WAD,
        takerFee: params.takerFee,
        maxFundingRatePerDay: params.maxFundingRatePerDay,
        maxLongOpenInterest: 100_000n * WAD,
        maxShortOpenInterest: 100_000n * WAD,
        maxPriceDeviation: params.maxPriceDeviation,
        tiers: params.tiers.map((t) => ({ upToNotional: t.upToNotional, mmRate: t.mmRate, imRate: t.imRate })),
      })
    ).wait();
  }
  return feeds;
}

/**
 * Deploys the local protocol plus `extraMarkets` ungrouped markets (one fresh feed each), puts
 * every market in steady state (already traded), then measures the trading paths of DESIGN §6 and
 * the cost of one more position in a margin check. Deterministic: same code, same numbers.
 */
export async function measureTradingGas(hre: HardhatRuntimeEnvironment, extraMarkets = 15): Promise<TradingGas> {
  const { ethers } = hre;
  const p = await deployLocal(hre);
  const [deployer, alice, bob] = await ethers.getSigners();
  await addBenchMarkets(hre, p, deployer, extraMarkets);
  const markets = Number(await p.clearingHouse.marketCount());
  const account = async (signer: typeof alice) => {
    await (await p.vault.connect(signer).createAccount(0)).wait();
    const id = await p.vault.accountCount();
    await (await p.usdc.mint(signer.address, 10_000_000n * 10n ** 6n)).wait();
    await (await p.usdc.connect(signer).approve(p.vault, ethers.MaxUint256)).wait();
    await (await p.vault.connect(signer).deposit(id, p.usdc, 1_000_000n * 10n ** 6n)).wait();
    return id;
  };
  // steady state: every market already traded (bob spreads over accounts of at most 16 positions)
  for (let first = 1; first <= markets; first += 16) {
    const bobId = await account(bob);
    for (let m = first; m <= Math.min(markets, first + 15); m++) {
      await (await p.clearingHouse.connect(bob).openPosition(bobId, m, WAD / 10n, 0)).wait();
    }
  }

  const ch = p.clearingHouse.connect(alice);
  const openFirst: TradingGas["openFirst"] = [];
  for (const [market, name] of [
    [2, "BTC-PERP (ungrouped)"],
    [1, "ETH-PERP (hedge group 1)"],
  ] as const) {
    const id = await account(alice);
    openFirst.push({ market: name, gas: await gasOf(ch.openPosition(id, market, WAD / 10n, 0)) });
  }
  // the same, as the first trade after an oracle update: the circuit breaker's reference price
  // (the oracle price at the market's last trade) is rewritten
  const btcAnswer = (await p.btcFeed.latestRoundData()).answer;
  await (await p.btcFeed.updateAnswer(btcAnswer + 100_000_000n)).wait(); // + $1
  const movedId = await account(alice);
  openFirst.push({
    market: "BTC-PERP, first trade after an oracle update",
    gas: await gasOf(ch.openPosition(movedId, 2, WAD / 10n, 0)),
  });
  await (await p.btcFeed.updateAnswer(btcAnswer)).wait();
  const id = await account(alice);
  await (await ch.openPosition(id, 2, WAD / 10n, 0)).wait();
  const openIncrease = await gasOf(ch.openPosition(id, 2, WAD / 10n, 0));
  const openReduce = await gasOf(ch.openPosition(id, 2, -WAD / 10n, 0));
  const closePosition = await gasOf(ch.closePosition(id, 2, 0));

  const flat = await account(alice);
  const order = [2, ...Array.from({ length: markets - 3 }, (_, i) => i + 4)]; // ungrouped markets only
  const withdrawWithPositions: bigint[] = [];
  const withdrawTxHashes: string[] = [];
  for (const m of order.slice(0, 16)) {
    await (await ch.openPosition(flat, m, WAD / 10n, 0)).wait();
    const receipt = await receiptOf(p.vault.connect(alice).withdraw(flat, p.usdc, 1n, alice.address));
    withdrawWithPositions.push(receipt.gasUsed);
    withdrawTxHashes.push(receipt.hash);
  }
  const marginalPerPosition = withdrawWithPositions.slice(1).map((g, i) => g - withdrawWithPositions[i]);
  return {
    openFirst,
    openIncrease,
    openReduce,
    closePosition,
    withdrawWithPositions,
    marginalPerPosition,
    withdrawTxHashes,
  };
}
