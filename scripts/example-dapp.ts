/**
 * A dApp's whole user flow through the SDK, against a local node:
 *
 *   npm run node           # terminal 1
 *   npm run deploy:local   # terminal 2: deploys and writes deployments/31337.json
 *   npm run example        # terminal 2: this script
 *
 * Plain ethers + the SDK, no Hardhat: what a dApp's backend or test script looks like. The SDK is
 * imported from sdk/src here; a dApp imports the same names from "@crossmargin/sdk" (and
 * "@crossmargin/sdk/node", "@crossmargin/sdk/typechain"). RPC_URL (default http://127.0.0.1:8545)
 * and DEPLOYMENTS_DIR (default ./deployments) point it elsewhere.
 */
import path from "node:path";
import { JsonRpcProvider, formatUnits, type JsonRpcSigner } from "ethers";
import { CrossmarginClient, type PositionChange } from "../sdk/src";
import { connectFromRegistry } from "../sdk/src/node";
import { MockAggregator__factory, MockERC20__factory } from "../typechain-types";

const RPC_URL = process.env.RPC_URL ?? "http://127.0.0.1:8545";
const DEPLOYMENTS_DIR = path.resolve(process.env.DEPLOYMENTS_DIR ?? "deployments");
/** The node's account used as the trader (account 0 deployed the protocol). */
const USER_INDEX = Number(process.env.USER_INDEX ?? 5);

const ETH_PERP = 1n;
const BTC_PERP = 2n;
const STETH_PERP = 3n;

const usd = (wad: bigint) => {
  const text = Number(formatUnits(wad < 0n ? -wad : wad, 18)).toLocaleString("en-US", {
    minimumFractionDigits: 2,
    maximumFractionDigits: 2,
  });
  return `${wad < 0n ? "-" : ""}$${text}`;
};
const amount = (wad: bigint, places = 4) => Number(formatUnits(wad, 18)).toFixed(places);
const step = (n: number, text: string) => console.log(`\n${n}. ${text}`);

async function main(): Promise<void> {
  const provider = new JsonRpcProvider(RPC_URL, undefined, { pollingInterval: 250 });
  let user: JsonRpcSigner;
  try {
    user = await provider.getSigner(USER_INDEX);
  } catch (error) {
    throw new Error(`no node at ${RPC_URL} (or it has no account ${USER_INDEX}): start one with \`npm run node\``, {
      cause: error,
    });
  }
  // the registry written by `npm run deploy:local` gives every address
  const client: CrossmarginClient = await connectFromRegistry(user, { dir: DEPLOYMENTS_DIR });
  const d = client.deployment!;
  const usdc = d.settlementToken;
  const weth = d.collateral.find((t) => t.symbol === "WETH");
  if (!weth) throw new Error(`${DEPLOYMENTS_DIR}/${d.chainId}.json lists no WETH collateral`);
  console.log(`connected to chain ${d.chainId}: Vault ${d.contracts.Vault.address}, trader ${user.address}`);
  console.log(`markets: ${d.markets.map((m) => `${m.marketId} ${m.symbol}`).join(", ")}`);

  // local chain only: the mock tokens have an open faucet
  const faucet = async (token: string, units: bigint) =>
    (await MockERC20__factory.connect(token, user).mint(user.address, units)).wait();
  await faucet(usdc.address, 20_000n * 10n ** 6n);
  await faucet(weth.address, 2n * 10n ** 18n);

  step(1, "open a cross-margin account and follow its trades");
  const { accountId } = await client.createAccount("cross");
  const trades: PositionChange[] = [];
  const unsubscribe = await client.onPositionChanged((t) => trades.push(t), { accountId });
  console.log(`   account #${accountId}`);

  step(2, "deposit 10,000 USDC and 2 WETH (the SDK approves the Vault when the allowance is short)");
  const first = await client.deposit(accountId, usdc.address, 10_000n * 10n ** 6n);
  const second = await client.deposit(accountId, weth.address, 2n * 10n ** 18n);
  console.log(`   approvals sent: USDC ${first.approval ? "yes" : "no"}, WETH ${second.approval ? "yes" : "no"}`);
  const balances = await client.balances(accountId);
  console.log(
    `   quote ${usd(balances.quoteBalance)}; ` +
      balances.holdings
        .map((h) => `${h.symbol} ${formatUnits(h.balance, h.decimals)} worth ${usd(h.haircutValue)} after haircut`)
        .join(", ") +
      `; collateral value ${usd(balances.collateralValue)}`,
  );

  step(3, "preview, then buy 5 ETH-PERP with 0.5 % slippage");
  const size = 5n * 10n ** 18n;
  const preview = await client.previewTrade(accountId, ETH_PERP, size);
  console.log(
    `   preview: fill ${usd(preview.fillPrice)}, fee ${usd(preview.fee)}, initial margin after ${usd(preview.initialMarginAfter)}, free collateral after ${usd(preview.freeCollateralAfter)}`,
  );
  const long = await client.openPosition(accountId, ETH_PERP, size, { slippageBps: 50 });
  console.log(`   filled at ${usd(long.trade.fillPrice)} (limit ${usd(long.priceLimit)}), fee ${usd(long.trade.fee)}`);

  step(4, "hedge with 5 STETH-PERP short: same correlation group, the margin requirement falls");
  const before = await client.health(accountId);
  await client.openPosition(accountId, STETH_PERP, -size, { slippageBps: 50 });
  const after = await client.health(accountId);
  console.log(`   initial margin ${usd(before.initialMargin)} → ${usd(after.initialMargin)} (hedge offset)`);

  step(5, "ETH rises 5 %: positions with PnL, funding and liquidation prices; health");
  const ethFeed = MockAggregator__factory.connect(d.markets[0].feed, user);
  const [, answer] = await ethFeed.latestRoundData();
  await (await ethFeed.updateAnswer((answer * 105n) / 100n)).wait(); // local mock feed: anyone may set it
  for (const p of await client.positions(accountId)) {
    const market = d.markets.find((m) => BigInt(m.marketId) === p.marketId)?.symbol ?? `market ${p.marketId}`;
    console.log(
      `   ${market} ${p.side} ${amount(p.size < 0n ? -p.size : p.size)} @ ${usd(p.entryPrice)}: mark ${usd(p.price)}, PnL ${usd(p.unrealizedPnl)}, ` +
        `funding owed ${usd(p.pendingFunding)}, liquidation price ${p.liquidationPrice === null ? "none" : usd(p.liquidationPrice)}`,
    );
  }
  const health = await client.health(accountId);
  const funding = await client.funding(ETH_PERP);
  console.log(
    `   equity ${usd(health.equity)}, maintenance ${usd(health.maintenanceMargin)}, margin ratio ${health.marginRatio === null ? "-" : amount(health.marginRatio, 2)}; ` +
      `ETH-PERP funding ${amount(funding.fundingRatePerDay * 100n, 4)} %/day on skew ${amount(funding.skew)}`,
  );

  step(6, "isolate a BTC trade: a second account funded by transferCollateral");
  const isolated = (await client.createAccount("isolated")).accountId;
  await client.transferCollateral(accountId, isolated, usdc.address, 2_000n * 10n ** 6n);
  const btc = await client.openPosition(isolated, BTC_PERP, -(5n * 10n ** 16n), { slippageBps: 50 });
  console.log(`   account #${isolated}: short 0.05 BTC-PERP at ${usd(btc.trade.fillPrice)}`);
  const btcLiq = await client.liquidationPrice(isolated, BTC_PERP);
  console.log(`   its liquidation price: ${btcLiq === null ? "none" : usd(btcLiq)}`);

  step(7, "close everything and withdraw");
  for (const [id, market] of [
    [accountId, ETH_PERP],
    [accountId, STETH_PERP],
    [isolated, BTC_PERP],
  ] as const) {
    const closed = await client.closePosition(id, market, { slippageBps: 50 });
    console.log(
      `   #${id} closed market ${market} at ${usd(closed.trade.fillPrice)}, realized ${usd(closed.trade.realizedPnl)}`,
    );
  }
  await client.transferCollateral(
    isolated,
    accountId,
    usdc.address,
    (await client.balances(isolated)).quoteBalance / 10n ** 12n,
  );
  const end = await client.balances(accountId);
  await client.withdraw(accountId, usdc.address, end.quoteBalance / 10n ** 12n);
  await client.withdraw(accountId, weth.address, end.holdings.find((h) => h.symbol === "WETH")?.balance ?? 0n);
  const usdcHeld = await MockERC20__factory.connect(usdc.address, provider).balanceOf(user.address);
  console.log(
    `   withdrew ${usd(end.quoteBalance)} of USDC and 2 WETH; the trader now holds ${formatUnits(usdcHeld, 6)} USDC`,
  );

  step(8, "history from the chain");
  const history = await client.positionHistory(accountId);
  console.log(
    `   account #${accountId}: ${history.length} trades (blocks ${history.map((t) => t.blockNumber).join(", ")})`,
  );
  await new Promise((resolve) => setTimeout(resolve, 600)); // let the subscription's last poll land
  await unsubscribe();
  console.log(`   seen live by onPositionChanged: ${trades.length} trades`);
  provider.destroy();
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
