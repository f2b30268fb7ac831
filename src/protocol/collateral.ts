import type { Vault } from "../../typechain-types";
import { ChainlinkOracle__factory, MockERC20__factory } from "../../typechain-types";
import { collateralValueHaircut, collateralValueRaw, type CollateralHolding } from "../math/margin";

/** One token of one account, read from the chain and valued with the TypeScript mirror. */
export interface HoldingView extends CollateralHolding {
  token: string;
  symbol: string;
  /** WAD, no haircut. */
  value: bigint;
  /** WAD, after haircut. */
  haircutValue: bigint;
}

/** An account's collateral as the Vault sees it, valued off-chain to the wei. */
export interface AccountCollateral {
  accountId: bigint;
  owner: string;
  mode: number;
  /** Settlement-token balance, WAD. */
  quoteBalance: bigint;
  holdings: HoldingView[];
  /** Σ raw values + quoteBalance, WAD. */
  rawValue: bigint;
  /** Σ haircut values + quoteBalance, WAD (Vault.collateralValue). */
  collateralValue: bigint;
}

/** Reads an account's balances, token configs and oracle prices and values them with the mirror. */
export async function readAccountCollateral(vault: Vault, accountId: bigint): Promise<AccountCollateral> {
  const runner = vault.runner;
  const [owner, mode, quoteBalance, tokens] = await Promise.all([
    vault.ownerOf(accountId),
    vault.accountMode(accountId),
    vault.quoteBalance(accountId),
    vault.collateralTokens(),
  ]);
  const holdings: HoldingView[] = [];
  for (const token of tokens) {
    const balance = await vault.balanceOf(accountId, token);
    if (balance === 0n) continue;
    const config = await vault.collateralConfig(token);
    const [price, symbol] = await Promise.all([
      ChainlinkOracle__factory.connect(config.oracle, runner).price(),
      MockERC20__factory.connect(token, runner).symbol(),
    ]);
    const holding: CollateralHolding = {
      balance,
      decimals: Number(config.decimals),
      price,
      haircut: config.haircut,
    };
    holdings.push({
      ...holding,
      token,
      symbol,
      value: collateralValueRaw(holding),
      haircutValue: collateralValueHaircut(holding),
    });
  }
  const sum = (pick: (h: HoldingView) => bigint) => holdings.reduce((s, h) => s + pick(h), quoteBalance);
  return {
    accountId,
    owner,
    mode: Number(mode),
    quoteBalance,
    holdings,
    rawValue: sum((h) => h.value),
    collateralValue: sum((h) => h.haircutValue),
  };
}
