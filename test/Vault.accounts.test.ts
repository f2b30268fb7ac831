import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { MODE_CROSS, MODE_ISOLATED, fundAccount, units, vaultFixture } from "./shared/fixtures";
import { expectUnchanged, snapshotLedger } from "./shared/ledger";

describe("Vault: accounts", () => {
  describe("createAccount", () => {
    it("numbers accounts from 1, records owner and mode, and emits AccountCreated", async () => {
      const f = await loadFixture(vaultFixture);
      expect(await f.vault.ownerOf(1)).to.equal(f.alice.address);
      expect(await f.vault.accountMode(1)).to.equal(MODE_CROSS);
      expect(await f.vault.accountMode(2)).to.equal(MODE_ISOLATED);
      expect(await f.vault.ownerOf(3)).to.equal(f.bob.address);
      await expect(f.vault.connect(f.mallory).createAccount(MODE_ISOLATED))
        .to.emit(f.vault, "AccountCreated")
        .withArgs(4, f.mallory.address, MODE_ISOLATED);
      expect(await f.vault.accountCount()).to.equal(4);
    });

    it("reverts InvalidMarginMode for mode 2 and creates nothing", async () => {
      const f = await loadFixture(vaultFixture);
      await expect(f.vault.connect(f.alice).createAccount(2))
        .to.be.revertedWithCustomError(f.vault, "InvalidMarginMode")
        .withArgs(2);
      expect(await f.vault.accountCount()).to.equal(3);
    });

    it("reverts UnknownAccount when reading an id never created (0 and count + 1)", async () => {
      const f = await loadFixture(vaultFixture);
      for (const id of [0n, 4n]) {
        await expect(f.vault.ownerOf(id)).to.be.revertedWithCustomError(f.vault, "UnknownAccount").withArgs(id);
        await expect(f.vault.accountMode(id)).to.be.revertedWithCustomError(f.vault, "UnknownAccount").withArgs(id);
      }
    });
  });

  describe("setOperator", () => {
    it("lets the owner approve and revoke an operator, with OperatorSet events", async () => {
      const f = await loadFixture(vaultFixture);
      await expect(f.vault.connect(f.alice).setOperator(f.aliceCross, f.bob.address, true))
        .to.emit(f.vault, "OperatorSet")
        .withArgs(f.aliceCross, f.bob.address, true);
      expect(await f.vault.isOperator(f.aliceCross, f.bob.address)).to.equal(true);
      expect(await f.vault.isAuthorized(f.aliceCross, f.bob.address)).to.equal(true);
      expect(await f.vault.isAuthorized(f.aliceCross, f.alice.address)).to.equal(true);
      expect(await f.vault.isAuthorized(f.aliceCross, f.mallory.address)).to.equal(false);
      await f.vault.connect(f.alice).setOperator(f.aliceCross, f.bob.address, false);
      expect(await f.vault.isOperator(f.aliceCross, f.bob.address)).to.equal(false);
    });

    it("reverts NotAccountOwner for anyone else, including an operator", async () => {
      const f = await loadFixture(vaultFixture);
      await f.vault.connect(f.alice).setOperator(f.aliceCross, f.bob.address, true);
      await expect(f.vault.connect(f.bob).setOperator(f.aliceCross, f.mallory.address, true))
        .to.be.revertedWithCustomError(f.vault, "NotAccountOwner")
        .withArgs(f.aliceCross, f.bob.address);
      expect(await f.vault.isOperator(f.aliceCross, f.mallory.address)).to.equal(false);
    });

    it("reverts UnknownAccount for an unknown id and ZeroAddress for a zero operator", async () => {
      const f = await loadFixture(vaultFixture);
      await expect(f.vault.connect(f.alice).setOperator(99, f.bob.address, true))
        .to.be.revertedWithCustomError(f.vault, "UnknownAccount")
        .withArgs(99);
      await expect(
        f.vault.connect(f.alice).setOperator(f.aliceCross, "0x0000000000000000000000000000000000000000", true),
      ).to.be.revertedWithCustomError(f.vault, "ZeroAddress");
    });
  });

  describe("operator powers", () => {
    it("an operator moves collateral between the owner's accounts but cannot withdraw", async () => {
      const f = await loadFixture(vaultFixture);
      await fundAccount(f, f.weth, f.alice, f.aliceCross, units(2, 18));
      await f.vault.connect(f.alice).setOperator(f.aliceCross, f.bob.address, true);
      await expect(f.vault.connect(f.bob).transferCollateral(f.aliceCross, f.aliceIsolated, f.weth, units(1, 18)))
        .to.emit(f.vault, "CollateralTransferred")
        .withArgs(f.aliceCross, f.aliceIsolated, await f.weth.getAddress(), units(1, 18));
      expect(await f.vault.balanceOf(f.aliceIsolated, f.weth)).to.equal(units(1, 18));

      const before = await snapshotLedger(f.vault, f.tokens, [f.bob.address]);
      await expect(f.vault.connect(f.bob).withdraw(f.aliceCross, f.weth, 1n, f.bob.address))
        .to.be.revertedWithCustomError(f.vault, "NotAccountOwner")
        .withArgs(f.aliceCross, f.bob.address);
      await expectUnchanged(before, f.vault, f.tokens, [f.bob.address]);
    });

    it("an operator of alice's account cannot move her collateral into its own account (AccountOwnerMismatch)", async () => {
      const f = await loadFixture(vaultFixture);
      await fundAccount(f, f.weth, f.alice, f.aliceCross, units(2, 18));
      await f.vault.connect(f.alice).setOperator(f.aliceCross, f.bob.address, true);
      const before = await snapshotLedger(f.vault, f.tokens);
      await expect(f.vault.connect(f.bob).transferCollateral(f.aliceCross, f.bobCross, f.weth, units(1, 18)))
        .to.be.revertedWithCustomError(f.vault, "AccountOwnerMismatch")
        .withArgs(f.aliceCross, f.bobCross);
      await expectUnchanged(before, f.vault, f.tokens);
    });

    it("an operator of one of alice's accounts has no power over her other accounts", async () => {
      const f = await loadFixture(vaultFixture);
      await fundAccount(f, f.weth, f.alice, f.aliceIsolated, units(2, 18));
      await f.vault.connect(f.alice).setOperator(f.aliceCross, f.bob.address, true);
      const before = await snapshotLedger(f.vault, f.tokens);
      await expect(f.vault.connect(f.bob).transferCollateral(f.aliceIsolated, f.aliceCross, f.weth, 1n))
        .to.be.revertedWithCustomError(f.vault, "NotAccountOwnerOrOperator")
        .withArgs(f.aliceIsolated, f.bob.address);
      await expectUnchanged(before, f.vault, f.tokens);
    });
  });
});
