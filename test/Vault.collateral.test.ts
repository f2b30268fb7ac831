import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { HEARTBEAT, PAUSE_DEPOSIT, PAUSE_WITHDRAW, WAD, fundAccount, units, vaultFixture } from "./shared/fixtures";
import { expectConservation, expectUnchanged, snapshotLedger } from "./shared/ledger";
import type { MockERC20, MockMarginHook } from "../typechain-types";

describe("Vault: collateral", () => {
  describe("deposit", () => {
    for (const [symbol, decimals, amount] of [
      ["USDC", 6, units(1_234, 6) + 567_891n],
      ["WBTC", 8, units(3, 8) + 12_345_678n],
      ["WETH", 18, units(7, 18) + 1n],
      ["ZDEC", 0, 999n],
    ] as const) {
      it(`credits a ${decimals}-decimal token (${symbol}) exactly and keeps conservation`, async () => {
        const f = await loadFixture(vaultFixture);
        const token = { USDC: f.usdc, WBTC: f.wbtc, WETH: f.weth, ZDEC: f.zdec }[symbol];
        await token.mint(f.bob.address, amount);
        await token.connect(f.bob).approve(f.vault, amount);
        // anyone may deposit for any account: bob funds alice
        await expect(f.vault.connect(f.bob).deposit(f.aliceCross, token, amount))
          .to.emit(f.vault, "Deposited")
          .withArgs(f.aliceCross, await token.getAddress(), f.bob.address, amount);
        if (symbol === "USDC") {
          expect(await f.vault.quoteBalance(f.aliceCross)).to.equal(amount * 10n ** 12n);
          expect(await f.vault.balanceOf(f.aliceCross, token)).to.equal(0n);
        } else {
          expect(await f.vault.balanceOf(f.aliceCross, token)).to.equal(amount);
          expect((await f.vault.collateralConfig(token)).totalDeposits).to.equal(amount);
        }
        expect(await token.balanceOf(f.vault)).to.equal(amount);
        await expectConservation(f.vault, f.tokens);
      });
    }

    it("values a mixed account: 1,000 USDC + 2 WETH@3,000 (−10 %) + 0.5 WBTC@60,000 (−15 %) + 3 ZDEC@5 (−20 %)", async () => {
      const f = await loadFixture(vaultFixture);
      await fundAccount(f, f.usdc, f.alice, f.aliceCross, units(1_000, 6));
      await fundAccount(f, f.weth, f.alice, f.aliceCross, units(2, 18));
      await fundAccount(f, f.wbtc, f.alice, f.aliceCross, units(1, 8) / 2n);
      await fundAccount(f, f.zdec, f.alice, f.aliceCross, 3n);
      // 1,000 + 6,000 × 0.9 + 30,000 × 0.85 + 15 × 0.8 = 1,000 + 5,400 + 25,500 + 12 = 31,912
      expect(await f.vault.collateralValue(f.aliceCross)).to.equal(units(31_912, 18));
      // without haircuts: 1,000 + 6,000 + 30,000 + 15 = 37,015
      expect(await f.vault.rawCollateralValue(f.aliceCross)).to.equal(units(37_015, 18));
      expect(await f.vault.freeCollateral(f.aliceCross)).to.equal(units(31_912, 18));
      // ETH −20 %: WETH counts 2 × 2,400 × 0.9 = 4,320, value falls by 1,080
      await f.ethFeed.updateAnswer(units(2_400, 8));
      expect(await f.vault.collateralValue(f.aliceCross)).to.equal(units(30_832, 18));
      await expectConservation(f.vault, f.tokens);
    });

    it("rounds collateral value down: 1 wei of WETH at $3,000 with a 10 % haircut is worth 2,700 wei", async () => {
      const f = await loadFixture(vaultFixture);
      await fundAccount(f, f.weth, f.alice, f.aliceCross, 1n);
      expect(await f.vault.collateralValue(f.aliceCross)).to.equal(2_700n);
      await f.ethFeed.updateAnswer(333_333_333_333n); // 3,333.33333333 → 1 wei × 3333.33333333 × 0.9 = 2999.999999997 → 2999
      expect(await f.vault.collateralValue(f.aliceCross)).to.equal(2_999n);
    });

    it("accepts a deposit that reaches the cap exactly and reverts DepositCapExceeded one unit above", async () => {
      const f = await loadFixture(vaultFixture);
      await fundAccount(f, f.zdec, f.alice, f.aliceCross, 1_000n); // cap is 1,000 units
      await f.zdec.mint(f.bob.address, 1n);
      await f.zdec.connect(f.bob).approve(f.vault, 1n);
      const before = await snapshotLedger(f.vault, f.tokens, [f.bob.address]);
      await expect(f.vault.connect(f.bob).deposit(f.bobCross, f.zdec, 1n))
        .to.be.revertedWithCustomError(f.vault, "DepositCapExceeded")
        .withArgs(await f.zdec.getAddress(), 1_000n, 1_001n);
      await expectUnchanged(before, f.vault, f.tokens, [f.bob.address]);
    });

    describe("bad input changes nothing", () => {
      async function prepared(setup?: (f: Awaited<ReturnType<typeof vaultFixture>>) => Promise<unknown>) {
        const f = await loadFixture(vaultFixture);
        await fundAccount(f, f.weth, f.alice, f.aliceCross, units(1, 18));
        await f.weth.mint(f.alice.address, units(10, 18));
        await f.weth.connect(f.alice).approve(f.vault, ethers.MaxUint256);
        if (setup) await setup(f);
        const before = await snapshotLedger(f.vault, f.tokens, [f.alice.address]);
        const unchanged = () => expectUnchanged(before, f.vault, f.tokens, [f.alice.address]);
        return { f, unchanged };
      }

      it("ZeroAmount for amount 0", async () => {
        const { f, unchanged } = await prepared();
        await expect(f.vault.connect(f.alice).deposit(f.aliceCross, f.weth, 0)).to.be.revertedWithCustomError(
          f.vault,
          "ZeroAmount",
        );
        await unchanged();
      });

      it("UnknownAccount for account 0 and for an id not yet created", async () => {
        const { f, unchanged } = await prepared();
        for (const id of [0n, 4n]) {
          await expect(f.vault.connect(f.alice).deposit(id, f.weth, 1n))
            .to.be.revertedWithCustomError(f.vault, "UnknownAccount")
            .withArgs(id);
        }
        await unchanged();
      });

      it("UnsupportedToken for a token never listed", async () => {
        let other!: MockERC20;
        const { f, unchanged } = await prepared(async (f) => {
          other = await ethers.deployContract("MockERC20", ["Other", "OTH", 18]);
          await other.mint(f.alice.address, 1n);
          await other.connect(f.alice).approve(f.vault, 1n);
        });
        await expect(f.vault.connect(f.alice).deposit(f.aliceCross, other, 1n))
          .to.be.revertedWithCustomError(f.vault, "UnsupportedToken")
          .withArgs(await other.getAddress());
        await unchanged();
      });

      it("TokenDisabled for a listed token with deposits disabled", async () => {
        const { f, unchanged } = await prepared((f) =>
          f.vault.setCollateralConfig(f.weth, f.ethOracle, WAD / 10n, units(100_000, 18), false),
        );
        await expect(f.vault.connect(f.alice).deposit(f.aliceCross, f.weth, 1n))
          .to.be.revertedWithCustomError(f.vault, "TokenDisabled")
          .withArgs(await f.weth.getAddress());
        await unchanged();
        // withdrawals of a disabled token still work
        await f.vault.connect(f.alice).withdraw(f.aliceCross, f.weth, units(1, 18), f.alice.address);
      });

      it("ActionPaused(1) while deposits are paused; resumes after unpause", async () => {
        const { f, unchanged } = await prepared();
        await f.vault.connect(f.guardian).pause(PAUSE_DEPOSIT);
        await expect(f.vault.connect(f.alice).deposit(f.aliceCross, f.weth, 1n))
          .to.be.revertedWithCustomError(f.vault, "ActionPaused")
          .withArgs(PAUSE_DEPOSIT);
        await unchanged();
        await f.vault.unpause(PAUSE_DEPOSIT);
        await f.vault.connect(f.alice).deposit(f.aliceCross, f.weth, 1n);
        expect(await f.vault.balanceOf(f.aliceCross, f.weth)).to.equal(units(1, 18) + 1n);
      });

      it("FeeOnTransferNotSupported when the Vault receives less than the amount", async () => {
        const { f, unchanged } = await prepared(async (f) => {
          await f.feeToken.mint(f.alice.address, units(1, 18));
          await f.feeToken.connect(f.alice).approve(f.vault, units(1, 18));
        });
        // 1 % fee: the Vault would receive 0.99
        await expect(f.vault.connect(f.alice).deposit(f.aliceCross, f.feeToken, units(1, 18)))
          .to.be.revertedWithCustomError(f.vault, "FeeOnTransferNotSupported")
          .withArgs(await f.feeToken.getAddress(), units(1, 18), (units(1, 18) * 99n) / 100n);
        await unchanged();
      });

      it("SafeERC20FailedOperation for a token whose transferFrom returns false", async () => {
        const { f, unchanged } = await prepared((f) => f.falseToken.mint(f.alice.address, units(1, 18)));
        await expect(f.vault.connect(f.alice).deposit(f.aliceCross, f.falseToken, units(1, 18)))
          .to.be.revertedWithCustomError(f.vault, "SafeERC20FailedOperation")
          .withArgs(await f.falseToken.getAddress());
        await unchanged();
      });

      it("ReentrancyGuardReentrantCall when the token re-enters the Vault during the transfer", async () => {
        const { f, unchanged } = await prepared(async (f) => {
          const t = f.reentrantToken;
          await t.mint(f.alice.address, units(2, 18));
          await t.connect(f.alice).approve(f.vault, units(2, 18));
          // the hook tries to withdraw alice's WETH while the deposit is in progress
          const reenter = f.vault.interface.encodeFunctionData("withdraw", [
            f.aliceCross,
            await f.weth.getAddress(),
            units(1, 18),
            f.alice.address,
          ]);
          await t.arm(f.vault, reenter);
        });
        await expect(
          f.vault.connect(f.alice).deposit(f.aliceCross, f.reentrantToken, units(1, 18)),
        ).to.be.revertedWithCustomError(f.vault, "ReentrancyGuardReentrantCall");
        await unchanged();
      });
    });
  });

  describe("withdraw", () => {
    it("returns every token to the owner, to the unit, and keeps conservation after each step", async () => {
      const f = await loadFixture(vaultFixture);
      const deposits = [
        [f.usdc, units(500, 6) + 1n],
        [f.weth, units(3, 18) + 7n],
        [f.wbtc, units(2, 8) + 3n],
        [f.zdec, 10n],
      ] as const;
      for (const [token, amount] of deposits) await fundAccount(f, token, f.alice, f.aliceCross, amount);
      for (const [token, amount] of deposits) {
        await expect(f.vault.connect(f.alice).withdraw(f.aliceCross, token, amount, f.bob.address))
          .to.emit(f.vault, "Withdrawn")
          .withArgs(f.aliceCross, await token.getAddress(), f.bob.address, amount);
        expect(await token.balanceOf(f.bob.address)).to.equal(amount);
        await expectConservation(f.vault, f.tokens);
      }
      expect(await f.vault.quoteBalance(f.aliceCross)).to.equal(0n);
      expect(await f.vault.collateralValue(f.aliceCross)).to.equal(0n);
    });

    it("works with every feed stale when the account has no positions and no debt (no price needed)", async () => {
      const f = await loadFixture(vaultFixture);
      await fundAccount(f, f.weth, f.alice, f.aliceCross, units(2, 18));
      await time.increase(HEARTBEAT + 1n);
      await expect(f.vault.collateralValue(f.aliceCross)).to.be.revertedWithCustomError(f.ethOracle, "StalePrice");
      await f.vault.connect(f.alice).withdraw(f.aliceCross, f.weth, units(1, 18), f.alice.address);
      // with the last WETH gone the account holds no priced token, so it values again
      await f.vault.connect(f.alice).withdraw(f.aliceCross, f.weth, units(1, 18), f.alice.address);
      expect(await f.vault.collateralValue(f.aliceCross)).to.equal(0n);
    });

    describe("bad input changes nothing", () => {
      async function prepared() {
        const f = await loadFixture(vaultFixture);
        await fundAccount(f, f.weth, f.alice, f.aliceCross, units(2, 18));
        await fundAccount(f, f.usdc, f.alice, f.aliceCross, units(100, 6));
        const holders = [f.alice.address, f.mallory.address];
        const before = await snapshotLedger(f.vault, f.tokens, holders);
        return { f, unchanged: () => expectUnchanged(before, f.vault, f.tokens, holders) };
      }

      it("ZeroAmount and ZeroAddress recipient", async () => {
        const { f, unchanged } = await prepared();
        await expect(
          f.vault.connect(f.alice).withdraw(f.aliceCross, f.weth, 0, f.alice.address),
        ).to.be.revertedWithCustomError(f.vault, "ZeroAmount");
        await expect(
          f.vault.connect(f.alice).withdraw(f.aliceCross, f.weth, 1n, ethers.ZeroAddress),
        ).to.be.revertedWithCustomError(f.vault, "ZeroAddress");
        await unchanged();
      });

      it("NotAccountOwner for someone else and UnknownAccount for a missing id", async () => {
        const { f, unchanged } = await prepared();
        await expect(f.vault.connect(f.mallory).withdraw(f.aliceCross, f.weth, 1n, f.mallory.address))
          .to.be.revertedWithCustomError(f.vault, "NotAccountOwner")
          .withArgs(f.aliceCross, f.mallory.address);
        await expect(f.vault.connect(f.mallory).withdraw(77, f.weth, 1n, f.mallory.address))
          .to.be.revertedWithCustomError(f.vault, "UnknownAccount")
          .withArgs(77);
        await unchanged();
      });

      it("InsufficientBalance one unit above the balance, for a token and for the settlement token", async () => {
        const { f, unchanged } = await prepared();
        await expect(f.vault.connect(f.alice).withdraw(f.aliceCross, f.weth, units(2, 18) + 1n, f.alice.address))
          .to.be.revertedWithCustomError(f.vault, "InsufficientBalance")
          .withArgs(f.aliceCross, await f.weth.getAddress(), units(2, 18), units(2, 18) + 1n);
        await expect(f.vault.connect(f.alice).withdraw(f.aliceCross, f.usdc, units(100, 6) + 1n, f.alice.address))
          .to.be.revertedWithCustomError(f.vault, "InsufficientBalance")
          .withArgs(f.aliceCross, await f.usdc.getAddress(), units(100, 6), units(100, 6) + 1n);
        await expect(f.vault.connect(f.alice).withdraw(f.aliceCross, f.wbtc, 1n, f.alice.address))
          .to.be.revertedWithCustomError(f.vault, "InsufficientBalance")
          .withArgs(f.aliceCross, await f.wbtc.getAddress(), 0, 1);
        await unchanged();
      });

      it("UnsupportedToken for a token never listed", async () => {
        const { f, unchanged } = await prepared();
        const other = await ethers.deployContract("MockERC20", ["Other", "OTH", 18]);
        await expect(f.vault.connect(f.alice).withdraw(f.aliceCross, other, 1n, f.alice.address))
          .to.be.revertedWithCustomError(f.vault, "UnsupportedToken")
          .withArgs(await other.getAddress());
        await unchanged();
      });

      it("ActionPaused(2) while withdrawals are paused", async () => {
        const { f } = await prepared();
        await f.vault.connect(f.guardian).pause(PAUSE_WITHDRAW);
        const holders = [f.alice.address];
        const before = await snapshotLedger(f.vault, f.tokens, holders);
        await expect(f.vault.connect(f.alice).withdraw(f.aliceCross, f.weth, 1n, f.alice.address))
          .to.be.revertedWithCustomError(f.vault, "ActionPaused")
          .withArgs(PAUSE_WITHDRAW);
        await expectUnchanged(before, f.vault, f.tokens, holders);
      });
    });
  });

  describe("margin hook (ClearingHouse stand-in)", () => {
    async function withHook() {
      const f = await loadFixture(vaultFixture);
      const hook: MockMarginHook = await ethers.deployContract("MockMarginHook", [await f.vault.getAddress()]);
      await f.vault.setClearingHouse(hook);
      await fundAccount(f, f.weth, f.alice, f.aliceCross, units(2, 18)); // 2 × 3,000 × 0.9 = 5,400
      await fundAccount(f, f.usdc, f.alice, f.aliceCross, units(600, 6)); // + 600 = 6,000
      await hook.setPosition(f.aliceCross, true, units(5_000, 18)); // IM 5,000 → free 1,000
      return { f, hook };
    }

    it("withdraws up to free collateral exactly and reverts InsufficientFreeCollateral one unit beyond", async () => {
      const { f } = await withHook();
      expect(await f.vault.freeCollateral(f.aliceCross)).to.equal(units(1_000, 18));
      await f.vault.connect(f.alice).withdraw(f.aliceCross, f.usdc, units(600, 6), f.alice.address);
      // 400 left of free collateral; WETH counts 2,700 per coin after haircut
      await expect(f.vault.connect(f.alice).withdraw(f.aliceCross, f.weth, units(1, 18), f.alice.address))
        .to.be.revertedWithCustomError(f.vault, "InsufficientFreeCollateral")
        .withArgs(f.aliceCross, units(400, 18) - units(2_700, 18));
      // 400 / 2,700 WETH is the most that can go: 0.148148148148148148 WETH, worth 399.9999999999999996
      const most = (units(400, 18) * WAD) / units(2_700, 18);
      await f.vault.connect(f.alice).withdraw(f.aliceCross, f.weth, most, f.alice.address);
      expect(await f.vault.freeCollateral(f.aliceCross)).to.be.gte(0n);
      await expect(
        f.vault.connect(f.alice).withdraw(f.aliceCross, f.weth, 1n, f.alice.address),
      ).to.be.revertedWithCustomError(f.vault, "InsufficientFreeCollateral");
      await expectConservation(f.vault, f.tokens);
    });

    it("blocks a transfer to another account that would leave free collateral negative", async () => {
      const { f } = await withHook();
      const before = await snapshotLedger(f.vault, f.tokens);
      await expect(f.vault.connect(f.alice).transferCollateral(f.aliceCross, f.aliceIsolated, f.usdc, units(1_000, 6)))
        .to.be.revertedWithCustomError(f.vault, "InsufficientBalance")
        .withArgs(f.aliceCross, await f.usdc.getAddress(), units(600, 6), units(1_000, 6));
      await expect(f.vault.connect(f.alice).transferCollateral(f.aliceCross, f.aliceIsolated, f.weth, units(1, 18)))
        .to.be.revertedWithCustomError(f.vault, "InsufficientFreeCollateral")
        .withArgs(f.aliceCross, units(1_000, 18) - units(2_700, 18));
      await expectUnchanged(before, f.vault, f.tokens);
    });

    it("needs a trusted price when the account has positions: a stale feed blocks the withdrawal", async () => {
      const { f } = await withHook();
      await time.increase(HEARTBEAT + 1n);
      await expect(
        f.vault.connect(f.alice).withdraw(f.aliceCross, f.usdc, 1n, f.alice.address),
      ).to.be.revertedWithCustomError(f.ethOracle, "StalePrice");
      await f.ethFeed.updateAnswer(units(3_000, 8));
      await f.vault.connect(f.alice).withdraw(f.aliceCross, f.usdc, 1n, f.alice.address);
    });

    it("a zero or negative price blocks a withdrawal that needs it", async () => {
      const { f } = await withHook();
      await f.ethFeed.updateAnswer(0);
      await expect(f.vault.connect(f.alice).withdraw(f.aliceCross, f.usdc, 1n, f.alice.address))
        .to.be.revertedWithCustomError(f.ethOracle, "InvalidPrice")
        .withArgs(await f.ethFeed.getAddress(), 0);
      await f.ethFeed.updateAnswer(-1);
      await expect(f.vault.connect(f.alice).withdraw(f.aliceCross, f.usdc, 1n, f.alice.address))
        .to.be.revertedWithCustomError(f.ethOracle, "InvalidPrice")
        .withArgs(await f.ethFeed.getAddress(), -1);
    });

    it("once the positions are gone everything is withdrawable", async () => {
      const { f, hook } = await withHook();
      await hook.setPosition(f.aliceCross, false, 0n);
      await f.vault.connect(f.alice).withdraw(f.aliceCross, f.weth, units(2, 18), f.alice.address);
      await f.vault.connect(f.alice).withdraw(f.aliceCross, f.usdc, units(600, 6), f.alice.address);
      await expectConservation(f.vault, f.tokens);
    });
  });

  describe("transferCollateral", () => {
    it("moves each kind of token between two accounts of one owner and keeps conservation", async () => {
      const f = await loadFixture(vaultFixture);
      await fundAccount(f, f.usdc, f.alice, f.aliceCross, units(1_000, 6));
      await fundAccount(f, f.wbtc, f.alice, f.aliceCross, units(1, 8));
      await f.vault.connect(f.alice).transferCollateral(f.aliceCross, f.aliceIsolated, f.usdc, units(250, 6) + 1n);
      await f.vault.connect(f.alice).transferCollateral(f.aliceCross, f.aliceIsolated, f.wbtc, units(1, 8));
      expect(await f.vault.quoteBalance(f.aliceIsolated)).to.equal((units(250, 6) + 1n) * 10n ** 12n);
      expect(await f.vault.quoteBalance(f.aliceCross)).to.equal((units(750, 6) - 1n) * 10n ** 12n);
      expect(await f.vault.balanceOf(f.aliceIsolated, f.wbtc)).to.equal(units(1, 8));
      expect(await f.vault.balanceOf(f.aliceCross, f.wbtc)).to.equal(0n);
      // 1 WBTC at 60,000 − 15 % = 51,000, + 250.000001 USDC
      expect(await f.vault.collateralValue(f.aliceIsolated)).to.equal(units(51_250, 18) + 10n ** 12n);
      await expectConservation(f.vault, f.tokens);
    });

    describe("bad input changes nothing", () => {
      async function prepared() {
        const f = await loadFixture(vaultFixture);
        await fundAccount(f, f.weth, f.alice, f.aliceCross, units(1, 18));
        await fundAccount(f, f.usdc, f.alice, f.aliceCross, units(10, 6));
        const before = await snapshotLedger(f.vault, f.tokens);
        return { f, unchanged: () => expectUnchanged(before, f.vault, f.tokens) };
      }

      it("ZeroAmount, SameAccount, UnknownAccount (from and to)", async () => {
        const { f, unchanged } = await prepared();
        const v = f.vault.connect(f.alice);
        await expect(v.transferCollateral(f.aliceCross, f.aliceIsolated, f.weth, 0)).to.be.revertedWithCustomError(
          f.vault,
          "ZeroAmount",
        );
        await expect(v.transferCollateral(f.aliceCross, f.aliceCross, f.weth, 1n))
          .to.be.revertedWithCustomError(f.vault, "SameAccount")
          .withArgs(f.aliceCross);
        await expect(v.transferCollateral(42, f.aliceCross, f.weth, 1n))
          .to.be.revertedWithCustomError(f.vault, "UnknownAccount")
          .withArgs(42);
        await expect(v.transferCollateral(f.aliceCross, 42, f.weth, 1n))
          .to.be.revertedWithCustomError(f.vault, "UnknownAccount")
          .withArgs(42);
        await unchanged();
      });

      it("NotAccountOwnerOrOperator for a stranger and AccountOwnerMismatch across owners", async () => {
        const { f, unchanged } = await prepared();
        await expect(f.vault.connect(f.mallory).transferCollateral(f.aliceCross, f.aliceIsolated, f.weth, 1n))
          .to.be.revertedWithCustomError(f.vault, "NotAccountOwnerOrOperator")
          .withArgs(f.aliceCross, f.mallory.address);
        await expect(f.vault.connect(f.alice).transferCollateral(f.aliceCross, f.bobCross, f.weth, 1n))
          .to.be.revertedWithCustomError(f.vault, "AccountOwnerMismatch")
          .withArgs(f.aliceCross, f.bobCross);
        await unchanged();
      });

      it("InsufficientBalance beyond the balance; UnsupportedToken for an unlisted token", async () => {
        const { f, unchanged } = await prepared();
        const v = f.vault.connect(f.alice);
        await expect(v.transferCollateral(f.aliceCross, f.aliceIsolated, f.weth, units(1, 18) + 1n))
          .to.be.revertedWithCustomError(f.vault, "InsufficientBalance")
          .withArgs(f.aliceCross, await f.weth.getAddress(), units(1, 18), units(1, 18) + 1n);
        await expect(v.transferCollateral(f.aliceCross, f.aliceIsolated, f.usdc, units(10, 6) + 1n))
          .to.be.revertedWithCustomError(f.vault, "InsufficientBalance")
          .withArgs(f.aliceCross, await f.usdc.getAddress(), units(10, 6), units(10, 6) + 1n);
        const other = await ethers.deployContract("MockERC20", ["Other", "OTH", 18]);
        await expect(v.transferCollateral(f.aliceCross, f.aliceIsolated, other, 1n))
          .to.be.revertedWithCustomError(f.vault, "UnsupportedToken")
          .withArgs(await other.getAddress());
        await unchanged();
      });
    });
  });
});
