import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { perAssets, type AssetsModule } from "./assets";

function build(assets: AssetsModule) {
  return buildModule("Core", (m) => {
    const deployer = m.getAccount(0);
    const guardian = m.getParameter("guardian", deployer);
    const { usdc } = m.useModule(assets);

    const vault = m.contract("Vault", [usdc, deployer, guardian]);
    const marketConfig = m.library("MarketConfig");
    const clearingHouse = m.contract("ClearingHouse", [vault, deployer, guardian], {
      libraries: { MarketConfig: marketConfig },
    });
    m.call(vault, "setClearingHouse", [clearingHouse]);
    const pool = m.contract("LiquidityPool", [vault, clearingHouse]);
    m.call(vault, "setLiquidityPool", [pool]);
    const lens = m.contract("MarginLens", [clearingHouse]);
    return { vault, clearingHouse, pool, lens, marketConfig };
  });
}

/**
 * The protocol's own contracts over a settlement token: the Vault, the ClearingHouse with its
 * MarketConfig library, the ERC-4626 LiquidityPool and the MarginLens, wired to each other. The
 * deployer owns them; `guardian` (default: the deployer) may pause. `assets` supplies the
 * settlement token (mocks on a local chain, the real token on a public one).
 */
export const coreModule: (assets: AssetsModule) => ReturnType<typeof build> = perAssets(build);
