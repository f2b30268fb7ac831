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

/**
 * Makes a module factory return one module object per assets module: Ignition requires a module
 * id to name exactly one module, and Protocol reaches Core both directly and through Markets.
 */
export function perAssets<M>(build: (assets: AssetsModule) => M): (assets: AssetsModule) => M {
  const built = new Map<string, M>();
  return (assets) => {
    let module = built.get(assets.id);
    if (module === undefined) {
      module = build(assets);
      built.set(assets.id, module);
    }
    return module;
  };
}
