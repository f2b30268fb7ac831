import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre, { ethers } from "hardhat";
import { loadFixture, takeSnapshot, time } from "@nomicfoundation/hardhat-network-helpers";
import { deployLocal, type LocalProtocol } from "../src/deploy/local";
import * as mm from "../src/math/margin";
import { mulDivDown, mulDivUp, wDivDown } from "../src/math/fixedPoint";
import { readAccountSnapshot } from "../src/protocol/margin";
import {
  ContractRevertError,
  CrossmarginClient,
  CrossmarginError,
  DEPLOYMENT_SCHEMA,
  NoCodeError,
  ReadOnlyRunnerError,
  WrongChainError,
  priceLimitFor,
  queryInChunks,
  type Deployment,
  type Liquidation,
  type PositionChange,
  type ProtocolAddresses,
} from "../sdk/src";
import { connectFromRegistry, loadDeployment } from "../sdk/src/node";
import { units } from "./shared/fixtures";

const E = (n: number | bigint) => units(n, 18);
const USDC = (n: number | bigint) => units(n, 6);
const ETH = 1n;
const BTC = 2n;
/** One answer of an 8-decimal feed, in WAD. */
const FEED_STEP = 10n ** 10n;

/** A registry entry for the in-process deployment (or a pretend one on another chain). */
function registryEntry(p: ProtocolAddresses, chainId: number, settlement: string, startBlock = 0): Deployment {
  const at = (address: string) => ({ address, blockNumber: 0, transactionHash: ethers.ZeroHash });
  const token = {
    symbol: "USDC",
    address: settlement,
    decimals: 6,
    oracle: ethers.ZeroAddress,
    feed: ethers.ZeroAddress,
  };
  return {
    schema: DEPLOYMENT_SCHEMA,
    chainId,
    network: "hardhat",
    module: "Protocol",
    deploymentId: "test",
    startBlock,
    contracts: {
      Vault: at(p.vault),
      ClearingHouse: at(p.clearingHouse),
      MarginLens: at(p.lens),
      LiquidityPool: at(p.pool),
    },
    settlementToken: token,
    collateral: [],
    markets: [],
    parameters: {},
  };
}

/** The rejection of `promise` (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  expect.fail("expected a rejection");
}

async function revertOf(promise: Promise<unknown>): Promise<ContractRevertError> {
  const error = await rejection(promise);
  expect(error).to.be.instanceOf(ContractRevertError);
  return error as ContractRevertError;
}

async function deployed() {
  const p = await deployLocal(hre);
  const [, alice, bob, keeper] = await ethers.getSigners();
  const addresses: ProtocolAddresses = {
    vault: await p.vault.getAddress(),
    clearingHouse: await p.clearingHouse.getAddress(),
    lens: await p.lens.getAddress(),
    pool: await p.pool.getAddress(),
  };
  const client = await CrossmarginClient.connect(alice, { addresses });
  const usdc = await p.usdc.getAddress();
  const weth = await p.weth.getAddress();
  for (const signer of [alice, bob]) {
    await p.usdc.mint(signer.address, USDC(1_000_000));
    await p.weth.mint(signer.address, E(1_000));
  }
  return { p, alice, bob, keeper, addresses, client, usdc, weth };
}

/** Alice: a Cross account with 10,000 USDC, deposited through the contracts. */
async function trader() {
  const f = await deployed();
  const { p, alice } = f;
  await p.vault.connect(alice).createAccount(0);
  const account = await p.vault.accountCount();
  await p.usdc.connect(alice).approve(p.vault, USDC(10_000));
  await p.vault.connect(alice).deposit(account, p.usdc, USDC(10_000));
  return { ...f, account };
}

/** An account of alice's with `collateral` deposited and `size` ETH-PERP opened. */
async function openWith(
  f: Awaited<ReturnType<typeof deployed>>,
  collateral: { usdc?: bigint; weth?: bigint },
  size: bigint,
): Promise<bigint> {
  const { accountId } = await f.client.createAccount("isolated");
  if (collateral.usdc) await f.client.deposit(accountId, f.usdc, collateral.usdc);
  if (collateral.weth) await f.client.deposit(accountId, f.weth, collateral.weth);
  await f.client.openPosition(accountId, ETH, size);
  return accountId;
}

/**
 * Sets the ETH feed to the last answer at which the account is liquidatable (`liq` rounded to the
 * feed's 8 decimals, down for a long, up for a short) and to the next answer past it, each in a
 * block at time `t`, and checks MarginLens says liquidatable / not liquidatable.
 */
async function expectBoundary(p: LocalProtocol, accountId: bigint, liq: bigint, isLong: boolean, t: bigint) {
  const inside = isLong ? liq / FEED_STEP : (liq + FEED_STEP - 1n) / FEED_STEP;
  const outside = isLong ? inside + 1n : inside - 1n;
  for (const [answer, liquidatable] of [
    [inside, true],
    [outside, false],
  ] as const) {
    const snapshot = await takeSnapshot();
    await time.setNextBlockTimestamp(t);
    await p.ethFeed.updateAnswer(answer);
    expect((await p.lens.health(accountId)).liquidatable, `feed answer ${answer}`).to.equal(liquidatable);
    await snapshot.restore();
  }
}

async function waitFor(condition: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) expect.fail("timed out waiting for an event");
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe("SDK: CrossmarginClient", () => {
  describe("connect", () => {
    it("connects with addresses: typed contracts, chain id, no deployment", async () => {
      const { client, addresses } = await loadFixture(deployed);
      expect(client.chainId).to.equal(31337n);
      expect(client.addresses).to.deep.equal(addresses);
      expect(client.deployment).to.equal(undefined);
      expect(await client.clearingHouse.marketCount()).to.equal(3n);
      expect(await client.lens.clearingHouse()).to.equal(addresses.clearingHouse);
    });

    it("refuses a deployment of another chain, naming both chain ids", async () => {
      const { alice, addresses, usdc } = await loadFixture(deployed);
      const error = await rejection(
        CrossmarginClient.connect(alice, { deployment: registryEntry(addresses, 11155111, usdc) }),
      );
      expect(error).to.be.instanceOf(WrongChainError);
      expect((error as Error).message).to.match(/chain 11155111 .* chain 31337/);
    });

    it("picks the chain's entry from a registry, and says which chains it has when none fits", async () => {
      const { alice, addresses, usdc } = await loadFixture(deployed);
      const entries = [registryEntry(addresses, 1, usdc), registryEntry(addresses, 31337, usdc, 7)];
      const client = await CrossmarginClient.connect(alice, { chainId: 31337, deployments: entries });
      expect(client.deployment?.chainId).to.equal(31337);
      expect(client.startBlock).to.equal(7);
      const error = await rejection(CrossmarginClient.connect(alice, { chainId: 5n, deployments: { 1: entries[0] } }));
      expect(error).to.be.instanceOf(CrossmarginError);
      expect((error as Error).message).to.contain("no deployment for chain 5 in the registry (it has: 1)");
    });

    it("refuses a Vault address without code (wrong network or restarted node)", async () => {
      const { alice, addresses } = await loadFixture(deployed);
      const nowhere = ethers.Wallet.createRandom().address;
      const error = await rejection(CrossmarginClient.connect(alice, { addresses: { ...addresses, vault: nowhere } }));
      expect(error).to.be.instanceOf(NoCodeError);
      expect((error as Error).message).to.equal(
        `no Vault at ${nowhere} on chain 31337: wrong network, or the node was restarted — redeploy (npm run deploy:local)`,
      );
    });

    it("node: loadDeployment says how to deploy when the registry file is missing; connectFromRegistry reads it", async () => {
      const { alice, addresses, usdc } = await loadFixture(deployed);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "crossmargin-sdk-"));
      try {
        const error = await rejection(Promise.resolve().then(() => loadDeployment(31337, dir)));
        expect((error as Error).message).to.match(
          /^no .*31337\.json: deploy first — npm run node, then npm run deploy:local$/,
        );
        fs.writeFileSync(path.join(dir, "31337.json"), JSON.stringify(registryEntry(addresses, 31337, usdc, 3)));
        const client = await connectFromRegistry(alice, { dir });
        expect(client.deployment?.startBlock).to.equal(3);
        expect(client.addresses).to.deep.equal(addresses);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("accounts and collateral", () => {
    it("createAccount returns the new id from AccountCreated; accountsOf lists the owner's accounts only", async () => {
      const { client, p, bob } = await loadFixture(deployed);
      const cross = await client.createAccount("cross");
      await p.vault.connect(bob).createAccount(0);
      const isolated = await client.createAccount("isolated");
      expect([cross.accountId, isolated.accountId]).to.deep.equal([1n, 3n]);
      expect(await p.vault.accountMode(isolated.accountId)).to.equal(1n);
      expect(cross.receipt.status).to.equal(1);
      expect(await client.accountsOf(await client.vault.ownerOf(1))).to.deep.equal([1n, 3n]);
      expect(await client.accountsOf(bob.address)).to.deep.equal([2n]);
    });

    it("deposit approves exactly the amount when the allowance is short, and not when it suffices", async () => {
      const { client, p, alice, usdc, addresses } = await loadFixture(deployed);
      const { accountId } = await client.createAccount("cross");
      expect(await p.usdc.allowance(alice.address, addresses.vault)).to.equal(0n);
      const first = await client.deposit(accountId, usdc, USDC(3_000));
      expect(first.approval).to.not.equal(null);
      const approved = p.usdc.interface.parseLog(first.approval!.logs[0])!;
      expect(approved.name).to.equal("Approval");
      expect(approved.args.value).to.equal(USDC(3_000));
      expect(await p.usdc.allowance(alice.address, addresses.vault)).to.equal(0n);

      await p.usdc.connect(alice).approve(addresses.vault, USDC(7_000));
      const second = await client.deposit(accountId, usdc, USDC(7_000));
      expect(second.approval).to.equal(null);
      expect(second.receipt.status).to.equal(1);

      const b = await client.balances(accountId);
      expect(b.quoteBalance).to.equal(E(10_000));
      expect(b.holdings).to.deep.equal([]);
      expect(b.collateralValue).to.equal(await p.vault.collateralValue(accountId));
      expect(b.owner).to.equal(alice.address);
      expect(b.mode).to.equal("cross");
    });

    it("balances value WETH with its haircut exactly as Vault.collateralValue", async () => {
      const { client, p, weth } = await loadFixture(trader);
      const { accountId } = await client.createAccount("cross");
      await client.deposit(accountId, weth, 1_234_567_890_123_456_789n);
      await client.deposit(accountId, await p.usdc.getAddress(), USDC(5));
      const b = await client.balances(accountId);
      expect(b.holdings.map((h) => [h.symbol, h.decimals, h.balance, h.price, h.haircut])).to.deep.equal([
        ["WETH", 18, 1_234_567_890_123_456_789n, E(3_000), E(1) / 10n],
      ]);
      expect(b.collateralValue).to.equal(await p.vault.collateralValue(accountId));
      expect(b.rawValue).to.equal(await p.vault.rawCollateralValue(accountId));
      expect(b.holdings[0].haircutValue).to.equal(b.collateralValue - E(5));
    });

    it("withdraw pays the signer by default; transferCollateral moves WETH between two own accounts", async () => {
      const { client, p, alice, usdc, weth, account } = await loadFixture(trader);
      const before = await p.usdc.balanceOf(alice.address);
      await client.withdraw(account, usdc, USDC(1_000));
      expect((await p.usdc.balanceOf(alice.address)) - before).to.equal(USDC(1_000));
      expect((await client.balances(account)).quoteBalance).to.equal(E(9_000));

      const { accountId: isolated } = await client.createAccount("isolated");
      await client.deposit(account, weth, E(2));
      await client.transferCollateral(account, isolated, weth, E(1) / 2n);
      const [from, to] = [await client.balances(account), await client.balances(isolated)];
      expect(from.holdings[0].balance).to.equal(E(3) / 2n);
      expect(to.holdings[0].balance).to.equal(E(1) / 2n);
      expect(to.collateralValue).to.equal(await p.vault.collateralValue(isolated));
    });

    it("a withdrawal above the balance throws ContractRevertError InsufficientBalance with its arguments", async () => {
      const { client, usdc, account } = await loadFixture(trader);
      const error = await revertOf(client.withdraw(account, usdc, USDC(10_001)));
      expect([error.contract, error.method, error.errorName]).to.deep.equal([
        "Vault",
        "withdraw",
        "InsufficientBalance",
      ]);
      expect(error.args).to.deep.equal([account, usdc, USDC(10_000), USDC(10_001)]);
      expect(error.namedArgs.available).to.equal(USDC(10_000));
      expect(error.message).to.contain("Vault.withdraw reverted: InsufficientBalance(accountId=1");
    });
  });

  describe("trading", () => {
    it("openPosition sends the previewed fill plus slippage (buy: up) and returns the PositionChanged event", async () => {
      const { client, p, account } = await loadFixture(trader);
      const preview = await client.previewTrade(account, ETH, E(2));
      const result = await client.openPosition(account, ETH, E(2), { slippageBps: 30 });
      const sent = p.clearingHouse.interface.parseTransaction(
        (await ethers.provider.getTransaction(result.receipt.hash))!,
      )!;
      expect(sent.name).to.equal("openPosition");
      expect(sent.args.priceLimit).to.equal(mulDivUp(preview.fillPrice, 10_030n, 10_000n));
      expect(result.priceLimit).to.equal(sent.args.priceLimit);
      expect(result.preview).to.deep.equal(preview);
      expect(result.trade).to.include({ accountId: account, marketId: ETH, sizeDelta: E(2), newSize: E(2) });
      expect(result.trade.fillPrice).to.equal(preview.fillPrice);
      expect(result.trade.fee).to.equal(preview.fee);
      expect(result.trade.transactionHash).to.equal(result.receipt.hash);
    });

    it("a sell's limit is the fill minus slippage rounded down (default 50 bps), and never 0", async () => {
      const { client, account } = await loadFixture(trader);
      const preview = await client.previewTrade(account, BTC, -E(1) / 10n);
      const result = await client.openPosition(account, BTC, -E(1) / 10n);
      expect(result.priceLimit).to.equal(mulDivDown(preview.fillPrice, 9_950n, 10_000n));
      expect(result.trade.newSize).to.equal(-E(1) / 10n);
      expect(priceLimitFor(E(3_000), false, 10_000)).to.equal(1n);
      expect(() => priceLimitFor(E(3_000), true, 10_001)).to.throw(
        CrossmarginError,
        /slippageBps must be from 0 to 10000/,
      );
    });

    it("a trade whose price limit is exceeded throws ContractRevertError PriceLimitExceeded(fill, limit)", async () => {
      const { client, account } = await loadFixture(trader);
      const preview = await client.previewTrade(account, ETH, E(1));
      const error = await revertOf(client.openPosition(account, ETH, E(1), { priceLimit: preview.fillPrice - 1n }));
      expect([error.contract, error.method, error.errorName]).to.deep.equal([
        "ClearingHouse",
        "openPosition",
        "PriceLimitExceeded",
      ]);
      expect(error.args).to.deep.equal([preview.fillPrice, preview.fillPrice - 1n]);
      expect(error.message).to.contain("raise slippageBps");
    });

    it("decodes a Vault error raised inside a ClearingHouse call, and a margin failure", async () => {
      const { client, bob, addresses, account } = await loadFixture(trader);
      const bobClient = await CrossmarginClient.connect(bob, { addresses });
      const notOwner = await revertOf(bobClient.openPosition(account, ETH, E(1)));
      expect(notOwner.errorName).to.equal("NotAccountOwnerOrOperator");
      expect(notOwner.args).to.deep.equal([account, bob.address]);
      // MarginLens.previewTrade does not check authorization; the ClearingHouse's call into the Vault does
      expect(notOwner.method).to.equal("openPosition");
      const tooBig = await revertOf(client.openPosition(account, ETH, E(100)));
      expect(tooBig.errorName).to.equal("InsufficientMargin");
      expect(tooBig.message).to.contain("deposit more collateral");
    });

    it("closePosition previews the opposite trade, sends its limit and leaves no position", async () => {
      const { client, p, account } = await loadFixture(trader);
      await client.openPosition(account, ETH, E(3));
      const preview = await client.previewTrade(account, ETH, -E(3));
      const result = await client.closePosition(account, ETH, { slippageBps: 100 });
      const sent = p.clearingHouse.interface.parseTransaction(
        (await ethers.provider.getTransaction(result.receipt.hash))!,
      )!;
      expect(sent.name).to.equal("closePosition");
      expect(sent.args.priceLimit).to.equal(mulDivDown(preview.fillPrice, 9_900n, 10_000n));
      expect(result.trade).to.include({ sizeDelta: -E(3), newSize: 0n, newOpenNotional: 0n });
      expect(await client.positions(account)).to.deep.equal([]);
      const error = await rejection(client.closePosition(account, ETH));
      expect((error as Error).message).to.contain(`account ${account} holds no position in market 1`);
    });

    it("positions and health equal the contracts' views to the wei, with funding pending", async () => {
      const { client, p, account, weth } = await loadFixture(trader);
      await client.deposit(account, weth, E(2));
      const long = await client.openPosition(account, ETH, E(10));
      await client.openPosition(account, BTC, -E(1) / 10n);
      await time.increase(86_400);
      await p.ethFeed.updateAnswer(units(3_100, 8));
      await p.btcFeed.updateAnswer(units(60_000, 8));

      const [positions, health, balances] = [
        await client.positions(account),
        await client.health(account),
        await client.balances(account),
      ];
      const lens = await p.lens.health(account);
      const margin = await p.clearingHouse.accountMargin(account);
      expect(positions.map((x) => [x.marketId, x.side])).to.deep.equal([
        [ETH, "long"],
        [BTC, "short"],
      ]);
      for (const x of positions) {
        const [size, openNotional] = await p.clearingHouse.positionOf(account, x.marketId);
        expect([x.size, x.openNotional]).to.deep.equal([size, openNotional]);
        expect(x.fundingIndex).to.equal((await p.clearingHouse.marketState(x.marketId)).fundingIndex);
        expect(x.entryFundingIndex).to.equal(await p.clearingHouse.positionFundingIndex(account, x.marketId));
        expect(x.pendingFunding).to.not.equal(0n);
      }
      expect(positions[0].price).to.equal(await p.ethOracle.price());
      expect(positions[0].entryPrice).to.equal(long.trade.fillPrice);
      expect(positions[0].unrealizedPnl).to.equal(mm.unrealizedPnl(E(10), positions[0].openNotional, E(3_100)));
      expect(positions[0].notional + positions[1].notional).to.equal(margin.notional);
      expect(balances.collateralValue).to.equal(await p.vault.collateralValue(account));
      const equity = positions.reduce((s, x) => s + x.unrealizedPnl - x.pendingFunding, balances.collateralValue);
      expect(equity).to.equal(lens.equity);
      expect(health).to.deep.equal({
        equity: lens.equity,
        maintenanceMargin: lens.maintenanceMargin,
        initialMargin: lens.initialMargin,
        freeCollateral: lens.freeCollateral,
        liquidatable: lens.liquidatable,
        marginRatio: wDivDown(lens.equity, lens.maintenanceMargin),
      });
      expect(positions[0].liquidationPrice).to.equal(await client.liquidationPrice(account, ETH));
    });

    it("funding: the accruing rate, its daily cost per unit, skew and open interest", async () => {
      const { client, p, account, bob, addresses } = await loadFixture(trader);
      await client.openPosition(account, ETH, E(10));
      const bobClient = await CrossmarginClient.connect(bob, { addresses });
      const { accountId: bobAccount } = await bobClient.createAccount("cross");
      await bobClient.deposit(bobAccount, await p.usdc.getAddress(), USDC(10_000));
      await bobClient.openPosition(bobAccount, ETH, -E(4));
      const f = await client.funding(ETH);
      const state = await p.clearingHouse.marketState(ETH);
      const params = await p.clearingHouse.marketParams(ETH);
      expect(f.skew).to.equal(E(6));
      expect([f.longOpenInterest, f.shortOpenInterest]).to.deep.equal([E(10), E(4)]);
      expect(f.fundingRatePerDay).to.equal(state.fundingRate);
      expect(f.fundingRatePerDay).to.equal(mm.fundingRate(E(6), params.skewScale, params.maxFundingRatePerDay));
      expect(f.fundingRatePerDay).to.be.greaterThan(0n);
      expect(f.fundingPerUnitPerDay).to.equal(mm.fundingIndexDelta(f.fundingRatePerDay, E(3_000), 86_400n));
      expect(f.fundingIndex).to.equal(state.fundingIndex);
      expect(f.lastFundingTime).to.equal(state.lastFundingTime);
      await time.increase(3_600);
      const later = await client.funding(ETH);
      const elapsed = BigInt(await time.latest()) - f.lastFundingTime;
      expect(later.fundingIndex - f.fundingIndex).to.equal(
        mm.fundingIndexDelta(f.fundingRatePerDay, E(3_000), elapsed),
      );
    });
  });

  describe("liquidationPrice", () => {
    for (const [label, size] of [
      ["long", E(10)],
      ["short", -E(10)],
    ] as const) {
      it(`USDC collateral, ${label}: liquidatable at the returned price's feed answer, not one answer past it`, async () => {
        const f = await loadFixture(deployed);
        const accountId = await openWith(f, { usdc: USDC(2_000) }, size);
        // funding accrues (the skew is the account's own): ask for the price at a fixed later time
        await time.increase(3_600);
        const t = BigInt(await time.latest()) + 10n;
        const liq = await f.client.liquidationPrice(accountId, ETH, { timestamp: t });
        if (liq === null) throw new Error("expected a liquidation price");
        // 1,985 + 10 (p − 3,000) = 0.25 p → about 2,873 for the long; about 3,120 for the short
        expect(liq).to.be.closeTo(size > 0n ? E(2_873) : E(3_120), E(2));
        await expectBoundary(f.p, accountId, liq, size > 0n, t);
      });
    }

    it("WETH collateral on an ETH long: the WETH is revalued with the ETH price", async () => {
      const f = await loadFixture(deployed);
      const accountId = await openWith(f, { weth: E(1) }, E(10));
      const t = BigInt(await time.latest()) + 5n;
      const liq = await f.client.liquidationPrice(accountId, ETH, { timestamp: t });
      if (liq === null) throw new Error("expected a liquidation price");
      // 0.9 p − 15 + 10 (p − 3,000.15) = 0.25 p → p ≈ 2,818; holding the WETH at $2,700 would say ≈ 2,802
      expect(liq).to.be.closeTo(E(2_818), E(1));
      const snapshot = await readAccountSnapshot(f.p.vault, f.p.clearingHouse, accountId);
      const fixed = mm.liquidationPrice(
        (price) => snapshot.positions.map((x) => ({ ...x, price })),
        snapshot.collateralValue,
        snapshot.groupOffsets,
        true,
      );
      expect(liq - fixed!).to.be.greaterThan(E(10));
      await expectBoundary(f.p, accountId, liq, true, t);
    });

    it("WETH collateral on an ETH short: the WETH gain softens the short's loss as the price rises", async () => {
      const f = await loadFixture(deployed);
      const accountId = await openWith(f, { usdc: USDC(2_000), weth: E(1) }, -E(10));
      const t = BigInt(await time.latest()) + 5n;
      const liq = await f.client.liquidationPrice(accountId, ETH, { timestamp: t });
      if (liq === null) throw new Error("expected a liquidation price");
      // 0.9 p + 1,985 + 10 (2,999.85 − p) = 0.25 p → p ≈ 3,420.8
      expect(liq).to.be.closeTo(E(3_420), E(2));
      await expectBoundary(f.p, accountId, liq, false, t);
    });

    it("is null for a short that its own WETH more than covers; refuses a market without a position", async () => {
      const f = await loadFixture(deployed);
      const accountId = await openWith(f, { weth: E(10) }, -E(1));
      expect(await f.client.liquidationPrice(accountId, ETH)).to.equal(null);
      const error = await rejection(f.client.liquidationPrice(accountId, BTC));
      expect((error as Error).message).to.contain(`account ${accountId} holds no position in market 2`);
    });
  });

  describe("events", () => {
    it("a liquidation sent straight to the ClearingHouse reaches onLiquidation and liquidations()", async () => {
      const f = await loadFixture(deployed);
      const accountId = await openWith(f, { usdc: USDC(2_000) }, E(10));
      const { accountId: other } = await f.client.createAccount("cross");
      await f.client.deposit(other, f.usdc, USDC(10_000));
      const seen: Liquidation[] = [];
      const trades: PositionChange[] = [];
      const stop = await f.client.onLiquidation((l) => seen.push(l), { accountId });
      const stopOther = await f.client.onLiquidation(() => expect.fail("filtered by account"), { accountId: 99 });
      const stopTrades = await f.client.onPositionChanged((c) => trades.push(c), { marketId: ETH });
      try {
        await f.p.ethFeed.updateAnswer(units(2_850, 8));
        await (await f.p.clearingHouse.connect(f.keeper).liquidate(accountId, ETH, ethers.MaxUint256)).wait();
        await f.client.openPosition(other, ETH, E(1)); // a trade after it, for the trade listener
        await waitFor(() => seen.length === 1 && trades.length === 1);
      } finally {
        await stop();
        await stopOther();
        await stopTrades();
      }
      const l = seen[0];
      expect(l).to.include({ accountId, marketId: ETH, liquidator: f.keeper.address, price: E(2_850) });
      expect(l.closedSize).to.be.greaterThan(0n);
      expect(l.keeperReward).to.be.greaterThan(0n);
      expect(l.newSize).to.equal(E(10) - l.closedSize);
      expect((await f.p.clearingHouse.positionOf(accountId, ETH))[0]).to.equal(l.newSize);
      expect(trades[0]).to.include({ accountId: other, marketId: ETH, sizeDelta: E(1) });

      expect(await f.client.liquidations({ accountId })).to.deep.equal([l]);
      expect(await f.client.liquidations({ accountId: 99 })).to.deep.equal([]);
      expect(await f.client.positionHistory(other)).to.deep.equal([trades[0]]);
      expect((await f.client.positionHistory(accountId)).map((c) => c.sizeDelta)).to.deep.equal([E(10)]);
    });

    it("back-fills in chunks of at most the given number of blocks", async () => {
      const ranges: [number, number | "latest"][] = [];
      await queryInChunks(
        5,
        27,
        async (from, to) => {
          ranges.push([from, to]);
          return [];
        },
        10,
      );
      expect(ranges).to.deep.equal([
        [5, 14],
        [15, 24],
        [25, 27],
      ]);
      // open-ended (the default range of the history helpers): the last range runs to "latest", so
      // a block number ethers cached a moment ago cannot cut off what was just mined
      ranges.length = 0;
      await queryInChunks(5, 27, async (from, to) => (ranges.push([from, to]), []), 10, true);
      expect(ranges).to.deep.equal([
        [5, 14],
        [15, 24],
        [25, "latest"],
      ]);
    });
  });

  describe("read-only runner", () => {
    it("reads with a Provider, and refuses actions with a clear error", async () => {
      const { addresses, account } = await loadFixture(trader);
      const reader = await CrossmarginClient.connect(ethers.provider, { addresses });
      expect((await reader.health(account)).equity).to.equal(E(10_000));
      for (const action of [
        reader.createAccount("cross"),
        reader.deposit(account, addresses.vault, 1n),
        reader.openPosition(account, ETH, E(1)),
      ]) {
        const error = await rejection(action);
        expect(error).to.be.instanceOf(ReadOnlyRunnerError);
        expect((error as Error).message).to.contain("connect with a Signer to send transactions");
      }
    });
  });
});
