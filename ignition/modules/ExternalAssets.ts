import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/**
 * Public networks: the tokens and Chainlink feeds already deployed there, by address. Every
 * parameter is required (no default): a parameter file that leaves one out fails the preflight
 * (`npx hardhat deploy`) with the parameter's name before anything is sent.
 */
export default buildModule("ExternalAssets", (m) => {
  const token = (id: string) =>
    m.contractAt(
      "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol:IERC20Metadata",
      m.getParameter<string>(id),
      {
        id: id.toUpperCase(),
      },
    );
  const feed = (id: string) => m.contractAt("AggregatorV3Interface", m.getParameter<string>(id), { id });
  return {
    usdc: token("usdc"),
    weth: token("weth"),
    wbtc: token("wbtc"),
    usdcFeed: feed("usdcFeed"),
    ethFeed: feed("ethFeed"),
    btcFeed: feed("btcFeed"),
    stethFeed: feed("stethFeed"),
  };
});
