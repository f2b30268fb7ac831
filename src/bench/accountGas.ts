import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { TransactionReceipt, TransactionResponse } from "ethers";
import { deployLocal } from "../deploy/local";

const WAD = 10n ** 18n;
const USDC = 10n ** 6n;

/** Exact gas of the account, collateral, pool and lens paths on the local deployment. */
export interface AccountGas {
  /** createAccount, not the protocol's first account. */
  createAccount: bigint;
  /** deposit of an account's first token (USDC: its quote balance goes from 0). */
  depositFirstToken: bigint;
  /** deposit of a second token (WETH) into an account holding USDC. */
  depositNextToken: bigint;
  /** withdraw of USDC from an account without positions (holding USDC and WETH). */
  withdrawNoPositions: bigint;
  /** LiquidityPool.deposit by a second liquidity provider. */
  poolDeposit: bigint;
  /** LiquidityPool.redeem of half of that provider's shares. */
  poolRedeem: bigint;
  /** Execution gas of MarginLens.health for an account with 1 and with 3 positions (eth_call). */
  lensHealth: { positions: number; gas: bigint }[];
  /** Execution gas of MarginLens.healthRange over 100 accounts (80 flat, 20 with 1–4 positions). */
  lensHealthRange100: bigint;
}

async function receipt(tx: Promise<TransactionResponse>): Promise<TransactionReceipt> {
  const r = await (await tx).wait();
  if (!r) throw new Error("transaction was not mined");
  return r;
}

/** Intrinsic gas of a call: 21,000 + 16 per non-zero and 4 per zero calldata byte (EIP-2028). */
export function intrinsicGas(data: string): bigint {
  let gas = 21_000n;
  for (let i = 2; i < data.length; i += 2) gas += data.slice(i, i + 2) === "00" ? 4n : 16n;
  return gas;
}

/**
 * Deploys the local protocol and measures each path once, in steady state where it matters (not
 * the first account, not the first liquidity provider). View gas is measured as the gas a
 * transaction calling the view uses, minus its intrinsic gas: exactly what the eth_call executes.
 * Deterministic: same code, same numbers.
 */
export async function measureAccountGas(hre: HardhatRuntimeEnvironment): Promise<AccountGas> {
  const { ethers } = hre;
  const p = await deployLocal(hre);
  const [, alice, bob] = await ethers.getSigners();
  for (const who of [alice, bob]) {
    await receipt(p.usdc.mint(who.address, 10_000_000n * USDC));
    await receipt(p.weth.mint(who.address, 1_000n * WAD));
    await receipt(p.usdc.connect(who).approve(p.vault, ethers.MaxUint256));
    await receipt(p.weth.connect(who).approve(p.vault, ethers.MaxUint256));
    await receipt(p.usdc.connect(who).approve(p.pool, ethers.MaxUint256));
  }
  await receipt(p.vault.connect(bob).createAccount(0)); // the protocol's first account is not the steady state

  const created = await receipt(p.vault.connect(alice).createAccount(0));
  const id = await p.vault.accountCount();
  const depositFirstToken = (await receipt(p.vault.connect(alice).deposit(id, p.usdc, 10_000n * USDC))).gasUsed;
  const depositNextToken = (await receipt(p.vault.connect(alice).deposit(id, p.weth, 2n * WAD))).gasUsed;
  const withdrawNoPositions = (await receipt(p.vault.connect(alice).withdraw(id, p.usdc, 1_000n * USDC, alice.address)))
    .gasUsed;

  const poolDeposit = (await receipt(p.pool.connect(alice).deposit(50_000n * USDC, alice.address))).gasUsed;
  const shares = await p.pool.balanceOf(alice.address);
  const poolRedeem = (await receipt(p.pool.connect(alice).redeem(shares / 2n, alice.address, alice.address))).gasUsed;

  // 100 accounts from here: 80 holding USDC only, 20 with 1–4 positions
  const first = (await p.vault.accountCount()) + 1n;
  const ch = p.clearingHouse.connect(bob);
  for (let i = 0; i < 100; i++) {
    await receipt(p.vault.connect(bob).createAccount(0));
    const account = await p.vault.accountCount();
    await receipt(p.vault.connect(bob).deposit(account, p.usdc, 20_000n * USDC));
    if (i % 5 === 4) {
      const positions = (i / 5) % 4;
      await receipt(ch.openPosition(account, 2, WAD / 100n, 0)); // 0.01 BTC
      if (positions >= 1) await receipt(ch.openPosition(account, 1, WAD / 10n, 0)); // 0.1 ETH
      if (positions >= 2) await receipt(ch.openPosition(account, 3, -WAD / 10n, 0)); // −0.1 STETH
      if (positions >= 3) await receipt(ch.openPosition(account, 2, WAD / 100n, 0)); // more BTC (same market)
    }
  }
  const viewGas = async (data: string) => {
    const r = await receipt(alice.sendTransaction({ to: await p.lens.getAddress(), data }));
    return r.gasUsed - intrinsicGas(data);
  };
  const withPositions = async (count: number) => {
    await receipt(p.vault.connect(alice).createAccount(0));
    const account = await p.vault.accountCount();
    await receipt(p.vault.connect(alice).deposit(account, p.usdc, 50_000n * USDC));
    for (const market of [1, 2, 3].slice(0, Math.min(count, 3))) {
      await receipt(p.clearingHouse.connect(alice).openPosition(account, market, WAD / 100n, 0));
    }
    return account;
  };
  const lensHealth: AccountGas["lensHealth"] = [];
  for (const count of [1, 3]) {
    const account = await withPositions(count);
    lensHealth.push({ positions: count, gas: await viewGas(p.lens.interface.encodeFunctionData("health", [account])) });
  }
  const lensHealthRange100 = await viewGas(p.lens.interface.encodeFunctionData("healthRange", [first, 100]));
  return {
    createAccount: created.gasUsed,
    depositFirstToken,
    depositNextToken,
    withdrawNoPositions,
    poolDeposit,
    poolRedeem,
    lensHealth,
    lensHealthRange100,
  };
}
