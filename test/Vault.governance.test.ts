import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { PAUSE_DEPOSIT, PAUSE_TRADE, PAUSE_WITHDRAW, WAD, fundAccount, units, vaultFixture } from "./shared/fixtures";
import { expectConservation, expectUnchanged, snapshotLedger } from "./shared/ledger";

const HASH = (name: string) => ethers.encodeBytes32String(name);

describe("Vault: governance and ledgers", () => {
  describe("constructor", () => {
    it("reverts ZeroAddress for a zero settlement token and InvalidDecimals above 18", async () => {
      const [owner] = await ethers.getSigners();
      const factory = await ethers.getContractFactory("Vault");
      await expect(factory.deploy(ethers.ZeroAddress, owner.address, owner.address)).to.be.revertedWithCustomError(
        factory,
        "ZeroAddress",
      );
      const token19 = await ethers.deployContract("MockERC20", ["Nineteen", "N19", 19]);
      await expect(factory.deploy(token19, owner.address, owner.address))
        .to.be.revertedWithCustomError(factory, "InvalidDecimals")
        .withArgs(await token19.getAddress(), 19);
    });
  });

  describe("listCollateral / setCollateralConfig", () => {
    it("lists a token with its decimals and index and emits CollateralConfigured", async () => {
      const f = await loadFixture(vaultFixture);
      const token = await ethers.deployContract("MockERC20", ["Six", "SIX", 6]);
      await expect(f.vault.listCollateral(token, f.ethOracle, WAD / 4n, 1_000n))
        .to.emit(f.vault, "CollateralConfigured")
        .withArgs(await token.getAddress(), await f.ethOracle.getAddress(), WAD / 4n, 1_000n, true);
      const config = await f.vault.collateralConfig(token);
      expect(config.decimals).to.equal(6);
      expect(config.index).to.equal(6);
      expect(config.listed).to.equal(true);
      expect(config.enabled).to.equal(true);
      expect((await f.vault.collateralTokens()).at(-1)).to.equal(await token.getAddress());
    });

    it("rejects bad listings with named errors and changes nothing", async () => {
      const f = await loadFixture(vaultFixture);
      const before = await f.vault.collateralTokens();
      const fresh = await ethers.deployContract("MockERC20", ["Fresh", "FRESH", 18]);
      const token19 = await ethers.deployContract("MockERC20", ["Nineteen", "N19", 19]);
      await expect(f.vault.listCollateral(f.usdc, f.ethOracle, 0, 1))
        .to.be.revertedWithCustomError(f.vault, "InvalidCollateralToken")
        .withArgs(await f.usdc.getAddress());
      await expect(f.vault.listCollateral(f.weth, f.ethOracle, 0, 1))
        .to.be.revertedWithCustomError(f.vault, "InvalidCollateralToken")
        .withArgs(await f.weth.getAddress());
      await expect(f.vault.listCollateral(token19, f.ethOracle, 0, 1))
        .to.be.revertedWithCustomError(f.vault, "InvalidDecimals")
        .withArgs(await token19.getAddress(), 19);
      await expect(f.vault.listCollateral(fresh, ethers.ZeroAddress, 0, 1)).to.be.revertedWithCustomError(
        f.vault,
        "ZeroAddress",
      );
      await expect(f.vault.listCollateral(fresh, f.ethOracle, (WAD * 99n) / 100n, 1))
        .to.be.revertedWithCustomError(f.vault, "InvalidHaircut")
        .withArgs((WAD * 99n) / 100n);
      await expect(f.vault.listCollateral(fresh, f.ethOracle, 0, 2n ** 128n))
        .to.be.revertedWithCustomError(f.vault, "InvalidCap")
        .withArgs(await fresh.getAddress(), 2n ** 128n, 0);
      await expect(f.vault.connect(f.alice).listCollateral(fresh, f.ethOracle, 0, 1))
        .to.be.revertedWithCustomError(f.vault, "OwnableUnauthorizedAccount")
        .withArgs(f.alice.address);
      expect(await f.vault.collateralTokens()).to.deep.equal(before);
      expect((await f.vault.collateralConfig(fresh)).listed).to.equal(false);
    });

    it("accepts the largest haircut below 99 % and reverts TooManyCollateralTokens past 16 tokens", async () => {
      const f = await loadFixture(vaultFixture);
      const listed = (await f.vault.collateralTokens()).length; // 6
      for (let i = listed; i < 16; i++) {
        const t = await ethers.deployContract("MockERC20", [`T${i}`, `T${i}`, 18]);
        await f.vault.listCollateral(t, f.ethOracle, (WAD * 99n) / 100n - 1n, 1n);
      }
      const extra = await ethers.deployContract("MockERC20", ["Extra", "X", 18]);
      await expect(f.vault.listCollateral(extra, f.ethOracle, 0, 1))
        .to.be.revertedWithCustomError(f.vault, "TooManyCollateralTokens")
        .withArgs(16);
      expect((await f.vault.collateralTokens()).length).to.equal(16);
    });

    it("values an account holding the 16th listed token (highest bit of the token mask)", async () => {
      const f = await loadFixture(vaultFixture);
      let last = f.weth;
      for (let i = 6; i < 16; i++) {
        last = await ethers.deployContract("MockERC20", [`T${i}`, `T${i}`, 18]);
        await f.vault.listCollateral(last, f.ethOracle, 0n, units(10, 18));
      }
      await fundAccount(f, last, f.alice, f.aliceCross, units(2, 18));
      await fundAccount(f, f.weth, f.alice, f.aliceCross, units(1, 18));
      expect((await f.vault.collateralConfig(last)).index).to.equal(15);
      // 2 × 3,000 (no haircut) + 1 × 3,000 × 0.9
      expect(await f.vault.collateralValue(f.aliceCross)).to.equal(units(8_700, 18));
      await f.vault.connect(f.alice).withdraw(f.aliceCross, last, units(2, 18), f.alice.address);
      expect(await f.vault.collateralValue(f.aliceCross)).to.equal(units(2_700, 18));
    });

    it("setCollateralConfig changes haircut, oracle, cap and enabled; rejects a cap below deposits", async () => {
      const f = await loadFixture(vaultFixture);
      await fundAccount(f, f.weth, f.alice, f.aliceCross, units(10, 18));
      await expect(f.vault.setCollateralConfig(f.weth, f.btcOracle, WAD / 2n, units(10, 18), false))
        .to.emit(f.vault, "CollateralConfigured")
        .withArgs(await f.weth.getAddress(), await f.btcOracle.getAddress(), WAD / 2n, units(10, 18), false);
      // 10 WETH now priced by the BTC oracle at 60,000, half counted
      expect(await f.vault.collateralValue(f.aliceCross)).to.equal(units(300_000, 18));
      await expect(f.vault.setCollateralConfig(f.weth, f.ethOracle, 0, units(10, 18) - 1n, true))
        .to.be.revertedWithCustomError(f.vault, "InvalidCap")
        .withArgs(await f.weth.getAddress(), units(10, 18) - 1n, units(10, 18));
      const other = await ethers.deployContract("MockERC20", ["Other", "OTH", 18]);
      await expect(f.vault.setCollateralConfig(other, f.ethOracle, 0, 1, true))
        .to.be.revertedWithCustomError(f.vault, "UnsupportedToken")
        .withArgs(await other.getAddress());
      await expect(f.vault.connect(f.mallory).setCollateralConfig(f.weth, f.ethOracle, 0, 1, true))
        .to.be.revertedWithCustomError(f.vault, "OwnableUnauthorizedAccount")
        .withArgs(f.mallory.address);
      const config = await f.vault.collateralConfig(f.weth);
      expect(config.haircut).to.equal(WAD / 2n);
      expect(config.enabled).to.equal(false);
    });
  });

  describe("pause and guardian", () => {
    it("the guardian and the owner pause; only the owner unpauses; flags accumulate", async () => {
      const f = await loadFixture(vaultFixture);
      await expect(f.vault.connect(f.guardian).pause(PAUSE_DEPOSIT)).to.emit(f.vault, "PauseFlagsSet").withArgs(1);
      await f.vault.pause(PAUSE_WITHDRAW | PAUSE_TRADE);
      expect(await f.vault.pausedFlags()).to.equal(7);
      await expect(f.vault.connect(f.guardian).unpause(PAUSE_DEPOSIT))
        .to.be.revertedWithCustomError(f.vault, "OwnableUnauthorizedAccount")
        .withArgs(f.guardian.address);
      await f.vault.unpause(PAUSE_DEPOSIT | PAUSE_TRADE);
      expect(await f.vault.pausedFlags()).to.equal(PAUSE_WITHDRAW);
    });

    it("reverts NotGuardian for anyone else and InvalidPauseFlags for 0 or unknown bits", async () => {
      const f = await loadFixture(vaultFixture);
      await expect(f.vault.connect(f.mallory).pause(PAUSE_DEPOSIT))
        .to.be.revertedWithCustomError(f.vault, "NotGuardian")
        .withArgs(f.mallory.address);
      await expect(f.vault.connect(f.guardian).pause(0))
        .to.be.revertedWithCustomError(f.vault, "InvalidPauseFlags")
        .withArgs(0);
      await expect(f.vault.connect(f.guardian).pause(8))
        .to.be.revertedWithCustomError(f.vault, "InvalidPauseFlags")
        .withArgs(8);
      expect(await f.vault.pausedFlags()).to.equal(0);
    });

    it("the owner replaces the guardian; the old one loses the power", async () => {
      const f = await loadFixture(vaultFixture);
      await expect(f.vault.setGuardian(f.bob.address)).to.emit(f.vault, "GuardianSet").withArgs(f.bob.address);
      expect(await f.vault.guardian()).to.equal(f.bob.address);
      await expect(f.vault.connect(f.guardian).pause(PAUSE_DEPOSIT)).to.be.revertedWithCustomError(
        f.vault,
        "NotGuardian",
      );
      await f.vault.connect(f.bob).pause(PAUSE_DEPOSIT);
      await expect(f.vault.connect(f.mallory).setGuardian(f.mallory.address))
        .to.be.revertedWithCustomError(f.vault, "OwnableUnauthorizedAccount")
        .withArgs(f.mallory.address);
    });

    it("transfers ownership in two steps", async () => {
      const f = await loadFixture(vaultFixture);
      await f.vault.transferOwnership(f.bob.address);
      expect(await f.vault.owner()).to.equal(f.owner.address);
      await expect(f.vault.connect(f.mallory).acceptOwnership())
        .to.be.revertedWithCustomError(f.vault, "OwnableUnauthorizedAccount")
        .withArgs(f.mallory.address);
      await f.vault.connect(f.bob).acceptOwnership();
      expect(await f.vault.owner()).to.equal(f.bob.address);
    });
  });

  describe("wiring", () => {
    it("sets the ClearingHouse and the pool once each", async () => {
      const f = await loadFixture(vaultFixture);
      await expect(f.vault.setClearingHouse(ethers.ZeroAddress)).to.be.revertedWithCustomError(f.vault, "ZeroAddress");
      await expect(f.vault.connect(f.alice).setClearingHouse(f.alice.address)).to.be.revertedWithCustomError(
        f.vault,
        "OwnableUnauthorizedAccount",
      );
      await expect(f.vault.setClearingHouse(f.bob.address))
        .to.emit(f.vault, "ClearingHouseSet")
        .withArgs(f.bob.address);
      await expect(f.vault.setClearingHouse(f.alice.address))
        .to.be.revertedWithCustomError(f.vault, "AlreadySet")
        .withArgs(f.bob.address);
      expect(await f.vault.clearingHouse()).to.equal(f.bob.address);

      await expect(f.vault.setLiquidityPool(ethers.ZeroAddress)).to.be.revertedWithCustomError(f.vault, "ZeroAddress");
      await expect(f.vault.setLiquidityPool(f.bob.address))
        .to.emit(f.vault, "LiquidityPoolSet")
        .withArgs(f.bob.address);
      await expect(f.vault.setLiquidityPool(f.alice.address))
        .to.be.revertedWithCustomError(f.vault, "AlreadySet")
        .withArgs(f.bob.address);
      expect(await f.vault.liquidityPool()).to.equal(f.bob.address);
    });
  });

  describe("ledgers", () => {
    it("insurance: anyone funds it, only the owner takes from it, never more than it holds", async () => {
      const f = await loadFixture(vaultFixture);
      await f.usdc.mint(f.alice.address, units(1_000, 6));
      await f.usdc.connect(f.alice).approve(f.vault, units(1_000, 6));
      await expect(f.vault.connect(f.alice).depositInsurance(units(1_000, 6)))
        .to.emit(f.vault, "InsuranceDeposited")
        .withArgs(f.alice.address, units(1_000, 6));
      expect(await f.vault.insuranceFund()).to.equal(units(1_000, 18));
      await expectConservation(f.vault, f.tokens);

      const before = await snapshotLedger(f.vault, f.tokens, [f.owner.address]);
      await expect(f.vault.connect(f.alice).withdrawInsurance(f.usdc, 1n, f.alice.address))
        .to.be.revertedWithCustomError(f.vault, "OwnableUnauthorizedAccount")
        .withArgs(f.alice.address);
      await expect(f.vault.withdrawInsurance(f.usdc, units(1_000, 6) + 1n, f.owner.address))
        .to.be.revertedWithCustomError(f.vault, "InsufficientLedger")
        .withArgs(HASH("insurance"), units(1_000, 18), units(1_000, 18) + 10n ** 12n);
      await expect(f.vault.withdrawInsurance(f.weth, 1n, f.owner.address))
        .to.be.revertedWithCustomError(f.vault, "InsufficientLedger")
        .withArgs(HASH("insuranceToken"), 0, 1);
      await expect(f.vault.withdrawInsurance(f.usdc, 0, f.owner.address)).to.be.revertedWithCustomError(
        f.vault,
        "ZeroAmount",
      );
      await expect(f.vault.withdrawInsurance(f.usdc, 1n, ethers.ZeroAddress)).to.be.revertedWithCustomError(
        f.vault,
        "ZeroAddress",
      );
      await expect(f.vault.connect(f.alice).depositInsurance(0)).to.be.revertedWithCustomError(f.vault, "ZeroAmount");
      await expectUnchanged(before, f.vault, f.tokens, [f.owner.address]);

      await expect(f.vault.withdrawInsurance(f.usdc, units(400, 6), f.owner.address))
        .to.emit(f.vault, "InsuranceWithdrawn")
        .withArgs(await f.usdc.getAddress(), f.owner.address, units(400, 6));
      expect(await f.vault.insuranceFund()).to.equal(units(600, 18));
      expect(await f.usdc.balanceOf(f.owner.address)).to.equal(units(400, 6));
      await expectConservation(f.vault, f.tokens);
    });

    it("fees: only the owner withdraws, never more than accrued (none before trading exists)", async () => {
      const f = await loadFixture(vaultFixture);
      await expect(f.vault.withdrawFees(1n, f.owner.address))
        .to.be.revertedWithCustomError(f.vault, "InsufficientLedger")
        .withArgs(HASH("fees"), 0, 10n ** 12n);
      await expect(f.vault.connect(f.alice).withdrawFees(1n, f.alice.address))
        .to.be.revertedWithCustomError(f.vault, "OwnableUnauthorizedAccount")
        .withArgs(f.alice.address);
      await expect(f.vault.withdrawFees(0, f.owner.address)).to.be.revertedWithCustomError(f.vault, "ZeroAmount");
      await expect(f.vault.withdrawFees(1, ethers.ZeroAddress)).to.be.revertedWithCustomError(f.vault, "ZeroAddress");
      expect(await f.vault.feeBalance()).to.equal(0n);
    });

    it("pool: only the pool contract moves its ledger, never below zero", async () => {
      const f = await loadFixture(vaultFixture);
      const pool = f.bob; // a signer stands in for the ERC-4626 pool contract of the trading issue
      await f.vault.setLiquidityPool(pool.address);
      await f.usdc.mint(pool.address, units(5_000, 6));
      await f.usdc.connect(pool).approve(f.vault, units(5_000, 6));
      await expect(f.vault.connect(pool).poolDeposit(units(5_000, 6)))
        .to.emit(f.vault, "PoolFundsMoved")
        .withArgs(pool.address, units(5_000, 6), true);
      expect(await f.vault.poolBalance()).to.equal(units(5_000, 18));
      await expectConservation(f.vault, f.tokens);

      const before = await snapshotLedger(f.vault, f.tokens, [pool.address, f.mallory.address]);
      await expect(f.vault.connect(f.mallory).poolDeposit(1n))
        .to.be.revertedWithCustomError(f.vault, "NotLiquidityPool")
        .withArgs(f.mallory.address);
      await expect(f.vault.connect(f.mallory).poolWithdraw(f.mallory.address, 1n))
        .to.be.revertedWithCustomError(f.vault, "NotLiquidityPool")
        .withArgs(f.mallory.address);
      await expect(f.vault.connect(pool).poolWithdraw(pool.address, units(5_000, 6) + 1n))
        .to.be.revertedWithCustomError(f.vault, "InsufficientLedger")
        .withArgs(HASH("pool"), units(5_000, 18), units(5_000, 18) + 10n ** 12n);
      await expect(f.vault.connect(pool).poolWithdraw(pool.address, 0)).to.be.revertedWithCustomError(
        f.vault,
        "ZeroAmount",
      );
      await expect(f.vault.connect(pool).poolWithdraw(ethers.ZeroAddress, 1n)).to.be.revertedWithCustomError(
        f.vault,
        "ZeroAddress",
      );
      await expect(f.vault.connect(pool).poolDeposit(0)).to.be.revertedWithCustomError(f.vault, "ZeroAmount");
      await expectUnchanged(before, f.vault, f.tokens, [pool.address, f.mallory.address]);

      await expect(f.vault.connect(pool).poolWithdraw(f.alice.address, units(5_000, 6)))
        .to.emit(f.vault, "PoolFundsMoved")
        .withArgs(f.alice.address, units(5_000, 6), false);
      expect(await f.vault.poolBalance()).to.equal(0n);
      await expectConservation(f.vault, f.tokens);
    });
  });
});
