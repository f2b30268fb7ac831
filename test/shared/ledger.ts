import { expect } from "chai";
import type { MockERC20, Vault } from "../../typechain-types";

/** What the ledger helpers read from a token (every mock, including the weird ones, has it). */
export type LedgerToken = Pick<MockERC20, "symbol" | "getAddress" | "balanceOf" | "decimals">;

/**
 * Everything a Vault action can move: per-account balances and quote balances, the three
 * settlement ledgers, insurance token holdings, and the ERC-20 balances of the Vault and of
 * chosen holders. Two snapshots are equal iff nothing moved.
 */
export interface LedgerSnapshot {
  accounts: Record<string, { quote: bigint; balances: Record<string, bigint>; mode: bigint; owner: string }>;
  ledgers: { pool: bigint; insurance: bigint; fees: bigint; insuranceTokens: Record<string, bigint> };
  totals: Record<string, bigint>;
  erc20: Record<string, Record<string, bigint>>;
  accountCount: bigint;
}

async function symbolOf(token: LedgerToken): Promise<string> {
  return `${await token.symbol()}@${(await token.getAddress()).slice(0, 8)}`;
}

export async function snapshotLedger(
  vault: Vault,
  tokens: LedgerToken[],
  holders: string[] = [],
): Promise<LedgerSnapshot> {
  const accountCount = await vault.accountCount();
  const settlement = await vault.settlementToken();
  const vaultAddress = await vault.getAddress();
  const accounts: LedgerSnapshot["accounts"] = {};
  for (let id = 1n; id <= accountCount; id++) {
    const balances: Record<string, bigint> = {};
    for (const token of tokens) balances[await symbolOf(token)] = await vault.balanceOf(id, token);
    accounts[id.toString()] = {
      quote: await vault.quoteBalance(id),
      balances,
      mode: await vault.accountMode(id),
      owner: await vault.ownerOf(id),
    };
  }
  const insuranceTokens: Record<string, bigint> = {};
  const totals: Record<string, bigint> = {};
  const erc20: LedgerSnapshot["erc20"] = {};
  for (const token of tokens) {
    const name = await symbolOf(token);
    insuranceTokens[name] = await vault.insuranceTokenBalance(token);
    if ((await token.getAddress()) !== settlement) totals[name] = (await vault.collateralConfig(token)).totalDeposits;
    erc20[name] = {};
    for (const holder of [vaultAddress, ...holders]) erc20[name][holder] = await token.balanceOf(holder);
  }
  return {
    accounts,
    ledgers: {
      pool: await vault.poolBalance(),
      insurance: await vault.insuranceFund(),
      fees: await vault.feeBalance(),
      insuranceTokens,
    },
    totals,
    erc20,
    accountCount,
  };
}

/** Asserts that nothing the snapshot covers has moved. */
export async function expectUnchanged(
  before: LedgerSnapshot,
  vault: Vault,
  tokens: LedgerToken[],
  holders: string[] = [],
) {
  const after = await snapshotLedger(vault, tokens, holders);
  expect(after, "a rejected call changed the ledger").to.deep.equal(before);
}

/**
 * DESIGN §4 conservation, exact to the unit:
 *   other tokens: token.balanceOf(vault) == Σ account balances + insurance holdings (== totalDeposits + insurance)
 *   settlement:   balanceOf(vault) × 10^(18−d) == Σ quoteBalance + pool + insurance + fees
 */
export async function expectConservation(vault: Vault, tokens: LedgerToken[]): Promise<void> {
  const accountCount = await vault.accountCount();
  const settlement = await vault.settlementToken();
  const vaultAddress = await vault.getAddress();
  for (const token of tokens) {
    const address = await token.getAddress();
    const held = await token.balanceOf(vaultAddress);
    if (address === settlement) {
      let quotes = 0n;
      for (let id = 1n; id <= accountCount; id++) quotes += await vault.quoteBalance(id);
      const scale = 10n ** (18n - (await token.decimals()));
      const ledgers = (await vault.poolBalance()) + (await vault.insuranceFund()) + (await vault.feeBalance());
      expect(held * scale, "CONSERVATION: settlement token").to.equal(quotes + ledgers);
    } else {
      let sum = 0n;
      for (let id = 1n; id <= accountCount; id++) sum += await vault.balanceOf(id, address);
      const insurance = await vault.insuranceTokenBalance(address);
      expect(held, `CONSERVATION: ${await token.symbol()}`).to.equal(sum + insurance);
      expect((await vault.collateralConfig(address)).totalDeposits, `TOTALS: ${await token.symbol()}`).to.equal(sum);
    }
  }
}
