import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { deployLocal } from "../src/deploy/local";
import { units } from "./shared/fixtures";

const E = (n: number | bigint) => units(n, 18);

describe("MarginLens", () => {
  async function withAccounts() {
    const p = await deployLocal(hre);
    const [, a, b] = await ethers.getSigners();
    const ids: bigint[] = [];
    for (const [signer, usdc, size] of [
      [a, 10_000n, E(10)],
      [b, 5_000n, -E(5)],
      [a, 1_000n, 0n],
    ] as const) {
      await p.vault.connect(signer).createAccount(0);
      const id = await p.vault.accountCount();
      await p.usdc.mint(signer.address, units(usdc, 6));
      await p.usdc.connect(signer).approve(p.vault, ethers.MaxUint256);
      await p.vault.connect(signer).deposit(id, p.usdc, units(usdc, 6));
      if (size !== 0n) await p.clearingHouse.connect(signer).openPosition(id, 1, size, 0);
      ids.push(id);
    }
    return { p, ids, a, b };
  }

  it("health mirrors ClearingHouse.accountMargin in the DESIGN §12 field order (MM before IM)", async () => {
    const { p, ids } = await loadFixture(withAccounts);
    const h = await p.lens.health(ids[0]);
    const m = await p.clearingHouse.accountMargin(ids[0]);
    expect([h.equity, h.maintenanceMargin, h.initialMargin, h.freeCollateral, h.liquidatable]).to.deep.equal([
      m.equity,
      m.maintenanceMargin,
      m.initialMargin,
      m.freeCollateral,
      m.liquidatable,
    ]);
    // 10 ETH at 3,000: MM 2.5 % = 750, IM 5 % = 1,500
    expect(h.maintenanceMargin).to.equal(E(750));
    expect(h.initialMargin).to.equal(E(1_500));
  });

  it("healthMany returns each account in order; healthRange cuts at the last account", async () => {
    const { p, ids } = await loadFixture(withAccounts);
    const many = await p.lens.healthMany([ids[2], ids[0]]);
    expect(many[0].equity).to.equal(E(1_000));
    expect(many[1].equity).to.equal((await p.lens.health(ids[0])).equity);
    const range = await p.lens.healthRange(ids[0], 100);
    expect(range.length).to.equal(3);
    expect(range[1].maintenanceMargin).to.equal((await p.lens.health(ids[1])).maintenanceMargin);
    expect(await p.lens.healthRange(ids[2] + 1n, 5)).to.deep.equal([]);
    expect(await p.lens.healthRange(0, 5)).to.deep.equal([]);
  });

  it("reverts UnknownAccount for an id never created", async () => {
    const { p } = await loadFixture(withAccounts);
    await expect(p.lens.health(99)).to.be.revertedWithCustomError(p.vault, "UnknownAccount").withArgs(99);
    await expect(p.lens.healthMany([1, 99]))
      .to.be.revertedWithCustomError(p.vault, "UnknownAccount")
      .withArgs(99);
  });

  it("previewTrade predicts exactly what the trade then does (IM before MM)", async () => {
    const { p, ids, a } = await loadFixture(withAccounts);
    // account 3 is flat and STETH has no skew yet, so no funding moves between preview and trade
    const [fill, fee, equityAfter, imAfter, mmAfter, freeAfter] = await p.lens.previewTrade(ids[2], 3, -E(4));
    const tx = await p.clearingHouse.connect(a).openPosition(ids[2], 3, -E(4), 0);
    const receipt = await tx.wait();
    const event = p.clearingHouse.interface.parseLog(receipt!.logs.at(-1)!)!;
    expect(event.args.fillPrice).to.equal(fill);
    expect(event.args.fee).to.equal(fee);
    const h = await p.lens.health(ids[2]);
    expect([h.equity, h.initialMargin, h.maintenanceMargin, h.freeCollateral]).to.deep.equal([
      equityAfter,
      imAfter,
      mmAfter,
      freeAfter,
    ]);
    // 4 STETH at 2,990 = 11,960 notional: IM 598, MM 299
    expect(imAfter).to.equal(E(598));
    expect(mmAfter).to.equal(E(299));
  });

  it("previewTrade of a trade the account could not afford shows negative free collateral", async () => {
    const { p, ids } = await loadFixture(withAccounts);
    const [, , , , , freeAfter] = await p.lens.previewTrade(ids[2], 1, E(100));
    expect(freeAfter).to.be.lt(0n);
    await expect(p.lens.previewTrade(ids[2], 1, 0)).to.be.revertedWithCustomError(p.clearingHouse, "ZeroSize");
    await expect(p.lens.previewTrade(ids[2], 7, E(1))).to.be.revertedWithCustomError(p.clearingHouse, "UnknownMarket");
    await expect(p.lens.previewTrade(ids[2], 1, 1))
      .to.be.revertedWithCustomError(p.clearingHouse, "InvalidSizeStep")
      .withArgs(1);
  });

  it("a stale feed makes the lens revert for accounts that depend on it, not for others", async () => {
    const { p, ids } = await loadFixture(withAccounts);
    await time.increase(86_401);
    await expect(p.lens.health(ids[0])).to.be.revertedWithCustomError(p.ethOracle, "StalePrice");
    const flat = await p.lens.health(ids[2]);
    expect(flat.equity).to.equal(E(1_000));
  });

  it("answers healthRange for 300 accounts in one eth_call", async () => {
    const { p, a } = await loadFixture(withAccounts);
    for (let i = 0; i < 297; i++) await p.vault.connect(a).createAccount(0);
    const all = await p.lens.healthRange(1, 300);
    expect(all.length).to.equal(300);
    const gas = await p.lens.healthRange.estimateGas(1, 300);
    expect(gas).to.be.lt(30_000_000n);
  });
});
