import type { ContractFuture, IgnitionModule } from "@nomicfoundation/ignition-core";

/**
 * What the protocol needs from the outside world: the settlement token, the collateral tokens and
 * one Chainlink-compatible feed per asset. `Mocks` deploys them on a local chain;
 * `ExternalAssets` points at the real ones on a public network.
 */
export interface AssetsResults {
  usdc: ContractFuture<string>;
  weth: ContractFuture<string>;
  wbtc: ContractFuture<string>;
  usdcFeed: ContractFuture<string>;
  ethFeed: ContractFuture<string>;
  btcFeed: ContractFuture<string>;
  stethFeed: ContractFuture<string>;
  [key: string]: ContractFuture<string>;
}

export type AssetsModule = IgnitionModule<string, string, AssetsResults>;
