import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { deployLocal } from "../src/deploy/local";
import { units } from "./shared/fixtures";
import { expectConservation } from "./shared/ledger";
import { deployClearingHouse } from "./shared/protocol";

const E = (n: number | bigint) => units(n, 18);
const U = (n: number | bigint) => units(n, 6);

describe("LiquidityPool (ERC-4626 over the pool ledger)", () => {
  async function local() {
    const p = await deployLocal(hre);
    const [deployer, lp, trader, attacker] = await ethers.getSigners();
    for (const s of [lp, trader, attacker]) {
      await p.usdc.mint(s.address, U(2_000_000));
      await p.usdc.connect(s).approve(p.pool, ethers.MaxUint256);
      await p.usdc.connect(s).approve(p.vault, ethers.MaxUint256);
    }
    return { p, deployer, lp, trader, attacker, tokens: [p.usdc, p.weth, p.wbtc] };
  }

  it("is seeded with 1,000,000 USDC by the deployer and prices shares at 1 USDC per 10^6 shares", async () => {
    const { p, deployer } = await loadFixture(local);
    expect(await p.pool.totalAssets()).to.equal(U(1_000_000));
    expect(await p.vault.poolBalance()).to.equal(E(1_000_000));
    expect(await p.pool.balanceOf(deployer.address)).to.equal(U(1_000_000) * 10n ** 6n);
    expect(await p.pool.asset()).to.equal(await p.usdc.getAddress());
    expect(await p.pool.decimals()).to.equal(12);
  });

  it("deposit and redeem move the Vault's pool ledger and keep conservation", async () => {
    const { p, lp, tokens } = await loadFixture(local);
    await expect(p.pool.connect(lp).deposit(U(50_000), lp.address)).to.emit(p.vault, "PoolFundsMoved");
    expect(await p.vault.poolBalance()).to.equal(E(1_050_000));
    expect(await p.usdc.balanceOf(p.pool)).to.equal(0n); // nothing stays in the pool contract
    await expectConservation(p.vault, tokens);
    const shares = await p.pool.balanceOf(lp.address);
    await p.pool.connect(lp).redeem(shares, lp.address, lp.address);
    expect(await p.usdc.balanceOf(lp.address)).to.equal(U(2_000_000));
    await expectConservation(p.vault, tokens);
  });

  it("fees raise the share price; a trader's realized profit lowers it", async () => {
    const { p, lp, trader } = await loadFixture(local);
    await p.pool.connect(lp).deposit(U(100_000), lp.address);
    const assetsPerShare = async () => p.pool.convertToAssets(10n ** 18n);
    const start = await assetsPerShare();
    await p.vault.connect(trader).createAccount(0);
    const id = await p.vault.accountCount();
    await p.vault.connect(trader).deposit(id, p.usdc, U(100_000));
    await p.clearingHouse.connect(trader).openPosition(id, 1, E(100), 0);
    const afterFee = await assetsPerShare();
    expect(afterFee).to.be.gt(start);
    await p.ethFeed.updateAnswer(units(3_600, 8));
    await p.clearingHouse.connect(trader).closePosition(id, 1, 0);
    expect(await assetsPerShare()).to.be.lt(afterFee);
  });

  it("keeps back what open positions' unrealized profit needs: withdrawals beyond revert ERC4626ExceededMaxWithdraw", async () => {
    const { p, deployer, trader } = await loadFixture(local);
    await p.vault.connect(trader).createAccount(0);
    const id = await p.vault.accountCount();
    await p.vault.connect(trader).deposit(id, p.usdc, U(1_000_000));
    await p.clearingHouse.connect(trader).openPosition(id, 2, E(100), 0); // 100 BTC long, $6M
    await p.btcFeed.updateAnswer(units(66_000, 8)); // +10 %: traders are up ≈ $600k − premium
    const reserve = await p.pool.reserveRequired();
    const [size, openNotional] = await p.clearingHouse.positionOf(id, 2);
    // reserve = skew × price + Σ openNotional, rounded up to USDC units
    const owed = (size * E(66_000)) / 10n ** 18n + openNotional;
    expect(reserve).to.equal((owed + 10n ** 12n - 1n) / 10n ** 12n);
    const available = await p.pool.withdrawable();
    expect(available).to.equal((await p.pool.totalAssets()) - reserve);
    expect(await p.pool.maxWithdraw(deployer.address)).to.equal(available);
    await expect(p.pool.withdraw(available + 1n, deployer.address, deployer.address))
      .to.be.revertedWithCustomError(p.pool, "ERC4626ExceededMaxWithdraw")
      .withArgs(deployer.address, available + 1n, available);
    await p.pool.withdraw(available, deployer.address, deployer.address);
    // the trader can still take the profit out
    await p.clearingHouse.connect(trader).closePosition(id, 2, 0);
    const quote = await p.vault.quoteBalance(id);
    await p.vault.connect(trader).withdraw(id, p.usdc, quote / 10n ** 12n, trader.address);
  });

  it("donations to the pool contract or the Vault do not move the share price", async () => {
    const { p, attacker } = await loadFixture(local);
    const price = await p.pool.convertToAssets(10n ** 18n);
    await p.usdc.connect(attacker).transfer(p.pool, U(500_000));
    await p.usdc.connect(attacker).transfer(p.vault, U(500_000));
    expect(await p.pool.convertToAssets(10n ** 18n)).to.equal(price);
    expect(await p.pool.totalAssets()).to.equal(U(1_000_000));
  });

  it("resists share inflation: a first depositor's 1-unit deposit plus a ledger donation cannot zero a victim's shares", async () => {
    // a fresh pool with nothing in it, over the same Vault contracts as a new deployment would be
    const { p, attacker, lp } = await loadFixture(local);
    const vault = await ethers.deployContract("Vault", [await p.usdc.getAddress(), attacker.address, attacker.address]);
    const ch = await deployClearingHouse(await vault.getAddress(), attacker.address, attacker.address);
    await vault.connect(attacker).setClearingHouse(ch);
    const pool = await ethers.deployContract("LiquidityPool", [await vault.getAddress(), await ch.getAddress()]);
    await vault.connect(attacker).setLiquidityPool(pool);
    await p.usdc.connect(attacker).approve(pool, ethers.MaxUint256);
    await p.usdc.connect(lp).approve(pool, ethers.MaxUint256);
    await pool.connect(attacker).deposit(1n, attacker.address);
    // direct donations are not counted; the only way to raise the ledger is a real deposit
    await p.usdc.connect(attacker).transfer(vault, U(1_000_000));
    await pool.connect(lp).deposit(U(10_000), lp.address);
    expect(await pool.balanceOf(lp.address)).to.be.gt(0n);
    expect(await pool.maxWithdraw(lp.address)).to.be.gte(U(10_000) - 1n);
  });
});
